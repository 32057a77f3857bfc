/**
 * The store goes away and comes back while O3 works (SPEC §7, §8): two real `o3 serve` nodes share
 * twenty requests whose tasks take a few seconds, plus a schedule that falls due during the outage;
 * the store is stopped in the middle and started again a few seconds later. While it is down the
 * nodes stay alive (`/healthz` 200) but not ready (`/readyz` 503 with the error body); afterwards,
 * without restarting O3, every request ends successful and no task run was run twice.
 *
 * Disruptive: PostgreSQL is the machine's shared cluster, so this runs alone, after the main suite
 * (vitest.disruptive.config.ts), and always starts the cluster again. The shared Redis keeps
 * nothing across a restart, so the Redis case runs on a private, persistent redis-server instead.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/examples.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';
import { waitFor } from '../helpers/test-server.js';

const run = promisify(execFile);
const REQUESTS = 20;
const WORK_MS = 2500;
/** How long the store stays down. */
const OUTAGE_MS = 3000;
const fixtures = path.join(ROOT, 'test/fixtures/multinode');
const processes: O3Process[] = [];
/** Brings stopped stores back (idempotent): after each test, so a failed one leaves nothing down. */
const restores: (() => Promise<void>)[] = [];
const cleanups: (() => Promise<void>)[] = [];

async function restoreStores(): Promise<void> {
  const failures: unknown[] = [];
  for (const restore of restores) await restore().catch((error: unknown) => failures.push(error));
  if (failures.length > 0) throw new AggregateError(failures, 'a store could not be started again');
}

afterEach(restoreStores, 60_000);

