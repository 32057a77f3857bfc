/**
 * Issue acceptance: a canary token sent as `awx_token` appears nowhere — not in the process log,
 * the log files, any API answer or error, nor the database files — while AWX does receive it.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AwxFake } from '../fakes/awx-fake.js';
import { awxPayload } from '../integrations/support.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';
import { waitFor } from '../helpers/test-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'o3-canary-'));
const processes: O3Process[] = [];
const fakes: AwxFake[] = [];

afterAll(async () => {
  for (const o3 of processes) o3.child.kill('SIGKILL');
  for (const fake of fakes) await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a canary awx_token', () => {
  it('reaches AWX and nothing else: process log, log files, answers, errors, database files', async () => {
    const canary = `CANARY-${Date.now().toString(36)}-awx-token`;
    const good = await AwxFake.start({ tokens: [canary], runMs: 100 });
    const refusing = await AwxFake.start({ tokens: ['another-token-entirely'] });
    fakes.push(good, refusing);
    const database = path.join(dir, 'o3.db');
    const logDir = path.join(dir, 'logs');
    const o3 = await startO3(['--store', `sqlite:${database}`], {
      O3_LOG_DIR: logDir,
      O3_LOG_LEVEL: 'debug',
      O3_SECRET_KEY_FILE: path.join(dir, 'secret.key'),
    });
    processes.push(o3);

    const answers: string[] = [];
    const ask = async (method: string, url: string, body?: unknown) => {
      const answer = await call(o3, method, url, body);
      answers.push(JSON.stringify(answer.body));
      return answer.body;
    };
    answers.push(
      JSON.stringify(await ask('POST', '/api/v1/workflow/validate', awxPayload(good.url, canary))),
    );
    const ok = await ask('POST', '/api/v1/workflow/submit', awxPayload(good.url, canary));
    const refused = await ask('POST', '/api/v1/workflow/submit', awxPayload(refusing.url, canary));
    const ended = (uuid: string) =>
      waitFor(async () => {
        const detail = await ask('GET', `/api/v1/workflow/${uuid}`);
        return ['successful', 'failed'].includes(detail.status) ? detail : undefined;
      }, 20_000);
    expect((await ended(ok.uuid)).status).toBe('successful');
    const failed = await ended(refused.uuid);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('401');
    for (const uuid of [ok.uuid, refused.uuid]) {
      await ask('GET', `/api/v1/workflow/${uuid}/logs?limit=1000`);
      await ask('GET', `/api/v1/workflow/${uuid}/revisions/1`);
    }
    await ask('GET', '/api/v1/workflow');
    expect(good.http.seen('launch')[0]!.headers.authorization).toBe(`Bearer ${canary}`);

    o3.child.kill('SIGTERM');
    expect(await o3.exited).toBe(0);
    const texts: [string, string][] = [
      ['process log', o3.output.join('\n')],
      ...answers.map((text, i) => [`answer ${i}`, text] as [string, string]),
      ...readdirSync(logDir).map(
        (name) => [`log file ${name}`, readFileSync(path.join(logDir, name), 'utf8')] as [string, string],
      ),
    ];
    expect(o3.output.join('\n')).toContain('O3 is listening');
    for (const [where, text] of texts) expect(text.includes(canary), where).toBe(false);
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(database + suffix))
        expect(readFileSync(database + suffix).includes(canary), `o3.db${suffix}`).toBe(false);
    }
  }, 60_000);
});
