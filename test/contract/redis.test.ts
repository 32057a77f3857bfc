import { randomUUID } from 'node:crypto';
import { startProxy } from '../helpers/tcp-proxy.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O3Error, StoreUnavailableError } from '../../src/errors.js';
import { createStore } from '../../src/store/create-store.js';
import { createRedisStore } from '../../src/store/redis/redis-store.js';
import type { Store, TaskRunRecord } from '../../src/store/store.js';
import { T0, bump, makeLog, makeSubmission, makeTemplateRecord, requestWithStatus } from './fixtures.js';
import { describeStoreContract, expectTaskLinePages } from './store-contract.js';

const HOST = '127.0.0.1';
const PORT = Number(process.env.O3_TEST_REDIS_PORT ?? 6379);

// Every store of this file runs as an ACL user that may only touch keys under this file's root
// prefix: any key a script builds outside its prefix fails the test with NOPERM.
const root = `o3test:${randomUUID().slice(0, 8)}:`;
const user = `o3test-${randomUUID().slice(0, 8)}`;
const password = randomUUID();
const REDIS_URL = `redis://${user}:${password}@${HOST}:${PORT}`;
const admin = new Redis({ host: HOST, port: PORT, lazyConnect: true });

beforeAll(async () => {
  await admin.connect();
  await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, `~${root}*`, '+@all');
});

afterAll(async () => {
  await deleteKeys(`${root}*`);
  await admin.call('ACL', 'DELUSER', user);
  await admin.quit();
});

/** Deletes every key matching a pattern (SCAN, so a big keyspace is never blocked). */
async function deleteKeys(pattern: string): Promise<void> {
  for (const keys of await scanAll(pattern)) if (keys.length > 0) await admin.del(...keys);
}

/** Every key matching a pattern, in SCAN batches. */
async function scanAll(pattern: string): Promise<string[][]> {
  const batches: string[][] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    batches.push(keys);
    cursor = next;
  } while (cursor !== '0');
  return batches;
}

let prefixes = 0;
/** A prefix no other store of this run uses. */
function freshPrefix(): string {
  prefixes += 1;
  return `${root}${prefixes}:`;
}

/** Opens and initialises a store under `prefix`. */
async function open(prefix: string, url = REDIS_URL): Promise<Store> {
  const store = createRedisStore(url, { prefix });
  await store.init();
  return store;
}

const prefixOf = new WeakMap<Store, string>();

describeStoreContract(
  'redis (as a user limited to its prefix)',
  async () => {
    const prefix = freshPrefix();
    const store = await open(prefix);
    prefixOf.set(store, prefix);
    return store;
  },
  { openPeer: (store) => open(prefixOf.get(store)!) },
);

