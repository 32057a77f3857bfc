/** How a client command fails: a message for a person, its details, and the exit code. */
import type { ErrorDetail } from '../errors.js';

/**
 * Exit codes of the client commands. `failed` means the command worked but the answer is a
 * failure (a request ended failed or canceled, a file is invalid, the server refused the action);
 * `usage` means the invocation itself must change (bad arguments, unreadable file, invalid
 * payload, server unreachable).
 */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI prints as `o3: message` plus one `  path: message` line per detail. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly details: ErrorDetail[];

  constructor(message: string, exitCode: ExitCode, details: ErrorDetail[] = []) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** The text printed on stderr for a CliError. */
export function formatCliError(error: CliError): string {
  const lines = [`o3: ${error.message}`];
  for (const detail of error.details) lines.push(`  ${detail.path || '/'}: ${detail.message}`);
  return `${lines.join('\n')}\n`;
}
