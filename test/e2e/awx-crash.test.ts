/**
 * At most one AWX launch per task run, through real crashes: real `o3 serve` processes are killed
 * with kill -9 at random moments — half of the time while a launch request is in flight, after the
 * fake AWX created the job and before its answer reached O3 — and restarted, until 50
 * awx_job_template_run requests have ended. Every request must end successful, and the fake must
 * have seen exactly one launch per task run UUID.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { AwxFake } from '../fakes/awx-fake.js';
import { example } from '../helpers/examples.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';

const REQUESTS = 50;
const KILLS = 8;
const TOKEN = 'awx-crash-token-4e1f';
const dir = mkdtempSync(path.join(tmpdir(), 'o3-awx-crash-'));
const store = `sqlite:${path.join(dir, 'o3.db')}`;
// One node identity across restarts, as a single-node deployment has: it takes its requests back at once.
const env = { O3_NODE_ID: 'awx-crash-node' };
const processes: O3Process[] = [];
let awx: AwxFake | undefined;

afterAll(async () => {
  for (const o3 of processes) o3.child.kill('SIGKILL');
  await awx?.close();
  rmSync(dir, { recursive: true, force: true });
});

function payload(i: number, awxUrl: string) {
  const p = example('awx_request.json');
  p.workflow.meta.ref = `awx-crash-${i}`;
  p.workflow.vars.workflow.input.awx_url = awxUrl;
  p.workflow.vars.workflow.input.awx_token = TOKEN;
  p.tasks.launch_job_template.vars.input.extra_vars.batch = i;
  return p;
}

/**
 * Submits up to `count` requests not yet stored (a repeated ref returns the stored request), so
 * that every process has launches to be killed in; stops quietly if O3 dies meanwhile.
 */
async function submitMissing(o3: O3Process, uuids: Map<number, string>, awxUrl: string, count: number) {
  let sent = 0;
  for (let i = 0; i < REQUESTS && sent < count; i += 1) {
    if (uuids.has(i)) continue;
    sent += 1;
    try {
      const answer = await call(o3, 'POST', '/api/v1/workflow/submit', payload(i, awxUrl));
      if (answer.status === 200 || answer.status === 201) uuids.set(i, answer.body.uuid);
    } catch {
      return;
    }
  }
}

async function kill(o3: O3Process): Promise<void> {
  o3.child.kill('SIGKILL');
  await o3.exited;
}

/** Kills O3 while a launch answer is held back by the fake (the job exists, O3 has not heard of it). */
async function killDuringLaunch(o3: O3Process, fake: AwxFake): Promise<boolean> {
  fake.inject('launch', { kind: 'hold_answer', ms: 1500, times: 3 });
  const held = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 4000);
    fake.http.once('holding', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  const hit = await held;
  await sleep(Math.random() * 50);
  await kill(o3);
  fake.http.reset();
  return hit;
}

async function statuses(o3: O3Process): Promise<Map<string, string>> {
  const list = await call(o3, 'GET', '/api/v1/workflow?limit=1000');
  return new Map(list.body.items.map((item: { uuid: string; status: string }) => [item.uuid, item.status]));
}

describe('awx_job_launch under repeated kill -9 of o3 serve', () => {
  it('ends all 50 requests successful with exactly one AWX launch per task run', async () => {
    const fake = await AwxFake.start({
      tokens: [TOKEN],
      pendingMs: 50,
      runMs: () => 500 + Math.random() * 1500,
    });
    awx = fake;
    const uuids = new Map<number, string>();
    let killsDuringLaunch = 0;

    for (let cycle = 0; cycle < KILLS; cycle += 1) {
      const o3 = await startO3(['--store', store], env);
      processes.push(o3);
      const submitting = submitMissing(o3, uuids, fake.url, Math.ceil(REQUESTS / KILLS));
      if (cycle % 2 === 0) {
        if (await killDuringLaunch(o3, fake)) killsDuringLaunch += 1;
      } else {
        await sleep(300 + Math.random() * 1700);
        await kill(o3);
      }
      await submitting;
    }

    const last = await startO3(['--store', store], env);
    processes.push(last);
    await submitMissing(last, uuids, fake.url, REQUESTS);
    expect(uuids.size).toBe(REQUESTS);
    const deadline = Date.now() + 45_000;
    let final = await statuses(last);
    while (
      [...uuids.values()].some(
        (uuid) => !['successful', 'failed', 'canceled'].includes(final.get(uuid) ?? ''),
      )
    ) {
      if (Date.now() > deadline) throw new Error(`requests did not end: ${JSON.stringify([...final])}`);
      await sleep(250);
      final = await statuses(last);
    }

    expect([...uuids.values()].map((uuid) => final.get(uuid))).toEqual(Array(REQUESTS).fill('successful'));
    expect(killsDuringLaunch).toBeGreaterThan(0);
    const taskRuns = await Promise.all(
      [...uuids.values()].map(
        async (uuid) => (await call(last, 'GET', `/api/v1/workflow/${uuid}`)).body.tasks[0],
      ),
    );
    const launches = fake.launchesPerTaskRun();
    for (const task of taskRuns) {
      expect(launches.get(task.uuid), `launches of task run ${task.uuid}`).toBe(1);
      expect(task.outputs.job_status).toBe('successful');
    }
    expect(fake.jobs).toHaveLength(REQUESTS);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);
  }, 90_000);
});