describe('redis store: keys', () => {
  it('the test user really is limited to the prefix, inside scripts too', async () => {
    const limited = new Redis(REDIS_URL);
    await expect(limited.set('o3-outside-the-prefix', 'x')).rejects.toThrow(/NOPERM/);
    await expect(limited.eval("return redis.call('SET', 'o3-outside-the-prefix', 'x')", 0)).rejects.toThrow(
      /can't access/,
    );
    await limited.set(`${root}inside`, 'x');
    await limited.quit();
  });

  it('keeps every key of a workload under its prefix', async () => {
    const prefix = freshPrefix();
    const store = await open(prefix);
    const s = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 1000 }, 2);
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    const run = bump(s.taskRuns[0]!, { state: 'running' });
    await store.commit({ taskRuns: [run], logs: [makeLog(s.request, 'x', run.uuid)] }, { owner: 'node-a' });
    const d = requestWithStatus('scheduled', { scheduledAt: T0 });
    await store.createRequest(d.request, d.revision, d.taskRuns);
    await store.claimDueSchedules('node-a', T0, 15_000, 10);
    await store.saveTemplate(makeTemplateRecord('kept_under_prefix', 1));
    await store.close();
    const keys = (await scanAll(`${prefix}*`)).flat();
    expect(keys).toContain(`${prefix}templates`);
    expect(keys).toContain(`${prefix}req:${s.request.uuid}`);
    expect(keys).toContain(`${prefix}run:${run.uuid}`);
    expect(keys).toContain(`${prefix}log:${s.request.uuid}`);
    await deleteKeys(`${prefix}*`);
    expect((await scanAll(`${prefix}*`)).flat()).toEqual([]);
  });

  it('createStore opens a redis:// URL under the prefix named by ?prefix=', async () => {
    const prefix = freshPrefix();
    const store = await createStore(`${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`);
    expect(store.kind).toBe('redis');
    const s = makeSubmission();
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    await store.close();
    expect(await admin.exists(`${prefix}req:${s.request.uuid}`)).toBe(1);
  });

  it('refuses keys written by a newer O3 with StoreUnavailableError', async () => {
    const prefix = freshPrefix();
    await admin.set(`${prefix}schema`, '999');
    const error: unknown = await open(prefix).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/newer than this O3 knows/);
  });

  it('upgrades keys of layout 1: reads their revisions, claims their requests, drops the unfinished set', async () => {
    const prefix = freshPrefix();
    const store = await open(prefix);
    const s = makeSubmission({}, 1);
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    await store.close();
    // What layout 1 held and layout 2 does not: no revision count, a set of revision numbers, and
    // the set of unfinished requests.
    const member = `${String(s.request.createdAt).padStart(16, '0')}:${s.request.uuid}`;
    await admin.hdel(`${prefix}req:${s.request.uuid}`, 'rn');
    await admin.zadd(`${prefix}revs:${s.request.uuid}`, 1, '1');
    await admin.zadd(`${prefix}unfinished`, 0, member);
    await admin.set(`${prefix}schema`, '1');
    const upgraded = await open(prefix);
    expect(await admin.get(`${prefix}schema`)).toBe('4');
    expect(await admin.exists(`${prefix}unfinished`)).toBe(0);
    expect(await upgraded.getRevisions(s.request.uuid)).toEqual([s.revision]);
    const claimed = await upgraded.claimRequests('node-a', T0, 15_000, 10);
    expect(claimed.map((r) => r.uuid)).toEqual([s.request.uuid]);
    await upgraded.close();
  });

  it('reads and saves records of layout 2, which kept more of them as JSON', async () => {
    const prefix = freshPrefix();
    const store = await open(prefix);
    const s = makeSubmission({ scheduledAt: T0 + 5000 }, 1);
    const [run] = s.taskRuns as [TaskRunRecord];
    const taskLine = makeLog(s.request, 'from the task ✓', run.uuid);
    await store.createRequest(s.request, s.revision, s.taskRuns, [...s.logs, taskLine]);
    await store.close();
    // As layout 2 wrote them: objects, not arrays, of the request's (with template, trace and
    // schedule too), revision's and run's fields; the run's identity as JSON; each log line an object.
    const { uuid } = s.request;
    const r = s.request;
    const json = {
      traceId: r.traceId,
      name: r.name,
      description: r.description,
      templateRef: r.templateRef,
      templateVersion: r.templateVersion,
      payloadHash: r.payloadHash,
      revision: r.revision,
      scheduledAt: r.scheduledAt,
      endedAt: r.endedAt,
      error: r.error,
    };
    await admin.hset(`${prefix}req:${uuid}`, 'm', JSON.stringify(json));
    const { status, startedAt, endedAt, error, version } = s.revision;
    const revisionJson = JSON.stringify({ status, startedAt, endedAt, error, version });
    await admin.hset(`${prefix}rev:${uuid}:1`, 'm', revisionJson);
    const { uuid: runUuid, requestUuid, revision, createdAt, ...runJson } = run;
    const identity = { uuid: runUuid, requestUuid, revision, createdAt };
    await admin.hset(`${prefix}run:${run.uuid}`, 'i', JSON.stringify(identity), 'm', JSON.stringify(runJson));
    const lines = [...s.logs, taskLine].map((l) =>
      JSON.stringify({
        taskUuid: l.taskUuid,
        ts: l.ts,
        level: l.level,
        source: l.source,
        message: l.message,
      }),
    );
    await admin.del(`${prefix}log:${uuid}`);
    await admin.rpush(`${prefix}log:${uuid}`, ...lines);
    await admin.set(`${prefix}schema`, '2');

    const upgraded = await open(prefix);
    expect(await admin.get(`${prefix}schema`)).toBe('4');
    expect(await upgraded.getRequest(uuid)).toEqual(s.request);
    expect(await upgraded.getTaskRuns(uuid, 1)).toEqual([run]);
    expect(await upgraded.getRevisions(uuid)).toEqual([s.revision]);
    const stored = [...s.logs, taskLine].map((line, i) => ({ ...line, seq: i + 1 }));
    expect(await upgraded.readLogs(uuid)).toEqual(stored);
    expect(await upgraded.readLogs(uuid, { taskUuid: run.uuid })).toEqual([stored[1]]);
    const request = bump(s.request, { status: 'running' });
    const ended = bump(run, { state: 'successful', endedAt: T0 + 1 });
    const revisionEnded = bump(s.revision, { status: 'successful', endedAt: T0 + 1 });
    await upgraded.commit({ requests: [request], revisions: [revisionEnded], taskRuns: [ended] });
    expect(await upgraded.getRequest(uuid)).toEqual(request);
    expect(await upgraded.getTaskRuns(uuid, 1)).toEqual([ended]);
    expect(await upgraded.getRevisions(uuid)).toEqual([revisionEnded]);
    await upgraded.close();
  });

  it('keeps a task’s first run of lines and its revision’s runs in hashes, and upgrades layout 3', async () => {
    const prefix = freshPrefix();
    const store = await open(prefix);
    const s = makeSubmission({}, 1);
    let run = s.taskRuns[0]!;
    const task = run.uuid;
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    const line = (n: number, owner: string | null) => makeLog(s.request, `line ${n}`, owner);
    run = bump(run, { state: 'running' });
    await store.commit({ taskRuns: [run], logs: [line(1, task), line(2, task), line(3, null)] });
    await store.commit({ logs: [line(4, task)] });
    // Saved with the run: no sorted set for the first run, the second in it.
    const runKey = `${prefix}run:${task}`;
    const setKey = `${prefix}tlog:${s.request.uuid}:${task}`;
    expect(await admin.hget(runKey, 'g')).toBe(`${s.request.uuid} 2-3`);
    expect(await admin.zrange(setKey, 0, -1)).toEqual(['5']);
    // As layout 3 kept them: every run of lines in the sorted set, and the revision's runs in a list.
    await admin.hdel(runKey, 'g');
    await admin.zadd(setKey, 3, '2-3');
    const revisionKey = `${prefix}rev:${s.request.uuid}:1`;
    expect(await admin.hget(revisionKey, 'r')).toBe(task);
    await admin.hdel(revisionKey, 'r');
    await admin.rpush(`${prefix}runs:${s.request.uuid}:1`, task);
    // And an index of all requests, which layout 4 drops: the list merges the status indexes.
    await admin.zadd(
      `${prefix}idx:all`,
      0,
      `${String(s.request.createdAt).padStart(16, '0')}:${s.request.uuid}`,
    );
    await admin.set(`${prefix}schema`, '3');
    await store.close();

    const upgraded = await open(prefix);
    expect(await admin.get(`${prefix}schema`)).toBe('4');
    expect(await admin.exists(`${prefix}idx:all`)).toBe(0);
    expect((await upgraded.listRequests({}, { limit: 10 })).items.map((r) => r.uuid)).toEqual([
      s.request.uuid,
    ]);
    expect(await upgraded.getTaskRuns(s.request.uuid, 1)).toEqual([run]);
    // The run saved next takes its first run of lines into its hash, after the set's in seq order.
    run = bump(run, { state: 'successful' });
    await upgraded.commit({ taskRuns: [run], logs: [line(5, null), line(6, task), line(7, task)] });
    expect(await admin.hget(runKey, 'g')).toBe(`${s.request.uuid} 7-8`);
    const mine = await expectTaskLinePages(upgraded, s.request.uuid, task, [1, 2, 3]);
    expect(mine.map((l) => l.seq)).toEqual([2, 3, 5, 7, 8]);
    await upgraded.close();
  });

  it('refuses a URL it cannot read with bad_request', () => {
    let error: unknown;
    try {
      createRedisStore('redis://[not a host');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(O3Error);
    expect((error as O3Error).code).toBe('bad_request');
  });
});

