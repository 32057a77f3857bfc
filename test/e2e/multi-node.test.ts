/**
 * Several O3 nodes on one shared store (SPEC §8): three real `o3 serve` processes on PostgreSQL,
 * then on Redis, share 100 requests of a template with slow tasks and an AWX job; one node is
 * killed with kill -9 mid-run. Every request must end successful on the survivors, no task run may
 * run on two nodes at once, and AWX must see exactly one launch per task run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { AwxFake } from '../fakes/awx-fake.js';
import { ROOT } from '../helpers/examples.js';
import { SHARED_KINDS, trackedStoreUrl } from '../helpers/shared-stores.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';

const REQUESTS = 100;
const TOKEN = 'multi-node-token-9c1d';
const fixtures = path.join(ROOT, 'test/fixtures/multinode');
const processes: O3Process[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const o3 of processes) o3.child.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

interface Trace {
  uuid: string;
  method: string;
  pid: number;
  at: number;
}

/** Checks that no task run was executed by two processes at once: the killed one stopped before any other began. */
function expectNoOverlap(traces: Trace[], killedPid: number): void {
  const byRun = new Map<string, Trace[]>();
  for (const t of traces) byRun.set(t.uuid, [...(byRun.get(t.uuid) ?? []), t]);
  for (const [uuid, events] of byRun) {
    const pids = new Set(events.map((e) => e.pid));
    const survivors = [...pids].filter((pid) => pid !== killedPid);
    expect(
      survivors.length,
      `task run ${uuid} ran on ${survivors.length} surviving nodes`,
    ).toBeLessThanOrEqual(1);
    if (pids.has(killedPid) && survivors.length === 1) {
      const lastOnKilled = Math.max(...events.filter((e) => e.pid === killedPid).map((e) => e.at));
      const firstOnSurvivor = Math.min(...events.filter((e) => e.pid === survivors[0]).map((e) => e.at));
      expect(firstOnSurvivor, `task run ${uuid} resumed before the dead node stopped`).toBeGreaterThan(
        lastOnKilled,
      );
    }
  }
}

async function statuses(o3: O3Process): Promise<Map<string, string>> {
  const list = await call(o3, 'GET', '/api/v1/workflow?limit=1000');
  return new Map(list.body.items.map((item: { uuid: string; status: string }) => [item.uuid, item.status]));
}

describe.each(SHARED_KINDS)('three o3 nodes on %s', (kind) => {
  it('share 100 requests, survive kill -9 of one node, run each task once and launch each AWX job once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), `o3-multi-${kind}-`));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const traceFile = path.join(dir, 'trace.jsonl');
    const store = trackedStoreUrl(kind, 'mn', cleanups);
    const awx = await AwxFake.start({
      tokens: [TOKEN],
      pendingMs: 50,
      runMs: () => 300 + Math.random() * 700,
    });
    cleanups.push(() => awx.close());
    const env = {
      O3_LEASE_MS: '3000',
      O3_SECRET_KEY: randomBytes(32).toString('base64'),
      O3_TEST_TRACE_FILE: traceFile,
      O3_LOG_LEVEL: 'info',
    };
    const args = [
      '--store',
      store,
      '--tasks',
      path.join(fixtures, 'tasks'),
      '--templates',
      path.join(fixtures, 'templates'),
    ];
    const nodes: O3Process[] = [];
    for (let i = 0; i < 3; i++) {
      const node = await startO3(args, env);
      processes.push(node);
      nodes.push(node);
    }

    const uuids: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const payload = {
        workflow: {
          meta: { ref: `mn-${kind}-${i}`, template: 'multi_node' },
          vars: { workflow: { input: { work_ms: 800, awx_url: awx.url, awx_token: TOKEN } } },
        },
      };
      const answer = await call(nodes[i % 3]!, 'POST', '/api/v1/workflow/submit', payload);
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      uuids.push(answer.body.uuid);
    }

    // Kill one node while its requests are in the middle of their tasks.
    await sleep(1500);
    const victim = nodes[0]!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    const survivor = nodes[1]!;

    const deadline = Date.now() + 120_000;
    let final = await statuses(survivor);
    while (uuids.some((uuid) => !['successful', 'failed', 'canceled'].includes(final.get(uuid) ?? ''))) {
      if (Date.now() > deadline)
        throw new Error(`requests did not end: ${JSON.stringify([...final.values()])}`);
      await sleep(500);
      final = await statuses(survivor);
    }
    expect(uuids.map((uuid) => final.get(uuid))).toEqual(Array(REQUESTS).fill('successful'));

    const traces = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Trace);
    const killedPid = victim.child.pid!;
    expect(new Set(traces.map((t) => t.pid)).size).toBe(3);
    expectNoOverlap(traces, killedPid);

    const launches = awx.launchesPerTaskRun();
    let adopted = 0;
    for (const uuid of uuids) {
      const logs = (await call(nodes[2]!, 'GET', `/api/v1/workflow/${uuid}/logs?limit=1000`)).body.lines;
      if (logs.some((line: { message: string }) => line.message.startsWith('resumed by node'))) adopted += 1;
      const detail = (await call(nodes[2]!, 'GET', `/api/v1/workflow/${uuid}`)).body;
      const launch = detail.tasks.find((t: { ref_name: string }) => t.ref_name === 'launch');
      expect(launches.get(launch.uuid), `AWX launches of ${launch.uuid}`).toBe(1);
    }
    expect(awx.jobs).toHaveLength(REQUESTS);
    // The dead node's requests (about a third) were adopted by the others, not just finished by it.
    expect(adopted).toBeGreaterThan(0);
    for (const node of nodes.slice(1)) {
      node.child.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    }
  }, 180_000);
});