afterAll(async () => {
  for (const o3 of processes) o3.child.kill('SIGKILL');
  await Promise.all(processes.map((o3) => o3.exited));
  try {
    // Again, in case afterEach could not: the cleanups below need the stores up.
    await restoreStores();
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}, 60_000);

/** A store server the test can stop and start, and a fresh place in it for one scenario. */
interface StoreServer {
  /** The O3_STORE of a fresh schema or prefix, dropped afterwards. */
  freshStore(): string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** The machine's shared PostgreSQL cluster (node-svc.md): stopped and started with pg_ctlcluster. */
async function sharedPostgres(): Promise<StoreServer> {
  const version = readdirSync('/etc/postgresql')[0]!;
  const ctl = (action: 'start' | 'stop') =>
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', action]);
  const ready = async () =>
    run('pg_isready', ['-h', '127.0.0.1', '-p', '5432']).then(
      () => true,
      () => false,
    );
  const start = async () => {
    if (!(await ready())) await ctl('start').catch(() => undefined);
    await waitFor(
      async () => ((await ready()) ? true : undefined),
      30_000,
      'PostgreSQL to accept connections',
    );
  };
  // Whatever happens in the test, the rest of CI finds PostgreSQL running.
  restores.push(start);
  return {
    freshStore: () => {
      const schema = `sr_${randomBytes(5).toString('hex')}`;
      cleanups.push(async () => {
        const client = new pg.Client('postgres://postgres@127.0.0.1:5432/test');
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      });
      return `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`;
    },
    stop: async () => {
      await ctl('stop');
      expect(await ready()).toBe(false);
    },
    start,
  };
}

/** A free TCP port on loopback (closed again at once, so the server started next can take it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A private redis-server that keeps every write on disk (AOF, fsync always), restartable on its dir and port. */
async function privateRedis(): Promise<StoreServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'o3-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server: ChildProcess | null = null;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  const durable = ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''];
  const answers = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };
  const start = async () => {
    const child = spawn('redis-server', [...args, ...durable, '--logfile', path.join(dir, 'redis.log')], {
      stdio: 'ignore',
    });
    server = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
        return (await answers()) ? true : undefined;
      },
      10_000,
      'the private redis-server to answer',
    );
  };
  const stop = async () => {
    const child = server;
    server = null;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  cleanups.push(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return { freshStore: () => `${url}?prefix=sr:${randomBytes(5).toString('hex')}:`, stop, start };
}

const SERVERS: Record<string, () => Promise<StoreServer>> = {
  postgres: sharedPostgres,
  redis: privateRedis,
};

interface Trace {
  uuid: string;
  method: string;
  pid: number;
}

function longTask(ref: string, startAt?: number) {
  return {
    workflow: {
      meta: { ref, template: 'long_task' },
      vars: { workflow: { input: { work_ms: WORK_MS } } },
      ...(startAt === undefined ? {} : { schedule: { when: 'at', start: new Date(startAt).toISOString() } }),
    },
  };
}

async function statuses(o3: O3Process): Promise<Map<string, string>> {
  const list = await call(o3, 'GET', '/api/v1/workflow?limit=1000');
  expect(list.status, JSON.stringify(list.body)).toBe(200);
  return new Map(list.body.items.map((item: { uuid: string; status: string }) => [item.uuid, item.status]));
}

describe.each(Object.keys(SERVERS))('o3 nodes on %s across a restart of the store', (kind) => {
  it('answer 503 on /readyz while it is down, then finish every request successful, each task run once', async () => {
    const server = await SERVERS[kind]!();
    const dir = mkdtempSync(path.join(tmpdir(), `o3-store-restart-${kind}-`));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const traceFile = path.join(dir, 'trace.jsonl');
    const env = { O3_SECRET_KEY: randomBytes(32).toString('base64'), O3_TEST_TRACE_FILE: traceFile };
    const args = [
      '--store',
      server.freshStore(),
      '--tasks',
      path.join(fixtures, 'tasks'),
      '--templates',
      path.join(fixtures, 'templates'),
    ];
    const nodes: O3Process[] = [];
    for (const name of ['a', 'b']) {
      const node = await startO3(args, { ...env, O3_NODE_ID: `${name}-${kind}` });
      processes.push(node);
      nodes.push(node);
    }

    const uuids: string[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const answer = await call(
        nodes[i % 2]!,
        'POST',
        '/api/v1/workflow/submit',
        longTask(`sr-${kind}-${i}`),
      );
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      uuids.push(answer.body.uuid);
    }
    // Falls due while the store is down: it must start once the store is back.
    const dueAt = Date.now() + 2000;
    const scheduled = await call(
      nodes[0]!,
      'POST',
      '/api/v1/workflow/submit',
      longTask(`sr-${kind}-due`, dueAt),
    );
    expect(scheduled.body.status).toBe('scheduled');
    uuids.push(scheduled.body.uuid);

    // Down at once, while the first tasks are in the middle of their work, so that they end (and the
    // second tasks would start) during the outage. On Redis the calls made meanwhile wait for the
    // reconnection, so the schedule firing and the lease sweep then meet: each request must still
    // get one runner.
    await server.stop();
    const downSince = Date.now();
    for (const node of nodes) {
      const ready = await call(node, 'GET', '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.error.code).toBe('store_unavailable');
      expect(ready.body.error.message).toMatch(/^the store is unreachable: /);
      expect((await call(node, 'GET', '/healthz')).status).toBe(200);
    }
    await sleep(Math.max(0, downSince + OUTAGE_MS - Date.now()));
    await server.start();
    const backAt = Date.now();
    expect(dueAt, 'the schedule fell due during the outage').toBeLessThan(backAt);

    const final = await waitFor(
      async () => {
        const now = await statuses(nodes[1]!);
        return uuids.every((uuid) => ['successful', 'failed', 'canceled'].includes(now.get(uuid) ?? ''))
          ? now
          : undefined;
      },
      30_000,
      'every request to end after the store came back',
    );
    expect(uuids.map((uuid) => final.get(uuid))).toEqual(Array(uuids.length).fill('successful'));
    for (const node of nodes) {
      expect(node.child.exitCode, `an O3 node exited:\n${node.output.slice(-20).join('\n')}`).toBeNull();
      expect((await call(node, 'GET', '/readyz')).body).toEqual({ status: 'ready', store: kind });
    }

    // Each task run was initialised and run exactly once, on one node: nothing ran twice.
    const traces = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Trace);
    for (const uuid of uuids) {
      const detail = (await call(nodes[0]!, 'GET', `/api/v1/workflow/${uuid}`)).body;
      expect(detail.tasks.map((t: { state: string }) => t.state)).toEqual(['successful', 'successful']);
      for (const task of detail.tasks as { uuid: string; ref_name: string }[]) {
        const mine = traces.filter((t) => t.uuid === task.uuid);
        const what = `task ${task.ref_name} of ${uuid}`;
        expect(
          mine.filter((t) => t.method === 'run'),
          `run() of ${what}`,
        ).toHaveLength(1);
        expect(
          mine.filter((t) => t.method === 'taskInit'),
          `taskInit() of ${what}`,
        ).toHaveLength(1);
        expect(new Set(mine.map((t) => t.pid)).size, `nodes that drove ${what}`).toBe(1);
      }
      // A commit retried after the outage is written once: the request ended once in its log.
      const lines = (await call(nodes[0]!, 'GET', `/api/v1/workflow/${uuid}/logs?limit=1000`)).body.lines;
      const messages = lines.map((line: { message: string }) => line.message);
      expect(
        messages.filter((m: string) => m === 'request ended successful'),
        `log of ${uuid}`,
      ).toHaveLength(1);
    }
    const scheduledLog = (
      await call(nodes[0]!, 'GET', `/api/v1/workflow/${scheduled.body.uuid}/logs?limit=1000`)
    ).body.lines;
    const starts = scheduledLog.filter((l: { message: string }) =>
      /^(schedule due|resumed by)/.test(l.message),
    );
    expect(starts).toHaveLength(1);
    // Started by the nodes' schedule timers within moments of the store's return, not by the 30 s
    // sweep for schedules added elsewhere (a timer that failed during the outage must re-arm).
    expect(
      Date.parse(starts[0].ts) - backAt,
      'delay of the missed schedule after the store returned',
    ).toBeLessThan(5000);

    for (const node of nodes) {
      node.child.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    }
  }, 90_000);
});
