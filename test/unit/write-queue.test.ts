import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StaleWriteError, StoreUnavailableError } from '../../src/errors.js';
import { CreateBatcher } from '../../src/engine/create-batcher.js';
import { WriteQueue, splitEvenly } from '../../src/engine/write-queue.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/store.js';
import { makeLog, makeSubmission } from '../contract/fixtures.js';
import { storeWith } from '../helpers/store-with.js';

/** A store whose first commit with log lines fails with a dropped connection, after or before it is applied. */
function droppingFirstLogCommit(store: Store, applied: boolean): Store {
  let dropped = false;
  const commit: Store['commit'] = async (changes, options) => {
    const drop = !dropped && (changes.logs?.length ?? 0) > 0;
    dropped ||= drop;
    if (!drop || applied) await store.commit(changes, options);
    if (drop) throw new StoreUnavailableError('the connection dropped');
  };
  return storeWith(store, { commit });
}

describe('WriteQueue', () => {
  it('reports a stale write as lost instead of rejecting, and keeps committing other requests', async () => {
    const store = await createStore('sqlite::memory:');
    const mine = makeSubmission({ owner: 'me' });
    const theirs = makeSubmission({ owner: 'someone-else' });
    for (const s of [mine, theirs]) await store.createRequest(s.request, s.revision, s.taskRuns);
    const lost: string[] = [];
    const queue = new WriteQueue(
      store,
      'me',
      pino({ level: 'silent' }),
      undefined,
      undefined,
      (uuids, error) => {
        expect(error).toBeInstanceOf(StaleWriteError);
        lost.push(...uuids);
      },
    );
    let settled = false;
    void queue.saveRequest({ ...theirs.request, status: 'running' }).finally(() => (settled = true));
    await queue.saveRequest({ ...mine.request, status: 'running' });
    await queue.drain();
    expect(lost).toEqual([theirs.request.uuid]);
    expect(settled).toBe(false);
    expect((await store.getRequest(mine.request.uuid))?.status).toBe('running');
    expect((await store.getRequest(theirs.request.uuid))?.status).toBe(theirs.request.status);
    await store.close();
  });

  it.each([
    ['after', true],
    ['before', false],
  ])(
    'writes a logs-only batch once when the connection drops %s the store applied it',
    async (_when, applied) => {
      const store = await createStore('sqlite::memory:');
      const s = makeSubmission({ owner: 'me' });
      await store.createRequest(s.request, s.revision, s.taskRuns);
      const lost: unknown[] = [];
      const queue = new WriteQueue(
        droppingFirstLogCommit(store, applied),
        'me',
        pino({ level: 'silent' }),
        undefined,
        undefined,
        (_uuids, error) => lost.push(error),
      );
      const lines = [makeLog(s.request, 'first\u0000line'), makeLog(s.request, 'second line')];
      for (const line of lines) queue.appendLog(line);
      await queue.drain();
      const stored = await store.readLogs(s.request.uuid);
      expect(stored.map((line) => line.message)).toEqual(lines.map((line) => line.message));
      expect(lost).toEqual([]);
      await store.close();
    },
  );

  it('splits a turn into Store.concurrentWrites commits of disjoint requests, each request whole', async () => {
    const sqlite = await createStore('sqlite::memory:');
    const submissions = Array.from({ length: 20 }, () => makeSubmission({ owner: 'me' }, 1));
    for (const s of submissions) await sqlite.createRequest(s.request, s.revision, s.taskRuns);
    const commits: string[][] = [];
    const store = storeWith(sqlite, {
      concurrentWrites: 2,
      commit: async (changes, options) => {
        commits.push([...new Set((changes.logs ?? []).map((l) => l.requestUuid))]);
        await sqlite.commit(changes, options);
      },
    });
    const queue = new WriteQueue(store, 'me', pino({ level: 'silent' }));
    const saved = submissions.map((s) => {
      queue.appendLog(makeLog(s.request, 'one'));
      const run = queue.saveTaskRun({ ...s.taskRuns[0]!, state: 'running' });
      queue.appendLog(makeLog(s.request, 'two'));
      return run;
    });
    await Promise.all(saved);
    await queue.drain();
    expect(commits).toHaveLength(2);
    expect(new Set(commits.flat()).size).toBe(20);
    expect(commits[0]!.filter((uuid) => commits[1]!.includes(uuid))).toEqual([]);
    for (const s of submissions) {
      expect((await sqlite.getTaskRuns(s.request.uuid, 1))[0]?.state).toBe('running');
      expect((await sqlite.readLogs(s.request.uuid)).map((l) => l.message)).toEqual(['one', 'two']);
    }
    await sqlite.close();
  });

  it('creates a turn of requests in Store.concurrentWrites calls, each caller answered', async () => {
    const sqlite = await createStore('sqlite::memory:');
    const calls: number[] = [];
    const store = storeWith(sqlite, {
      concurrentWrites: 2,
      createRequests: async (items) => {
        calls.push(items.length);
        return sqlite.createRequests(items);
      },
    });
    const batcher = new CreateBatcher(store);
    const submissions = Array.from({ length: 20 }, () => makeSubmission({}, 1));
    const results = await Promise.all(
      submissions.map((s) =>
        batcher.create({ request: s.request, revision: s.revision, taskRuns: s.taskRuns }),
      ),
    );
    expect(calls).toEqual([10, 10]);
    expect(results.map((r) => r.request.uuid)).toEqual(submissions.map((s) => s.request.uuid));
    expect(results.every((r) => r.created)).toBe(true);
    await sqlite.close();
  });

  it('keeps each commit and create call within Store.maxRequestsPerWrite requests', async () => {
    const sqlite = await createStore('sqlite::memory:');
    const commits: string[][] = [];
    const creates: number[] = [];
    const store = storeWith(sqlite, {
      concurrentWrites: 1,
      maxRequestsPerWrite: 4,
      commit: async (changes, options) => {
        commits.push([...new Set((changes.taskRuns ?? []).map((r) => r.requestUuid))]);
        await sqlite.commit(changes, options);
      },
      createRequests: async (items) => {
        creates.push(items.length);
        return sqlite.createRequests(items);
      },
    });
    const submissions = Array.from({ length: 10 }, () => makeSubmission({ owner: 'me' }, 1));
    const batcher = new CreateBatcher(store);
    const created = await Promise.all(
      submissions.map((s) =>
        batcher.create({ request: s.request, revision: s.revision, taskRuns: s.taskRuns }),
      ),
    );
    expect(creates).toEqual([4, 4, 2]);
    expect(created.every((r) => r.created)).toBe(true);
    const queue = new WriteQueue(store, 'me', pino({ level: 'silent' }));
    await Promise.all(submissions.map((s) => queue.saveTaskRun({ ...s.taskRuns[0]!, state: 'running' })));
    expect(commits.map((uuids) => uuids.length)).toEqual([4, 4, 2]);
    expect(new Set(commits.flat()).size).toBe(10);
    for (const s of submissions) {
      expect((await sqlite.getTaskRuns(s.request.uuid, 1))[0]?.state).toBe('running');
    }
    await sqlite.close();
  });

  it('splits evenly, and not at all below 8 items a part', () => {
    expect(splitEvenly([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 2)).toEqual([
      [1, 2, 3, 4, 5, 6, 7, 8],
      [9, 10, 11, 12, 13, 14, 15, 16],
    ]);
    expect(splitEvenly([1, 2, 3, 4, 5], 2)).toEqual([[1, 2, 3, 4, 5]]);
    expect(splitEvenly([1, 2, 3], 1)).toEqual([[1, 2, 3]]);
  });

  it('splits into runs of at most maxRun, however few items a part', () => {
    expect(splitEvenly([1, 2, 3, 4, 5], 1, 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(splitEvenly([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], 2, 6)).toEqual([
      [1, 2, 3, 4, 5, 6],
      [7, 8, 9, 10, 11, 12],
      [13, 14, 15, 16, 17],
    ]);
    expect(splitEvenly([1, 2, 3], 1, 3)).toEqual([[1, 2, 3]]);
  });
});
