import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/examples.js';
import { startTestServer, waitFor, waitForEnd } from '../helpers/test-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'o3-logdir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('O3_LOG_DIR', () => {
  it('writes each request log and each task log to files named by their UUIDs, secrets masked', async () => {
    const fixtures = path.join(ROOT, 'test/fixtures');
    const server = await startTestServer({
      env: { O3_LOG_DIR: dir },
      taskDirs: [path.join(fixtures, 'tasks')],
      templateDirs: [path.join(fixtures, 'templates')],
    });
    const secret = 'file-canary-31f9a7';
    const payload = {
      workflow: {
        meta: { ref: 'log-files', template: 'single' },
        vars: { workflow: { input: { secret_token: secret } } },
      },
    };
    const { uuid } = (
      await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload })
    ).json();
    const detail = await waitForEnd(server, uuid);
    await server.close();
    const requestFile = path.join(dir, `${uuid}.log`);
    const taskFile = path.join(dir, `${detail.tasks[0].uuid}.log`);
    await waitFor(() =>
      existsSync(taskFile) && readFileSync(requestFile, 'utf8').includes('request ended') ? true : undefined,
    );
    const requestLog = readFileSync(requestFile, 'utf8');
    const taskLog = readFileSync(taskFile, 'utf8');
    expect(requestLog).toMatch(/^\d{4}-\d\d-\d\dT.* INFO engine request submitted/m);
    expect(requestLog).toContain('INFO only using token ***');
    expect(taskLog).toContain('using token ***');
    expect(taskLog).not.toContain('request submitted');
    expect(requestLog + taskLog).not.toContain(secret);
  });
});
