/** Reads the JSON or YAML document a command was given (a file, or `-` for stdin). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../errors.js';
import { CliError, ExitCode } from './cli-error.js';

/** The parsed document; an unreadable or unparsable file is a usage error that names it. */
export async function readDocument(file: string): Promise<unknown> {
  const label = file === '-' ? 'stdin' : file;
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${label}: ${errorMessage(error)}`, ExitCode.usage);
  }
  if (text.trim() === '') throw new CliError(`${label} is empty`, ExitCode.usage);
  return parseDocument(text, label, path.extname(file).toLowerCase());
}

function parseDocument(text: string, label: string, extension: string): unknown {
  // JSON first: a .json file gets JSON's own error message, which names the position.
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    if (extension === '.json') {
      throw new CliError(`${label} is not valid JSON: ${errorMessage(error)}`, ExitCode.usage);
    }
  }
  try {
    return parseYaml(text) as unknown;
  } catch (error) {
    throw new CliError(`${label} is neither JSON nor valid YAML: ${errorMessage(error)}`, ExitCode.usage);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
