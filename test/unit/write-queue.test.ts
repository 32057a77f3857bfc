import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StaleWriteError } from '../../src/errors.js';
import { WriteQueue } from '../../src/engine/write-queue.js';
import { createStore } from '../../src/store/create-store.js';
import { makeSubmission } from '../contract/fixtures.js';

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
});
