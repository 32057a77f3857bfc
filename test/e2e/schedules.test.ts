import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { example } from '../helpers/examples.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';
import { waitFor } from '../helpers/test-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'o3-schedules-'));
const store = `sqlite:${path.join(dir, 'o3.db')}`;
const running: O3Process[] = [];

afterAll(() => {
  for (const o3 of running) o3.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function scheduledNoop(ref: string, startMs: number) {
  const payload = example('noop_request.json');
  payload.workflow.meta.ref = ref;
  payload.workflow.vars.workflow.input.delay = 0;
  payload.tasks.noop_01.vars.input.delay = 0;
  payload.tasks.noop_02.vars.input.delay = 0;
  payload.workflow.schedule = { when: 'at', start: new Date(startMs).toISOString() };
  return payload;
}

describe('schedules across a restart', () => {
  it('starts a schedule missed while O3 was down once it is back, and one due later at its time, each once', async () => {
    const first = await startO3(['--store', store]);
    running.push(first);
    const t0 = Date.now();
    const missed = await call(first, 'POST', '/api/v1/workflow/submit', scheduledNoop('missed', t0 + 2500));
    const later = await call(first, 'POST', '/api/v1/workflow/submit', scheduledNoop('later', t0 + 7000));
    expect(missed.status).toBe(201);
    expect(missed.body.status).toBe('scheduled');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    // Down while `missed` falls due; back before `later` does.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + 3500 - Date.now())));
    const second = await startO3(['--store', store]);
    running.push(second);
    const ended = async (uuid: string) =>
      waitFor(
        async () => {
          const d = (await call(second, 'GET', `/api/v1/workflow/${uuid}`)).body;
          return d.status === 'successful' ? d : undefined;
        },
        15_000,
        `request ${uuid}`,
      );
    const missedDetail = await ended(missed.body.uuid);
    expect(Date.now() - t0).toBeLessThan(7000);
    const laterDetail = await ended(later.body.uuid);
    const laterStart = Math.min(
      ...laterDetail.tasks.map((t: { started_at: string }) => Date.parse(t.started_at)),
    );
    expect(laterStart).toBeGreaterThanOrEqual(t0 + 7000);
    for (const detail of [missedDetail, laterDetail]) {
      const logs = (await call(second, 'GET', `/api/v1/workflow/${detail.uuid}/logs?limit=1000`)).body.lines;
      const starts = logs.filter((l: { message: string }) => l.message.startsWith('schedule due'));
      expect(starts).toHaveLength(1);
      expect(logs.filter((l: { message: string }) => l.message.startsWith('runtime_delay is'))).toHaveLength(
        3,
      );
    }
  }, 40_000);

  it('refuses a start that is not a date with an offset, with the pointer to it', async () => {
    const o3 = running.at(-1)!;
    const payload = scheduledNoop('bad-date', Date.now());
    payload.workflow.schedule.start = '2026-13-45 25:00';
    const answer = await call(o3, 'POST', '/api/v1/workflow/submit', payload);
    expect(answer.status).toBe(422);
    expect(answer.body.error.details.map((d: { path: string }) => d.path)).toContain(
      '/workflow/schedule/start',
    );
  });
});
