import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { example } from '../helpers/examples.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';
import { waitFor, taskOf } from '../helpers/test-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'o3-crash-'));
const store = `sqlite:${path.join(dir, 'o3.db')}`;
const running: O3Process[] = [];

afterAll(() => {
  for (const o3 of running) o3.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function detail(o3: O3Process, uuid: string) {
  return (await call(o3, 'GET', `/api/v1/workflow/${uuid}`)).body;
}

describe('o3 serve killed with kill -9 while a task runs', () => {
  it('resumes on restart without running the task again, and the request ends successful', async () => {
    const first = await startO3(['--store', store]);
    running.push(first);
    const payload = example('noop_request.json');
    payload.tasks.noop_01.vars.input.delay = 3;
    payload.tasks.noop_02.vars.input.delay = 1;
    payload.tasks.noop_03.vars.input.delay = 0.5;
    const submitted = await call(first, 'POST', '/api/v1/workflow/submit/', payload);
    expect(submitted.status).toBe(201);
    const uuid: string = submitted.body.uuid;

    // Kill it once noop_02 has ended and noop_01 is still running.
    const before = await waitFor(async () => {
      const d = await detail(first, uuid);
      return taskOf(d, 'noop_02').state === 'successful' && taskOf(d, 'noop_01').state === 'running'
        ? d
        : undefined;
    });
    const logsBefore = (await call(first, 'GET', `/api/v1/workflow/${uuid}/logs`)).body.lines;
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = await startO3(['--store', store]);
    running.push(second);
    const after = await waitFor(
      async () => {
        const d = await detail(second, uuid);
        return d.status === 'successful' || d.status === 'failed' ? d : undefined;
      },
      20_000,
      'the resumed request to end',
    );
    expect(after.status).toBe('successful');
    for (const ref of ['noop_01', 'noop_02', 'noop_03']) expect(taskOf(after, ref).state).toBe('successful');

    // noop_01 was resumed by ping, not run again: same start time, one run, same attempt.
    const t1Before = taskOf(before, 'noop_01');
    const t1After = taskOf(after, 'noop_01');
    expect(t1After.started_at).toBe(t1Before.started_at);
    expect(t1After.attempt).toBe(1);
    expect(taskOf(after, 'noop_02').outputs.rand_no).toBe(taskOf(before, 'noop_02').outputs.rand_no);
    // It finished on time: about 3 s after it started, not 3 s after the restart.
    expect(Date.parse(t1After.ended_at) - Date.parse(t1After.started_at)).toBeGreaterThanOrEqual(3000);

    const logs = (await call(second, 'GET', `/api/v1/workflow/${uuid}/logs?task=noop_01`)).body.lines;
    expect(
      logs.filter((line: { message: string }) => line.message.startsWith('runtime_delay is')),
    ).toHaveLength(1);
    expect(taskOf(after, 'noop_03').inputs.rand_no).toBe(t1After.outputs.rand_no);

    // Nothing stored before the crash was lost.
    const allLogs = (await call(second, 'GET', `/api/v1/workflow/${uuid}/logs?limit=1000`)).body.lines;
    const seqs = new Set(allLogs.map((line: { seq: number }) => line.seq));
    for (const line of logsBefore) expect(seqs.has(line.seq)).toBe(true);
    expect(allLogs.some((line: { message: string }) => line.message.startsWith('resumed by node'))).toBe(
      true,
    );
    const list = (await call(second, 'GET', '/api/v1/workflow')).body.items;
    expect(list.filter((item: { uuid: string }) => item.uuid === uuid)).toHaveLength(1);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);
});
