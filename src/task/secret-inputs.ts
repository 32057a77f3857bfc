/**
 * How secrets are named and shown (§9), in a module that imports nothing: the engine, the API, the
 * CLI and the web UI's bundle all read it.
 */

/** What a secret value is replaced with, wherever it would show. */
export const MASK = '***';

/** Input names that are secret whatever class uses them. */
export const WELL_KNOWN_SECRET_INPUTS: ReadonlySet<string> = new Set(['awx_token', 'tfe_bearer_token']);
