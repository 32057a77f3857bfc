import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { ROOT } from '../helpers/examples.js';

interface DocRow {
  code: string;
  status: number;
  meaning: string;
  example: string;
}

/** The rows of the code table: every table line whose first cell is a code in backticks. */
function documentedCodes(markdown: string): DocRow[] {
  return markdown
    .split('\n')
    .filter((line) => /^\|\s*`[^`]+`\s*\|/.test(line))
    .map((line) => {
      const cells = line
        .slice(1, line.trimEnd().endsWith('|') ? line.trimEnd().length - 1 : undefined)
        .split('|')
        .map((cell) => cell.trim());
      const [code = '', status = '', meaning = '', ...example] = cells;
      return {
        code: code.replaceAll('`', ''),
        status: Number(status),
        meaning,
        example: example.join('|').trim(),
      };
    });
}

const rows = documentedCodes(readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8'));

describe('docs/errors.md', () => {
  it('documents every code of ERROR_CODES once, and no other code', () => {
    const codes = rows.map((row) => row.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('gives each code the HTTP status and meaning of the catalogue', () => {
    const catalogue = Object.entries(ERROR_CODES).map(([code, entry]) => ({
      code,
      status: entry.status,
      meaning: entry.meaning,
    }));
    const documented = rows.map(({ code, status, meaning }) => ({ code, status, meaning }));
    expect(documented.sort((a, b) => a.code.localeCompare(b.code))).toEqual(
      catalogue.sort((a, b) => a.code.localeCompare(b.code)),
    );
  });

  it('gives each code an example message', () => {
    for (const row of rows) expect(row.example, row.code).toMatch(/^`.+`$/);
  });
});

describe('documentedCodes', () => {
  it('reads code, status, meaning and example from a table row and ignores other lines', () => {
    const markdown = [
      '| code | HTTP status | meaning | example message |',
      '|---|---|---|---|',
      '| `not_found` | 404 | No such thing. | `no request x` |',
      'A line that mentions `bad_request` | 400 in prose.',
    ].join('\n');
    expect(documentedCodes(markdown)).toEqual([
      { code: 'not_found', status: 404, meaning: 'No such thing.', example: '`no request x`' },
    ]);
  });
});
