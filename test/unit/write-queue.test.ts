import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StaleWriteError, StoreUnavailableError } from '../../src/errors.js';
import { WriteQueue } from '../../src/engine/write-queue.js';
import { createStore } from '../../src/store/create-store.js';
import type { Store } from '../../src/store/store.js';
import { makeLog, makeSubmission } from '../contract/fixtures.js';

/** A store whose first commit with log lines fails with a dropped connection, after or before it is applied. */
function droppingFirstLogCommit(store: Store, applied: boolean): Store {
  let dropped = false;
  const commit: Store['commit'] = async (changes, options) => {
    const drop = !dropped && (changes.logs?.length ?? 0) > 0;
    dropped ||= drop;
    if (!drop || applied) await store.commit(changes, options);
    if (drop) throw new StoreUnavailableError('the connection dropped');
  };
  return new Proxy(store, {
    get: (target, key) => {
      if (key === 'commit') return commit;
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
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
});
