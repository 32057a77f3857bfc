/**
 * The store contract: one vitest suite that every backend (SQLite, PostgreSQL, Redis) runs
 * unchanged. Time is always passed in (`now` numbers), never slept on.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { O3Error, StaleWriteError, StoreUnavailableError } from '../../src/errors.js';
import type { LogLine, RequestRecord, Store, StoredLogLine, TaskRunRecord } from '../../src/store/store.js';
import {
  T0,
  bump,
  makeLog,
  makeRequest,
  makeRevision,
  makeSubmission,
  makeTaskRun,
  makeTemplateRecord,
  requestWithStatus,
  type Submission,
} from './fixtures.js';

/** How a backend is opened for the suite. */
export interface StoreContractOptions {
  /**
   * Opens another store over the SAME database as `store` (another connection, as a second node
   * would have). Without it, the "several nodes" tests use the one store object for every node.
   */
  openPeer?: (store: Store) => Promise<Store>;
}

/**
 * Checks the pages of one task run's lines from every seq of its request's log, at each limit and
 * without one, against the whole log filtered; returns the task's lines.
 */
export async function expectTaskLinePages(
  store: Store,
  requestUuid: string,
  task: string,
  limits: number[],
): Promise<StoredLogLine[]> {
  const all = await store.readLogs(requestUuid);
  const mine = all.filter((l) => l.taskUuid === task);
  for (const afterSeq of [0, ...all.map((l) => l.seq)]) {
    const expected = mine.filter((l) => l.seq > afterSeq);
    for (const limit of limits) {
      expect(await store.readLogs(requestUuid, { taskUuid: task, afterSeq, limit })).toEqual(
        expected.slice(0, limit),
      );
    }
    expect(await store.readLogs(requestUuid, { taskUuid: task, afterSeq })).toEqual(expected);
  }
  return mine;
}

