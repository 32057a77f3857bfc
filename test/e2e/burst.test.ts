/**
 * A burst of requests submitted in one event-loop turn, through the engine's own submit path, on
 * each store: every request runs to its end once, with its whole log, and no store write carries
 * more requests than the store takes at once (Store.maxRequestsPerWrite).
 */
import { describe, expect, it } from 'vitest';
import { benchEngine, freshStoreUrl, noopTemplate, whenEnded } from '../../bench/harness.js';
import type { ChangeSet, Store } from '../../src/store/store.js';
import { storeWith } from '../helpers/store-with.js';

const BURST = 400;

/** The store, recording how many requests each create call and each commit carries. */
function watched(store: Store, creates: number[], commits: number[]): Store {
  return storeWith(store, {
    createRequests: (items) => {
      creates.push(items.length);
      return store.createRequests(items);
    },
    commit: (changes, options) => {
      commits.push(requestsOf(changes));
      return store.commit(changes, options);
    },
  });
}

function requestsOf(changes: ChangeSet): number {
  const uuids = new Set((changes.requests ?? []).map((r) => r.uuid));
  for (const run of changes.taskRuns ?? []) uuids.add(run.requestUuid);
  for (const line of changes.logs ?? []) uuids.add(line.requestUuid);
  return uuids.size;
}

describe.each(['sqlite', 'postgres', 'redis'])('a burst of requests in one turn on %s', (kind) => {
  it(`runs all ${BURST} to their end, each write within the store's bound`, async () => {
    const creates: number[] = [];
    const commits: number[] = [];
    const h = await benchEngine(freshStoreUrl(kind), [noopTemplate('single', 1, () => [])], 50, (store) =>
      watched(store, creates, commits),
    );
    try {
      const ended = whenEnded(h.engine, BURST);
      const submitted = await Promise.all(Array.from({ length: BURST }, () => h.submit('single')));
      await ended;
      const bound = h.store.maxRequestsPerWrite;
      expect(creates.reduce((a, b) => a + b, 0)).toBe(BURST);
      // One turn's submits: as few create calls as the store's overlap and bound allow.
      expect(creates).toHaveLength(Math.max(h.store.concurrentWrites, Math.ceil(BURST / bound)));
      expect(Math.max(...creates, ...commits)).toBeLessThanOrEqual(bound);
      for (const { request } of submitted) {
        expect((await h.store.getRequest(request.uuid))?.status).toBe('successful');
        const log = (await h.store.readLogs(request.uuid)).map((line) => line.message);
        expect(log[0]).toMatch(/^request submitted/);
        expect(log.at(-1)).toBe('request ended successful');
        expect(log).toHaveLength(5);
      }
    } finally {
      await h.close();
    }
  }, 60_000);
});
