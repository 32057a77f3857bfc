/** The article's example files, read fresh for each test so a test can change its copy. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A parsed copy of `examples/NAME`. */
export function example(name: string): any {
  return JSON.parse(readFileSync(path.join(ROOT, 'examples', name), 'utf8'));
}