/** Registers the contract suite for one backend; `makeStore` must return a fresh, empty, initialised store. */
export function describeStoreContract(
  name: string,
  makeStore: () => Promise<Store>,
  options: StoreContractOptions = {},
): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    const opened: Store[] = [];

    /** `count` stores acting as nodes over the test's data: the test's store and peers of it. */
    async function nodes(count: number): Promise<Store[]> {
      const stores = [store];
      while (stores.length < count) stores.push(options.openPeer ? await options.openPeer(store) : store);
      opened.push(...stores);
      return stores;
    }

    /** Creates a submission and checks it was created. */
    async function create(submission: Submission): Promise<RequestRecord> {
      const { request, revision, taskRuns, logs } = submission;
      const result = await store.createRequest(request, revision, taskRuns, logs);
      expect(result.created).toBe(true);
      return result.request;
    }

    beforeEach(async () => {
      store = await makeStore();
    });

    afterEach(async () => {
      for (const s of new Set([store, ...opened.splice(0)])) await s.close();
    });

    describe('basics', () => {
      it('ping answers when the store is reachable', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('ping throws StoreUnavailableError once the store is closed', async () => {
        await store.close();
        await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      });

      it('getRequest and getRequestByRef of unknown keys are undefined; reads of them are empty', async () => {
        expect(await store.getRequest(randomUUID())).toBeUndefined();
        expect(await store.getRequestByRef('no-such-ref')).toBeUndefined();
        expect(await store.getRevisions(randomUUID())).toEqual([]);
        expect(await store.getTaskRuns(randomUUID(), 1)).toEqual([]);
        expect(await store.readLogs(randomUUID())).toEqual([]);
      });

      it('durabilityWarnings lists sentences (none is an empty list)', async () => {
        const warnings = await store.durabilityWarnings();
        expect(Array.isArray(warnings)).toBe(true);
        for (const warning of warnings) expect(warning).toMatch(/^[A-Z].+\.$/);
      });

      it('kind names the backend', () => {
        expect(typeof store.kind).toBe('string');
        expect(store.kind.length).toBeGreaterThan(0);
      });
    });

    describe('createRequest', () => {
      it('stores the request, its revision and task runs, and reads them back equal', async () => {
        const s = makeSubmission({ name: 'é ✓ "quoted"', description: 'multi\nline' }, 3);
        s.taskRuns[1]!.inputs = { a: 1, nested: { b: [true, null, 'x'] } };
        const result = await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
        expect(result).toEqual({ created: true, request: s.request });
        expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
        expect(await store.getRequestByRef(s.request.ref)).toEqual(s.request);
        expect(await store.getRevisions(s.request.uuid)).toEqual([s.revision]);
        expect(await store.getTaskRuns(s.request.uuid, 1)).toEqual(s.taskRuns);
      });

      it('returns task runs in creation order, whatever their uuids and times', async () => {
        const request = makeRequest();
        const taskRuns = ['z', 'm', 'a'].map((taskRef, i) =>
          makeTaskRun(request, {
            uuid: `${'fedcba'[i]!}${randomUUID().slice(1)}`,
            taskRef,
            createdAt: T0 - i,
          }),
        );
        await store.createRequest(request, makeRevision(request), taskRuns);
        expect((await store.getTaskRuns(request.uuid, 1)).map((t) => t.taskRef)).toEqual(['z', 'm', 'a']);
      });

      it('stores owner and lease as given', async () => {
        const s = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 15_000 });
        await create(s);
        expect(await store.getRequest(s.request.uuid)).toMatchObject({
          owner: 'node-a',
          leaseExpiresAt: T0 + 15_000,
        });
      });

      it('a second create with the same ref returns created:false and the first request, writing nothing', async () => {
        const first = makeSubmission({ ref: 'same-ref' });
        await create(first);
        const second = makeSubmission({ ref: 'same-ref', payloadHash: 'other' });
        const result = await store.createRequest(
          second.request,
          second.revision,
          second.taskRuns,
          second.logs,
        );
        expect(result).toEqual({ created: false, request: first.request });
        expect(await store.getRequest(second.request.uuid)).toBeUndefined();
        expect(await store.getRevisions(second.request.uuid)).toEqual([]);
        expect(await store.getTaskRuns(second.request.uuid, 1)).toEqual([]);
        expect(await store.readLogs(second.request.uuid)).toEqual([]);
        expect(await store.readLogs(first.request.uuid)).toHaveLength(1);
        expect(await store.getTaskRuns(first.request.uuid, 1)).toEqual(first.taskRuns);
      });

      it('refuses a create whose uuid exists under another ref with StaleWriteError, writing nothing', async () => {
        const first = makeSubmission({}, 1);
        await create(first);
        const clash = makeSubmission({ uuid: first.request.uuid, ref: 'another-ref' }, 1);
        await expect(
          store.createRequest(clash.request, clash.revision, clash.taskRuns, clash.logs),
        ).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getRequestByRef('another-ref')).toBeUndefined();
        expect(await store.getRequest(first.request.uuid)).toEqual(first.request);
        expect(await store.getTaskRuns(first.request.uuid, 1)).toEqual(first.taskRuns);
        expect(await store.readLogs(first.request.uuid)).toHaveLength(1);
      });

      it('concurrent creates with the same ref create exactly one request', async () => {
        const stores = await nodes(4);
        const submissions = Array.from({ length: 12 }, () => makeSubmission({ ref: 'raced-ref' }));
        const results = await Promise.all(
          submissions.map((s, i) =>
            stores[i % stores.length]!.createRequest(s.request, s.revision, s.taskRuns, s.logs),
          ),
        );
        const created = results.filter((r) => r.created);
        expect(created).toHaveLength(1);
        const winner = created[0]!.request;
        for (const r of results) expect(r.request).toEqual(winner);
        expect(await store.getRequestByRef('raced-ref')).toEqual(winner);
        const losers = submissions.filter((s) => s.request.uuid !== winner.uuid);
        for (const s of losers) expect(await store.getRequest(s.request.uuid)).toBeUndefined();
        expect(await store.readLogs(winner.uuid)).toHaveLength(1);
      });
    });

    describe('commit', () => {
      it('persists every record written with the right versions, in one change set', async () => {
        const s = makeSubmission({}, 1);
        await create(s);
        const request = bump(s.request, { status: 'running', updatedAt: T0 + 1 });
        const revision = bump(s.revision, { status: 'running', startedAt: T0 + 1 });
        const taskRun = bump(s.taskRuns[0]!, {
          state: 'running',
          startedAt: T0 + 1,
          inputs: { runtime_delay: 5 },
          attributes: { job: { value: { id: 42 }, public: true } },
        });
        const added = makeTaskRun(s.request, { taskRef: 'added' });
        await store.commit({ requests: [request], revisions: [revision], taskRuns: [taskRun, added] });
        expect(await store.getRequest(request.uuid)).toEqual(request);
        expect(await store.getRevisions(request.uuid)).toEqual([revision]);
        expect(await store.getTaskRuns(request.uuid, 1)).toEqual([taskRun, added]);
      });

      it('accepts an empty change set', async () => {
        await expect(store.commit({})).resolves.toBeUndefined();
      });

      it('a request save never changes owner or lease', async () => {
        const s = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 1000 });
        await create(s);
        await store.commit({
          requests: [bump(s.request, { owner: 'node-b', leaseExpiresAt: 1, status: 'running' })],
        });
        expect(await store.getRequest(s.request.uuid)).toMatchObject({
          owner: 'node-a',
          leaseExpiresAt: T0 + 1000,
          status: 'running',
          version: 2,
        });
      });

      it('a save never changes identity fields (ref, createdAt)', async () => {
        const s = makeSubmission({}, 1);
        await create(s);
        await store.commit({
          requests: [bump(s.request, { ref: 'renamed', createdAt: T0 + 5, status: 'running' })],
          revisions: [bump(s.revision, { createdAt: T0 + 5, status: 'running' })],
          taskRuns: [bump(s.taskRuns[0]!, { createdAt: T0 + 5, state: 'running' })],
        });
        expect(await store.getRequest(s.request.uuid)).toEqual(bump(s.request, { status: 'running' }));
        expect(await store.getRequestByRef('renamed')).toBeUndefined();
        expect(await store.getRevisions(s.request.uuid)).toEqual([bump(s.revision, { status: 'running' })]);
        expect(await store.getTaskRuns(s.request.uuid, 1)).toEqual([
          bump(s.taskRuns[0]!, { state: 'running' }),
        ]);
      });

      it('refuses a stale version with StaleWriteError and writes nothing of the change set', async () => {
        const s = makeSubmission({}, 2);
        await create(s);
        const [a, b] = s.taskRuns as [TaskRunRecord, TaskRunRecord];
        await store.commit({ taskRuns: [bump(b, { state: 'created' })] });
        const good = bump(a, { state: 'running' });
        const stale = bump(b, { state: 'failed' }); // version 2 again, over a stored 2
        const changes = {
          requests: [bump(s.request, { status: 'running' as const })],
          revisions: [bump(s.revision, { status: 'running' as const })],
          taskRuns: [good, stale],
          logs: [makeLog(s.request, 'must not appear')],
        };
        await expect(store.commit(changes)).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
        expect(await store.getRevisions(s.request.uuid)).toEqual([s.revision]);
        expect(await store.getTaskRuns(s.request.uuid, 1)).toEqual([a, bump(b, { state: 'created' })]);
        expect((await store.readLogs(s.request.uuid)).map((l) => l.message)).toEqual(['request stored']);
      });

      it('refuses a version that skips one', async () => {
        const s = makeSubmission({}, 1);
        await create(s);
        const skipping = { ...s.taskRuns[0]!, version: 3 };
        await expect(store.commit({ taskRuns: [skipping] })).rejects.toBeInstanceOf(StaleWriteError);
        expect((await store.getTaskRuns(s.request.uuid, 1))[0]!.version).toBe(1);
      });

      it('refuses a stale request or revision save', async () => {
        const s = makeSubmission({}, 1);
        await create(s);
        await store.commit({ requests: [bump(s.request)], revisions: [bump(s.revision)] });
        await expect(store.commit({ requests: [bump(s.request)] })).rejects.toBeInstanceOf(StaleWriteError);
        await expect(store.commit({ revisions: [bump(s.revision)] })).rejects.toBeInstanceOf(StaleWriteError);
      });

      it('refuses to insert (version 1) a record that exists', async () => {
        const s = makeSubmission({}, 1);
        await create(s);
        await expect(store.commit({ taskRuns: [s.taskRuns[0]!] })).rejects.toBeInstanceOf(StaleWriteError);
        await expect(store.commit({ revisions: [s.revision] })).rejects.toBeInstanceOf(StaleWriteError);
        await expect(store.commit({ requests: [s.request] })).rejects.toBeInstanceOf(StaleWriteError);
        const fresh = makeTaskRun(s.request, { taskRef: 'fresh' });
        await store.commit({ taskRuns: [fresh] });
        await expect(store.commit({ taskRuns: [fresh] })).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getTaskRuns(s.request.uuid, 1)).toEqual([...s.taskRuns, fresh]);
      });

      it('refuses to save (version > 1) a record that does not exist', async () => {
        const s = makeSubmission({}, 0);
        await create(s);
        const ghost = { ...makeTaskRun(s.request), version: 2 };
        await expect(store.commit({ taskRuns: [ghost] })).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getTaskRuns(s.request.uuid, 1)).toEqual([]);
      });

      it('with an owner, refuses a change set touching a request another node owns, writing nothing', async () => {
        const mine = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 1000 }, 1);
        const theirs = makeSubmission({ owner: 'node-b', leaseExpiresAt: T0 + 1000 }, 1);
        await create(mine);
        await create(theirs);
        const changes = {
          taskRuns: [bump(mine.taskRuns[0]!, { state: 'running' as const })],
          logs: [makeLog(theirs.request, 'sneaky')],
        };
        await expect(store.commit(changes, { owner: 'node-a' })).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getTaskRuns(mine.request.uuid, 1)).toEqual(mine.taskRuns);
        expect(await store.readLogs(theirs.request.uuid)).toHaveLength(1);
        await expect(
          store.commit({ taskRuns: changes.taskRuns }, { owner: 'node-b' }),
        ).rejects.toBeInstanceOf(StaleWriteError);
        await store.commit({ taskRuns: changes.taskRuns }, { owner: 'node-a' });
        expect((await store.getTaskRuns(mine.request.uuid, 1))[0]!.state).toBe('running');
      });

      it('with an owner, fences every kind of record: request, revision and log-only change sets', async () => {
        const s = makeSubmission({ owner: 'node-b', leaseExpiresAt: T0 + 1000 }, 1);
        await create(s);
        const fenced = { owner: 'node-a' };
        await expect(store.commit({ requests: [bump(s.request)] }, fenced)).rejects.toBeInstanceOf(
          StaleWriteError,
        );
        await expect(store.commit({ revisions: [bump(s.revision)] }, fenced)).rejects.toBeInstanceOf(
          StaleWriteError,
        );
        await expect(store.commit({ logs: [makeLog(s.request, 'x')] }, fenced)).rejects.toBeInstanceOf(
          StaleWriteError,
        );
        expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
        expect(await store.readLogs(s.request.uuid)).toHaveLength(1);
      });

      it('with an owner, refuses a request nobody owns (e.g. after release)', async () => {
        const s = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 1000 }, 1);
        await create(s);
        await store.releaseLease('node-a', s.request.uuid);
        await expect(
          store.commit({ taskRuns: [bump(s.taskRuns[0]!)] }, { owner: 'node-a' }),
        ).rejects.toBeInstanceOf(StaleWriteError);
      });

      it('racing saves of one task run: exactly the right expected versions win, versions never skip', async () => {
        const s = makeSubmission({}, 1);
        await create(s);
        const stores = await nodes(4);
        const base = s.taskRuns[0]!;

        // 20 writers all try version 2 over the same version 1: exactly one may win.
        const firstRound = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            stores[i % stores.length]!.commit({
              taskRuns: [bump(base, { attributes: { w: { value: i, public: true } } })],
            }),
          ),
        );
        expect(firstRound.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of firstRound) {
          if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(StaleWriteError);
        }

        // Then read-modify-write loops: every increment that commits must survive, none is lost.
        const wins: number[] = [];
        await Promise.all(
          stores.map(async (node, n) => {
            for (let done = 0; done < 10;) {
              const [current] = await node.getTaskRuns(s.request.uuid, 1);
              const count = (current!.attributes.count?.value as number | undefined) ?? 0;
              const next = bump(current!, { attributes: { count: { value: count + 1, public: true } } });
              try {
                await node.commit({ taskRuns: [next], logs: [makeLog(s.request, `${n}:${next.version}`)] });
                wins.push(next.version);
                done += 1;
              } catch (error) {
                expect(error).toBeInstanceOf(StaleWriteError);
              }
            }
          }),
        );
        const [final] = await store.getTaskRuns(s.request.uuid, 1);
        expect(final!.version).toBe(2 + stores.length * 10);
        expect(final!.attributes.count?.value).toBe(stores.length * 10);
        expect([...wins].sort((a, b) => a - b)).toEqual(Array.from({ length: wins.length }, (_, i) => i + 3));
        expect(await store.readLogs(s.request.uuid)).toHaveLength(1 + stores.length * 10);
      });
    });

    describe('revisions and task runs', () => {
      it('creates and commits a request of 10,000 task runs and 30,000 log lines, each in one call', async () => {
        const s = makeSubmission({}, 10_000);
        await create(s);
        const done = s.taskRuns.map((t) => bump(t, { state: 'successful', endedAt: T0 + 1 }));
        const logs = done.flatMap((t) =>
          [1, 2, 3].map((n) => ({ ...makeLog(s.request, `line ${n}`), taskUuid: t.uuid })),
        );
        await store.commit({ taskRuns: done, logs });
        const stored = await store.getTaskRuns(s.request.uuid, 1);
        expect(stored).toHaveLength(10_000);
        expect(stored.every((t) => t.state === 'successful' && t.version === 2)).toBe(true);
        expect(await store.readLogs(s.request.uuid)).toHaveLength(1 + 30_000);
      }, 60_000);

      it('keeps each revision with its own task runs, revisions oldest first', async () => {
        const s = makeSubmission({}, 2);
        await create(s);
        const revision2 = makeRevision(s.request, {
          revision: 2,
          reason: 'retry',
          payload: { changed: true },
        });
        const runs2 = s.taskRuns.map((t) =>
          makeTaskRun(s.request, { revision: 2, taskRef: t.taskRef, lastTaskState: 'failed', attempt: 1 }),
        );
        await store.commit({
          requests: [bump(s.request, { revision: 2 })],
          revisions: [bump(s.revision, { status: 'failed', endedAt: T0 + 5 }), revision2],
          taskRuns: runs2,
        });
        const revisions = await store.getRevisions(s.request.uuid);
        expect(revisions.map((r) => r.revision)).toEqual([1, 2]);
        expect(revisions[1]).toEqual(revision2);
        expect(await store.getTaskRuns(s.request.uuid, 1)).toEqual(s.taskRuns);
        expect(await store.getTaskRuns(s.request.uuid, 2)).toEqual(runs2);
        expect(await store.getTaskRuns(s.request.uuid, 3)).toEqual([]);
      });

      it('a revision save changes only its status, times and error', async () => {
        const s = makeSubmission({}, 0);
        await create(s);
        const outcome = {
          status: 'failed' as const,
          startedAt: T0 + 1,
          endedAt: T0 + 2,
          error: 'noop_01 failed',
        };
        const fixed = {
          reason: 'retry' as const,
          payload: { other: true },
          template: { other: 1 },
          warnings: [],
        };
        await store.commit({ revisions: [bump(s.revision, { ...outcome, ...fixed })] });
        expect(await store.getRevisions(s.request.uuid)).toEqual([bump(s.revision, outcome)]);
      });
    });

    describe('logs', () => {
      /** A request with `count` lines after its creation line, every third one of its first task. */
      async function withLogs(count: number): Promise<{ s: Submission; taskUuid: string; lines: LogLine[] }> {
        const s = makeSubmission({}, 2);
        await create(s);
        const taskUuid = s.taskRuns[0]!.uuid;
        const lines = Array.from({ length: count }, (_, i) => ({
          ...makeLog(s.request, `line ${i}`, i % 3 === 0 ? taskUuid : null),
          ts: T0 + i,
          level: i % 2 === 0 ? ('info' as const) : ('error' as const),
          source: i % 2 === 0 ? ('task' as const) : ('system' as const),
        }));
        for (let i = 0; i < lines.length; i += 4) await store.commit({ logs: lines.slice(i, i + 4) });
        return { s, taskUuid, lines };
      }

      it('reads lines appended by createRequest and commit in order, with increasing seq', async () => {
        const { s, lines } = await withLogs(10);
        const read = await store.readLogs(s.request.uuid);
        expect(read.map(({ seq: _seq, ...line }) => line)).toEqual([...s.logs, ...lines]);
        for (let i = 1; i < read.length; i += 1) expect(read[i]!.seq).toBeGreaterThan(read[i - 1]!.seq);
      });

      it('pages with afterSeq and limit without gaps or repeats', async () => {
        const { s } = await withLogs(10);
        const all = await store.readLogs(s.request.uuid);
        const paged = [];
        for (let afterSeq = 0; ;) {
          const page = await store.readLogs(s.request.uuid, { afterSeq, limit: 3 });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(3);
          paged.push(...page);
          afterSeq = page[page.length - 1]!.seq;
        }
        expect(paged).toEqual(all);
      });

      it('filters by task run', async () => {
        const { s, taskUuid, lines } = await withLogs(10);
        const read = await store.readLogs(s.request.uuid, { taskUuid });
        expect(read.map((l) => l.message)).toEqual(
          lines.filter((l) => l.taskUuid === taskUuid).map((l) => l.message),
        );
        const page = await store.readLogs(s.request.uuid, { taskUuid, afterSeq: read[0]!.seq, limit: 2 });
        expect(page).toEqual(read.slice(1, 3));
      });

      it('keeps each request’s lines in order when one change set interleaves several requests', async () => {
        const a = makeSubmission({}, 1);
        const b = makeSubmission({}, 1);
        await create(a);
        await create(b);
        const [taskA, taskB] = [a.taskRuns[0]!.uuid, b.taskRuns[0]!.uuid];
        const lines = Array.from({ length: 12 }, (_, i) => {
          const s = i % 2 === 0 ? a : b;
          const task = i % 4 < 2 ? null : s === a ? taskA : taskB;
          return { ...makeLog(s.request, `line ${i}`, task), ts: T0 + i };
        });
        await store.commit({ logs: lines });
        for (const [s, task] of [
          [a, taskA],
          [b, taskB],
        ] as const) {
          const mine = lines.filter((l) => l.requestUuid === s.request.uuid);
          const read = await store.readLogs(s.request.uuid);
          expect(read.map(({ seq: _seq, ...line }) => line)).toEqual([...s.logs, ...mine]);
          const byTask = await store.readLogs(s.request.uuid, { taskUuid: task });
          expect(byTask.map((l) => l.message)).toEqual(
            mine.filter((l) => l.taskUuid === task).map((l) => l.message),
          );
          expect(byTask.map((l) => l.seq)).toEqual(read.filter((l) => l.taskUuid === task).map((l) => l.seq));
        }
      });

      it('pages a long output of one task, written in one commit, from any seq', async () => {
        const s = makeSubmission({}, 1);
        await create(s);
        const task = s.taskRuns[0]!.uuid;
        const output = Array.from({ length: 250 }, (_, i) => ({
          ...makeLog(s.request, `out ${i}`, task),
          ts: T0 + i,
        }));
        await store.commit({ logs: [makeLog(s.request, 'before'), ...output, makeLog(s.request, 'after')] });
        const all = await store.readLogs(s.request.uuid);
        expect(all.map((l) => l.message)).toEqual([
          'request stored',
          'before',
          ...output.map((l) => l.message),
          'after',
        ]);
        const mine = await store.readLogs(s.request.uuid, { taskUuid: task });
        expect(mine).toEqual(all.filter((l) => l.taskUuid === task));
        for (const from of [0, 1, 2, 50, 99, 100, 101, 150, 240, 251]) {
          const afterSeq = from === 0 ? 0 : all[from - 1]!.seq;
          const expected = all.filter((l) => l.seq > afterSeq);
          expect(await store.readLogs(s.request.uuid, { afterSeq, limit: 7 })).toEqual(expected.slice(0, 7));
          expect(await store.readLogs(s.request.uuid, { taskUuid: task, afterSeq, limit: 7 })).toEqual(
            expected.filter((l) => l.taskUuid === task).slice(0, 7),
          );
        }
        expect(await store.readLogs(s.request.uuid, { afterSeq: all.at(-1)!.seq })).toEqual([]);
      });

      it('pages one task’s lines across commits from any seq, a page spanning several commits', async () => {
        const s = makeSubmission({}, 2);
        await create(s);
        const [task, other] = [s.taskRuns[0]!.uuid, s.taskRuns[1]!.uuid];
        for (let commit = 0; commit < 4; commit++) {
          const line = (n: number, owner: string | null) => ({
            ...makeLog(s.request, `commit ${commit} line ${n}`, owner),
            ts: T0 + commit,
          });
          const lines = [line(0, task), line(1, task), line(2, null), line(3, task), line(4, other)];
          await store.commit({ logs: commit === 2 ? lines.slice(0, 1) : lines });
        }
        await expectTaskLinePages(store, s.request.uuid, task, [1, 2, 5]);
      });

      it('pages a task’s lines written with its saves across commits, from any seq', async () => {
        const s = makeSubmission({}, 1);
        await create(s);
        let run = s.taskRuns[0]!;
        const task = run.uuid;
        for (let commit = 0; commit < 3; commit++) {
          run = bump(run, { state: 'running' });
          const line = (n: number, owner: string | null) =>
            makeLog(s.request, `commit ${commit} line ${n}`, owner);
          const logs = [line(0, null), line(1, task), line(2, task), line(3, null), line(4, task)];
          await store.commit({ taskRuns: [run], logs: commit === 1 ? logs.slice(0, 1) : logs });
        }
        expect(await expectTaskLinePages(store, s.request.uuid, task, [1, 2, 4])).toHaveLength(6);
      });

      it('keeps each request’s lines apart', async () => {
        const a = await withLogs(3);
        const b = await withLogs(3);
        expect(
          (await store.readLogs(a.s.request.uuid)).every((l) => l.requestUuid === a.s.request.uuid),
        ).toBe(true);
        expect(await store.readLogs(b.s.request.uuid)).toHaveLength(4);
      });

      it('reads a task run’s lines under its own request only', async () => {
        const a = await withLogs(4);
        const b = await withLogs(4);
        expect(await store.readLogs(a.s.request.uuid, { taskUuid: b.taskUuid })).toEqual([]);
        const mine = await store.readLogs(b.s.request.uuid, { taskUuid: b.taskUuid });
        expect(mine.map((l) => l.message)).toEqual(['line 0', 'line 3']);
        // Lines written with the run's save too.
        const c = makeSubmission({}, 1);
        await create(c);
        const run = bump(c.taskRuns[0]!, { state: 'running' });
        await store.commit({ taskRuns: [run], logs: [makeLog(c.request, 'of c', run.uuid)] });
        expect(await store.readLogs(a.s.request.uuid, { taskUuid: run.uuid })).toEqual([]);
        expect((await store.readLogs(c.request.uuid, { taskUuid: run.uuid })).map((l) => l.message)).toEqual([
          'of c',
        ]);
      });
    });

    describe('listRequests', () => {
      /** 13 requests, several sharing a createdAt, with statuses, templates and trace ids to filter on. */
      async function seed(): Promise<RequestRecord[]> {
        const requests: RequestRecord[] = [];
        for (let i = 0; i < 13; i += 1) {
          const s = makeSubmission(
            {
              createdAt: T0 + Math.floor(i / 3) * 1000, // ties of three: paging must not lose any
              status: i % 4 === 0 ? 'successful' : 'pending',
              templateRef: i % 2 === 0 ? 'even' : 'odd',
              traceId: i < 5 ? 'trace-early' : `trace-${i}`,
            },
            0,
          );
          requests.push(await create(s));
        }
        return requests;
      }

      /** Newest first, ties by uuid descending: the order every backend pages in. */
      function newestFirst(requests: RequestRecord[]): RequestRecord[] {
        return [...requests].sort((a, b) => b.createdAt - a.createdAt || (a.uuid < b.uuid ? 1 : -1));
      }

      /** Every page of a list, following cursors. */
      async function allPages(filter: Parameters<Store['listRequests']>[0], limit: number) {
        const items: RequestRecord[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await store.listRequests(filter, { limit, cursor });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          items.push(...page.items);
          cursor = page.nextCursor;
          pages += 1;
          expect(pages).toBeLessThan(100);
        } while (cursor !== null);
        return { items, pages };
      }

      it('lists newest first', async () => {
        const requests = await seed();
        const page = await store.listRequests({}, { limit: 100 });
        expect(page).toEqual({ items: newestFirst(requests), nextCursor: null });
        // No cursor, null and an empty one (as a query string `?cursor=` gives) all mean the first page.
        expect(await store.listRequests({}, { limit: 100, cursor: null })).toEqual(page);
        expect(await store.listRequests({}, { limit: 100, cursor: '' })).toEqual(page);
      });

      it('filters by status, template, ref and trace id, alone and combined', async () => {
        const requests = await seed();
        const expectList = async (
          filter: Parameters<Store['listRequests']>[0],
          keep: (r: RequestRecord) => boolean,
        ) => {
          const page = await store.listRequests(filter, { limit: 100 });
          expect(page.items).toEqual(newestFirst(requests.filter(keep)));
        };
        await expectList({ status: 'successful' }, (r) => r.status === 'successful');
        await expectList({ template: 'odd' }, (r) => r.templateRef === 'odd');
        await expectList({ ref: requests[4]!.ref }, (r) => r.ref === requests[4]!.ref);
        await expectList({ traceId: 'trace-early' }, (r) => r.traceId === 'trace-early');
        await expectList(
          { status: 'pending', template: 'even', traceId: 'trace-early' },
          (r) => r.status === 'pending' && r.templateRef === 'even' && r.traceId === 'trace-early',
        );
        await expectList({ ref: 'no-such-ref' }, () => false);
      });

      it('pages through every item with the cursor, without duplicates or gaps', async () => {
        const requests = await seed();
        for (const limit of [1, 2, 3, 4, 13, 20]) {
          const { items, pages } = await allPages({}, limit);
          expect(items).toEqual(newestFirst(requests));
          expect(pages).toBe(Math.max(1, Math.ceil(requests.length / limit)));
        }
      });

      it('pages through a filtered list', async () => {
        const requests = await seed();
        const { items } = await allPages({ status: 'pending' }, 2);
        expect(items).toEqual(newestFirst(requests.filter((r) => r.status === 'pending')));
      });

      it('lists a trace named by its first request’s uuid, with the requests that joined it', async () => {
        await seed();
        const uuid = randomUUID();
        const trace = uuid.replaceAll('-', '');
        const first = makeSubmission({ uuid, traceId: trace, createdAt: T0 + 1500, status: 'canceling' }, 0);
        const traced = [await create(first)];
        for (const [i, createdAt] of [T0 + 500, T0 + 1500, T0 + 1500, T0 + 2500].entries()) {
          const status = i % 2 === 0 ? 'successful' : 'pending';
          traced.push(await create(makeSubmission({ traceId: trace, createdAt, status }, 0)));
        }
        for (const limit of [1, 2, 3, 5, 10]) {
          expect((await allPages({ traceId: trace }, limit)).items).toEqual(newestFirst(traced));
        }
        // Walking the trace, or a smaller status index, with a filter on the other.
        for (const status of ['pending', 'canceling'] as const) {
          const mine = traced.filter((r) => r.status === status);
          expect((await allPages({ traceId: trace, status }, 1)).items).toEqual(newestFirst(mine));
        }
        // The uuid of a request in another trace names no trace of its own.
        const other = traced[1]!.uuid.replaceAll('-', '');
        expect(await store.listRequests({ traceId: other }, { limit: 10 })).toEqual({
          items: [],
          nextCursor: null,
        });
      });

      it('a cursor stays valid when newer requests arrive', async () => {
        const requests = await seed();
        const first = await store.listRequests({}, { limit: 5 });
        await create(makeSubmission({ createdAt: T0 + 99_000 }, 0));
        const rest = await allPages({}, 100);
        const second = await store.listRequests({}, { limit: 100, cursor: first.nextCursor });
        expect([...first.items, ...second.items]).toEqual(newestFirst(requests));
        expect(rest.items).toHaveLength(requests.length + 1);
      });

      it('refuses a cursor it did not make with bad_request', async () => {
        await seed();
        const error: unknown = await store
          .listRequests({}, { limit: 5, cursor: 'not a cursor' })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(O3Error);
        expect((error as O3Error).code).toBe('bad_request');
      });
    });

    describe('leases', () => {
      /** Creates one request per status given, in order, one second apart. */
      async function seedStatuses(statuses: RequestRecord['status'][], extra: Partial<RequestRecord> = {}) {
        const out: RequestRecord[] = [];
        for (const [i, status] of statuses.entries()) {
          out.push(await create(requestWithStatus(status, { createdAt: T0 + i * 1000, ...extra })));
        }
        return out;
      }

      it('claimRequests takes unowned unfinished requests with a lease, leaving version alone', async () => {
        const [pending, running, canceling] = await seedStatuses(['pending', 'running', 'canceling']);
        const claimed = await store.claimRequests('node-a', T0, 15_000, 10);
        const expected = [pending!, running!, canceling!].map((r) => ({
          ...r,
          owner: 'node-a',
          leaseExpiresAt: T0 + 15_000,
        }));
        expect(claimed).toEqual(expected);
        expect(await store.getRequest(pending!.uuid)).toEqual(expected[0]);
      });

      it('never claims ended or scheduled requests', async () => {
        await seedStatuses(['successful', 'failed', 'canceled']);
        await create(requestWithStatus('scheduled', { scheduledAt: T0 - 1000 }));
        expect(await store.claimRequests('node-a', T0, 15_000, 10)).toEqual([]);
      });

      it('claims oldest first across statuses, past pages of a hundred', async () => {
        // 150 running requests, with a pending and a canceling one among the oldest and the newest.
        const statuses = Array.from({ length: 154 }, (_, i): RequestRecord['status'] =>
          i === 3 || i === 152 ? 'pending' : i === 7 || i === 153 ? 'canceling' : 'running',
        );
        const requests = await seedStatuses(statuses);
        const first = await store.claimRequests('node-a', T0, 15_000, 120);
        expect(first.map((r) => r.uuid)).toEqual(requests.slice(0, 120).map((r) => r.uuid));
        const rest = await store.claimRequests('node-b', T0, 15_000, 100);
        expect(rest.map((r) => r.uuid)).toEqual(requests.slice(120).map((r) => r.uuid));
      });

      it('respects the limit, oldest first', async () => {
        const requests = await seedStatuses(['pending', 'pending', 'pending']);
        const claimed = await store.claimRequests('node-a', T0, 15_000, 2);
        expect(claimed.map((r) => r.uuid)).toEqual(requests.slice(0, 2).map((r) => r.uuid));
        expect(await store.claimRequests('node-a', T0, 15_000, 0)).toEqual([]);
      });

      it("does not take another node's live lease, takes it over once expired", async () => {
        const [request] = await seedStatuses(['running'], { owner: 'node-a', leaseExpiresAt: T0 + 15_000 });
        expect(await store.claimRequests('node-b', T0 + 14_999, 15_000, 10)).toEqual([]);
        const taken = await store.claimRequests('node-b', T0 + 15_000, 15_000, 10);
        expect(taken).toEqual([{ ...request!, owner: 'node-b', leaseExpiresAt: T0 + 30_000 }]);
        expect(await store.claimRequests('node-a', T0 + 15_001, 15_000, 10)).toEqual([]);
      });

      it('claims requests already its own again (a restarted node), extending the lease', async () => {
        await seedStatuses(['running'], { owner: 'node-a', leaseExpiresAt: T0 + 15_000 });
        const again = await store.claimRequests('node-a', T0 + 1000, 15_000, 10);
        expect(again.map((r) => r.leaseExpiresAt)).toEqual([T0 + 16_000]);
      });

      it('two nodes claiming at once take disjoint sets covering every request', async () => {
        const requests = await seedStatuses(Array.from({ length: 20 }, () => 'pending' as const));
        const [a, b] = await nodes(2);
        const [byA, byB] = await Promise.all([
          a!.claimRequests('node-a', T0, 15_000, 20),
          b!.claimRequests('node-b', T0, 15_000, 20),
        ]);
        const uuids = [...byA, ...byB].map((r) => r.uuid).sort();
        expect(uuids).toEqual(requests.map((r) => r.uuid).sort());
        for (const r of byA) expect((await store.getRequest(r.uuid))!.owner).toBe('node-a');
        for (const r of byB) expect((await store.getRequest(r.uuid))!.owner).toBe('node-b');
      });

      it('renewLeases extends and returns only the leases still held, without changing versions', async () => {
        const [taken, held, released] = await seedStatuses(['running', 'running', 'running']);
        await store.claimRequests('node-a', T0, 15_000, 10);
        // node-b takes over the oldest once node-a's leases ran out; node-a gives up the third.
        await store.claimRequests('node-b', T0 + 15_000, 15_000, 1);
        await store.releaseLease('node-a', released!.uuid);
        const uuids = [taken!.uuid, held!.uuid, released!.uuid];
        expect(await store.renewLeases('node-a', uuids, T0 + 16_000, 15_000)).toEqual([held!.uuid]);
        expect(await store.getRequest(held!.uuid)).toEqual({
          ...held!,
          owner: 'node-a',
          leaseExpiresAt: T0 + 31_000,
        });
        expect(await store.getRequest(taken!.uuid)).toMatchObject({
          owner: 'node-b',
          leaseExpiresAt: T0 + 30_000,
        });
        expect(await store.getRequest(released!.uuid)).toMatchObject({ owner: null, leaseExpiresAt: null });
        expect(await store.renewLeases('node-a', [], T0, 15_000)).toEqual([]);
      });

      it("renewing keeps the owner's own next save valid", async () => {
        const s = requestWithStatus('running');
        await create(s);
        await store.claimRequests('node-a', T0, 15_000, 10);
        await store.renewLeases('node-a', [s.request.uuid], T0 + 5000, 15_000);
        await store.commit({ requests: [bump(s.request, { status: 'successful' })] }, { owner: 'node-a' });
        expect((await store.getRequest(s.request.uuid))!.version).toBe(2);
      });

      it("releaseLease clears the owner only when it is this node's", async () => {
        const [request] = await seedStatuses(['running'], { owner: 'node-a', leaseExpiresAt: T0 + 15_000 });
        await store.releaseLease('node-b', request!.uuid);
        expect((await store.getRequest(request!.uuid))!.owner).toBe('node-a');
        await store.releaseLease('node-a', request!.uuid);
        expect(await store.getRequest(request!.uuid)).toEqual({
          ...request!,
          owner: null,
          leaseExpiresAt: null,
        });
        expect((await store.claimRequests('node-b', T0, 15_000, 10)).map((r) => r.uuid)).toEqual([
          request!.uuid,
        ]);
      });
    });

    describe('schedules', () => {
      /** A scheduled request due at `at`. */
      async function scheduled(at: number, extra: Partial<RequestRecord> = {}): Promise<RequestRecord> {
        return create(requestWithStatus('scheduled', { scheduledAt: at, ...extra }));
      }

      it('fires a schedule when due, once, as pending under the lease with a new version', async () => {
        const request = await scheduled(T0 + 60_000);
        expect(await store.claimDueSchedules('node-a', T0 + 59_999, 15_000, 10)).toEqual([]);
        const fired = await store.claimDueSchedules('node-a', T0 + 60_000, 15_000, 10);
        expect(fired).toHaveLength(1);
        expect(fired[0]).toMatchObject({
          uuid: request.uuid,
          status: 'pending',
          owner: 'node-a',
          leaseExpiresAt: T0 + 75_000,
          version: 2,
        });
        expect(await store.getRequest(request.uuid)).toEqual(fired[0]);
        expect(await store.claimDueSchedules('node-a', T0 + 90_000, 15_000, 10)).toEqual([]);
        expect(await store.claimDueSchedules('node-b', T0 + 90_000, 15_000, 10)).toEqual([]);
      });

      it('fires each due schedule exactly once when several nodes ask at once', async () => {
        const due = [];
        for (let i = 0; i < 10; i += 1) due.push(await scheduled(T0 + i));
        await scheduled(T0 + 10_000); // not due
        const stores = await nodes(3);
        const fired = (
          await Promise.all(
            stores.flatMap((node, n) => [
              node.claimDueSchedules(`node-${n}`, T0 + 100, 15_000, 4),
              node.claimDueSchedules(`node-${n}`, T0 + 100, 15_000, 4),
            ]),
          )
        ).flat();
        expect(fired.map((r) => r.uuid).sort()).toEqual(due.map((r) => r.uuid).sort());
      });

      it('respects the limit, earliest due first', async () => {
        const late = await scheduled(T0 - 1);
        const early = await scheduled(T0 - 5);
        expect((await store.claimDueSchedules('node-a', T0, 15_000, 1)).map((r) => r.uuid)).toEqual([
          early.uuid,
        ]);
        expect((await store.claimDueSchedules('node-a', T0, 15_000, 1)).map((r) => r.uuid)).toEqual([
          late.uuid,
        ]);
      });

      it("leaves a schedule held under another node's live lease to that node", async () => {
        const request = await scheduled(T0, { owner: 'node-a', leaseExpiresAt: T0 + 15_000 });
        expect(await store.claimDueSchedules('node-b', T0 + 1, 15_000, 10)).toEqual([]);
        const fired = await store.claimDueSchedules('node-b', T0 + 15_000, 15_000, 10);
        expect(fired.map((r) => [r.uuid, r.owner])).toEqual([[request.uuid, 'node-b']]);
      });

      it('a fired schedule is then an ordinary pending request of its node', async () => {
        const request = await scheduled(T0);
        await store.claimDueSchedules('node-a', T0, 15_000, 10);
        expect(await store.claimRequests('node-b', T0 + 1, 15_000, 10)).toEqual([]);
        expect((await store.claimRequests('node-b', T0 + 15_000, 15_000, 10)).map((r) => r.uuid)).toEqual([
          request.uuid,
        ]);
      });

      it('nextScheduledAt is the earliest waiting schedule, or null', async () => {
        expect(await store.nextScheduledAt()).toBeNull();
        await create(requestWithStatus('pending', { scheduledAt: T0 - 99 })); // not waiting: ignored
        await scheduled(T0 + 500);
        await scheduled(T0 + 200);
        expect(await store.nextScheduledAt()).toBe(T0 + 200);
        await store.claimDueSchedules('node-a', T0 + 300, 15_000, 10);
        expect(await store.nextScheduledAt()).toBe(T0 + 500);
        await store.claimDueSchedules('node-a', T0 + 500, 15_000, 10);
        expect(await store.nextScheduledAt()).toBeNull();
      });
    });

    describe('batched creates and lease releases', () => {
      it('createRequests creates each request in order, answers a taken ref, and creates a repeated ref once', async () => {
        const taken = makeSubmission({ ref: 'taken' }, 1);
        await create(taken);
        const a = makeSubmission({}, 2);
        const b = makeSubmission({ ref: 'taken' }, 1);
        const c = makeSubmission({ ref: 'twice' }, 1);
        const d = makeSubmission({ ref: 'twice' }, 1);
        expect(await store.createRequests([a, b, c, d])).toEqual([
          { created: true, request: a.request },
          { created: false, request: taken.request },
          { created: true, request: c.request },
          { created: false, request: c.request },
        ]);
        expect(await store.getTaskRuns(a.request.uuid, 1)).toEqual(a.taskRuns);
        expect(await store.getRevisions(c.request.uuid)).toEqual([c.revision]);
        expect(await store.readLogs(c.request.uuid)).toHaveLength(1);
        expect(await store.getRequest(b.request.uuid)).toBeUndefined();
        expect(await store.getRequest(d.request.uuid)).toBeUndefined();
        expect(await store.createRequests([])).toEqual([]);
      });

      it('createRequests writes nothing of the batch when one item is refused', async () => {
        const first = makeSubmission({}, 1);
        await create(first);
        const good = makeSubmission({}, 1);
        const clash = makeSubmission({ uuid: first.request.uuid, ref: 'another-ref' }, 1);
        await expect(store.createRequests([good, clash])).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getRequest(good.request.uuid)).toBeUndefined();
        expect(await store.getTaskRuns(good.request.uuid, 1)).toEqual([]);
        expect(await store.readLogs(good.request.uuid)).toEqual([]);
      });

      it("a commit's releases give up the committing node's leases with its writes, leaving others' alone", async () => {
        const mine = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 1000 }, 1);
        const theirs = makeSubmission({ owner: 'node-b', leaseExpiresAt: T0 + 1000 }, 1);
        await create(mine);
        await create(theirs);
        const ended = bump(mine.request, { status: 'successful', endedAt: T0 + 1 });
        await store.commit(
          { requests: [ended], releases: [mine.request.uuid, theirs.request.uuid] },
          { owner: 'node-a' },
        );
        expect(await store.getRequest(mine.request.uuid)).toEqual({
          ...ended,
          owner: null,
          leaseExpiresAt: null,
        });
        expect(await store.getRequest(theirs.request.uuid)).toEqual(theirs.request);
      });

      it('a refused commit releases nothing', async () => {
        const s = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 1000 }, 1);
        await create(s);
        const skipping = { ...s.taskRuns[0]!, version: 3 };
        await expect(
          store.commit({ taskRuns: [skipping], releases: [s.request.uuid] }, { owner: 'node-a' }),
        ).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
      });
    });

    describe('templates', () => {
      it('listTemplates of a fresh store is empty', async () => {
        expect(await store.listTemplates()).toEqual([]);
      });

      it('saveTemplate stores a new template, which listTemplates reads back equal', async () => {
        const record = makeTemplateRecord('saved_template', 1);
        expect(await store.saveTemplate(record)).toEqual({ saved: true });
        expect(await store.listTemplates()).toEqual([record]);
      });

      it('a second save of one ref+version returns saved:false with the stored record, whatever its document', async () => {
        const first = makeTemplateRecord('repeated_template', 2);
        await store.saveTemplate(first);
        expect(await store.saveTemplate({ ...first, createdAt: T0 + 1 })).toEqual({
          saved: false,
          existing: first,
        });
        const other = makeTemplateRecord('repeated_template', 2, { document: { changed: true } });
        expect(await store.saveTemplate(other)).toEqual({ saved: false, existing: first });
        expect(await store.listTemplates()).toEqual([first]);
      });

      it('keeps versions of one ref and one version of several refs apart', async () => {
        const records = [
          makeTemplateRecord('a_template', 1),
          makeTemplateRecord('a_template', 2, { document: { version: 2 } }),
          makeTemplateRecord('b_template', 1, { document: { ref: 'b' } }),
        ];
        for (const record of records) expect((await store.saveTemplate(record)).saved).toBe(true);
        expect(await store.listTemplates()).toEqual(records);
      });

      it('concurrent saves of one ref+version on several nodes store exactly one', async () => {
        const stores = await nodes(4);
        const records = Array.from({ length: 12 }, (_, i) =>
          makeTemplateRecord('raced_template', 1, { document: { attempt: i }, createdAt: T0 + i }),
        );
        const results = await Promise.all(records.map((r, i) => stores[i % stores.length]!.saveTemplate(r)));
        const winners = records.filter((_, i) => results[i]!.saved);
        expect(winners).toHaveLength(1);
        for (const result of results) if (!result.saved) expect(result.existing).toEqual(winners[0]);
        expect(await store.listTemplates()).toEqual(winners);
      });

      it('lists by refName in code-unit order, then by version as a number', async () => {
        const keys: [string, number][] = [
          ['b', 10],
          ['a_b', 1],
          ['B', 1],
          ['b', 2],
          ['a', 3],
          ['é', 1],
          ['b', 1],
        ];
        for (const [ref, version] of keys) await store.saveTemplate(makeTemplateRecord(ref, version));
        const listed = (await store.listTemplates()).map((t) => [t.refName, t.version]);
        expect(listed).toEqual([
          ['B', 1],
          ['a', 3],
          ['a_b', 1],
          ['b', 1],
          ['b', 2],
          ['b', 10],
          ['é', 1],
        ]);
      });
    });

    describe('lists, claims and schedules follow every save', () => {
      /** The uuids a filter lists. */
      async function listed(filter: Parameters<Store['listRequests']>[0]): Promise<string[]> {
        return (await store.listRequests(filter, { limit: 100 })).items.map((r) => r.uuid);
      }

      it('a status change by commit moves the request between status filters and in and out of claims', async () => {
        const s = requestWithStatus('pending');
        await create(s);
        const ended = bump(s.request, { status: 'successful', endedAt: T0 + 1 });
        await store.commit({ requests: [ended] });
        expect(await listed({ status: 'pending' })).toEqual([]);
        expect((await store.listRequests({ status: 'successful' }, { limit: 10 })).items).toEqual([ended]);
        expect(await store.claimRequests('node-a', T0, 15_000, 10)).toEqual([]);
        await store.commit({ requests: [bump(ended, { status: 'pending', endedAt: null })] });
        expect(await listed({ status: 'successful' })).toEqual([]);
        expect(await listed({ status: 'pending' })).toEqual([s.request.uuid]);
        expect((await store.claimRequests('node-a', T0, 15_000, 10)).map((r) => r.uuid)).toEqual([
          s.request.uuid,
        ]);
      });

      it('a save that changes template or trace id moves the request between those filters', async () => {
        const s = requestWithStatus('pending', { templateRef: 'old-template', traceId: 'old-trace' });
        await create(s);
        await store.commit({
          requests: [bump(s.request, { templateRef: 'new-template', traceId: 'new-trace' })],
        });
        expect(await listed({ template: 'old-template' })).toEqual([]);
        expect(await listed({ traceId: 'old-trace' })).toEqual([]);
        expect(await listed({ template: 'new-template', traceId: 'new-trace' })).toEqual([s.request.uuid]);
      });

      it('a fired schedule is listed as pending, no longer as scheduled', async () => {
        await create(requestWithStatus('scheduled', { scheduledAt: T0 }));
        const [fired] = await store.claimDueSchedules('node-a', T0, 15_000, 10);
        expect(await listed({ status: 'scheduled' })).toEqual([]);
        expect((await store.listRequests({ status: 'pending' }, { limit: 10 })).items).toEqual([fired]);
      });

      it('a schedule moved or canceled by a save fires at its new time, or never', async () => {
        const moved = requestWithStatus('scheduled', { scheduledAt: T0 + 100 });
        const canceled = requestWithStatus('scheduled', { scheduledAt: T0 + 200 });
        await create(moved);
        await create(canceled);
        await store.commit({
          requests: [
            bump(moved.request, { scheduledAt: T0 + 500 }),
            bump(canceled.request, { status: 'canceled', endedAt: T0 }),
          ],
        });
        expect(await store.nextScheduledAt()).toBe(T0 + 500);
        expect(await store.claimDueSchedules('node-a', T0 + 499, 15_000, 10)).toEqual([]);
        const fired = await store.claimDueSchedules('node-a', T0 + 500, 15_000, 10);
        expect(fired.map((r) => r.uuid)).toEqual([moved.request.uuid]);
        expect(await store.nextScheduledAt()).toBeNull();
      });
    });
  });
}