describe('redis store: durability warnings', () => {
  it('warns when Redis keeps its data in memory only, as the server says it does', async () => {
    const store = await open(freshPrefix());
    const warnings = await store.durabilityWarnings();
    await store.close();
    const [, appendonly] = (await admin.config('GET', 'appendonly')) as string[];
    const [, appendfsync] = (await admin.config('GET', 'appendfsync')) as string[];
    if (appendonly === 'no') expect(warnings).toEqual([expect.stringContaining('appendonly no')]);
    else if (appendfsync === 'no') expect(warnings).toEqual([expect.stringContaining('appendfsync no')]);
    else expect(warnings).toEqual([]);
  });

  it('warns of nothing when the server refuses CONFIG, as a managed Redis may', async () => {
    const limited = `o3test-noconfig-${randomUUID().slice(0, 8)}`;
    await admin.call('ACL', 'SETUSER', limited, 'on', `>${password}`, `~${root}*`, '+@all', '-config');
    try {
      const store = await open(freshPrefix(), `redis://${limited}:${password}@${HOST}:${PORT}`);
      await expect(store.durabilityWarnings()).resolves.toEqual([]);
      await store.close();
    } finally {
      await admin.call('ACL', 'DELUSER', limited);
    }
  });
});

describe('redis store: connection loss', () => {
  it('answers StoreUnavailableError when Redis cannot be reached at start, without waiting long', async () => {
    const started = Date.now();
    await expect(open(freshPrefix(), `redis://${HOST}:1`)).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('runs its scripts by their source when Redis lost them (SCRIPT FLUSH), non-ASCII text included', async () => {
    const store = await open(freshPrefix());
    const s = makeSubmission({ name: 'é ✓ "quoted"' });
    await admin.call('SCRIPT', 'FLUSH');
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    await admin.call('SCRIPT', 'FLUSH');
    await store.commit({ logs: [makeLog(s.request, 'ünïcode ✓ 日本')] });
    expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
    expect((await store.readLogs(s.request.uuid)).map((line) => line.message)).toEqual([
      'request stored',
      'ünïcode ✓ 日本',
    ]);
    await store.close();
  });

  it('reconnects by itself after its connection is killed', async () => {
    const store = await open(freshPrefix());
    const s = makeSubmission();
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    expect(Number(await admin.call('CLIENT', 'KILL', 'USER', user))).toBeGreaterThan(0);
    expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
    await store.close();
  });

  it('fails fast with StoreUnavailableError while Redis is away, and recovers when it is back', async () => {
    const proxy = await startProxy(HOST, PORT);
    const url = `redis://${user}:${password}@${HOST}:${proxy.port}`;
    const store = await open(freshPrefix(), url);
    const s = makeSubmission();
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    await proxy.stop();
    const started = Date.now();
    await expect(store.getRequest(s.request.uuid)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.commit({ logs: [makeLog(s.request, 'x')] })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    await proxy.start();
    for (let attempt = 1; ; attempt += 1) {
      try {
        expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
        break;
      } catch (error) {
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(attempt).toBeLessThan(50);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await store.close();
    await proxy.stop();
  });
});
