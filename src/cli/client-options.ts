/** The options every client command shares (`--server`, `--json`) and the client they make. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ApiClient } from './api-client.js';
import type { ExitCode } from './cli-error.js';

/** Where the CLI looks for a server when neither `--server` nor O3_SERVER says. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** The shared options as commander parses them. */
export interface ClientOptions {
  server: string;
  json?: boolean;
}

/** Adds `--server` (O3_SERVER) and, unless `json` is false, `--json` to a command. */
export function clientCommand(command: Command, { json = true } = {}): Command {
  command.addOption(
    new Option('--server <url>', 'the O3 server to talk to').env('O3_SERVER').default(DEFAULT_SERVER),
  );
  if (json) command.option('--json', 'print the raw JSON answer of the API');
  return command;
}

/** The API client for the parsed options. */
export function clientOf(options: ClientOptions): ApiClient {
  return new ApiClient(options.server);
}

/** Wraps a command body so its result becomes the process's exit code. */
export function exitWith<A extends unknown[]>(body: (...args: A) => Promise<ExitCode>) {
  return async (...args: A): Promise<void> => {
    process.exitCode = await body(...args);
  };
}

/** Parses a whole number of at least 1 (for `--limit`, `--version`). */
export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError('expected a whole number from 1');
  return parsed;
}
