import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/examples.js';

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('opens with the two commands, npm start and npm test', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(firstBlock).toMatch(/^npm start\b/m);
    expect(firstBlock).toMatch(/^npm test\b/m);
  });

  it('shows the custom task example exactly as the file the tests load', () => {
    const section = readme.slice(readme.indexOf('## Writing a task'));
    const shown = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const file = readFileSync(path.join(ROOT, 'examples/tasks/http_check.ts'), 'utf8');
    expect(shown).toBeDefined();
    expect(file.slice(file.indexOf("import { Task } from 'o3';"))).toBe(shown);
  });
});
