import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox, loadSecretKey } from '../../src/engine/secret-box.js';
import { calls } from '../fixtures/tasks/scripted.js';
import { ROOT } from '../helpers/examples.js';
import { startTestServer, waitForEnd } from '../helpers/test-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'o3-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SecretBox', () => {
  it('seals and opens strings, and refuses a text sealed with another key', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('hunter2-token');
    expect(JSON.stringify(sealed)).not.toContain('hunter2');
    expect(box.open(sealed)).toBe('hunter2-token');
    expect(() => new SecretBox(randomBytes(32)).open(sealed)).toThrow(/cannot be decrypted/);
  });

  it('seals only the strings that hold a secret, deep inside a value, and opens them again', () => {
    const box = new SecretBox(randomBytes(32));
    const value = { a: 'plain', b: ['Bearer s3cr3t-value', 3], c: { d: 's3cr3t-value' } };
    const sealed = box.sealDeep(value, (text) => text.includes('s3cr3t-value'));
    expect(JSON.stringify(sealed)).not.toContain('s3cr3t');
    expect(sealed.a).toBe('plain');
    expect(box.openDeep(sealed)).toEqual(value);
  });

  it('creates a key file once and reads the same key afterwards; a bad O3_SECRET_KEY is refused', () => {
    const file = path.join(dir, 'keys', 'secret.key');
    const first = loadSecretKey(undefined, file);
    expect(existsSync(file)).toBe(true);
    expect(loadSecretKey(undefined, file).equals(first)).toBe(true);
    expect(() => loadSecretKey('c2hvcnQ=', file)).toThrow(/O3_SECRET_KEY/);
  });
});

describe('secrets at rest', () => {
  it('a secret input appears nowhere in the database files or answers, and a retry hands the task the real value', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    const file = path.join(dir, 'o3.db');
    const fixtures = path.join(ROOT, 'test/fixtures');
    const server = await startTestServer({
      store: `sqlite:${file}`,
      taskDirs: [path.join(fixtures, 'tasks')],
      templateDirs: [path.join(fixtures, 'templates')],
    });
    const payload = {
      workflow: {
        meta: { ref: 'secret-run', template: 'single' },
        vars: { workflow: { input: { secret_token: canary, outcome: 'failed' } } },
      },
    };
    const { uuid } = (
      await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload })
    ).json();
    await waitForEnd(server, uuid);
    await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/retry` });
    const detail = await waitForEnd(server, uuid);
    expect(detail.revision).toBe(2);
    const rerun = detail.tasks[0];
    expect(rerun.state).toBe('failed');
    expect(rerun.inputs.secret_token).toBe('***');
    expect(calls.get(rerun.uuid)).toContain(`token:${canary}`);
    expect(JSON.stringify(detail)).not.toContain(canary);
    await server.close();
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(file + suffix)) expect(readFileSync(file + suffix).includes(canary)).toBe(false);
    }
  });
});
