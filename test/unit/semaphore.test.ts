import { describe, expect, it } from 'vitest';
import { Semaphore } from '../../src/engine/semaphore.js';
import { startTestServer, waitForEnd } from '../helpers/test-server.js';

describe('the task slots', () => {
  it('hand a released slot to the longest waiter on a later turn, never to a newcomer', async () => {
    const slots = new Semaphore(1);
    expect(slots.tryAcquire()).toBe(true);
    const order: string[] = [];
    void slots.acquire().then(() => order.push('first'));
    void slots.acquire().then(() => order.push('second'));
    slots.release();
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([]); // not within this turn
    expect(slots.tryAcquire()).toBe(false); // reserved for the waiter
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['first']);
    slots.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['first', 'second']);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
  });

  it('store the ends of a wide request in several commits, not all at once in memory', async () => {
    const server = await startTestServer({ env: { O3_MAX_CONCURRENT_TASKS: '5' } });
    try {
      const tasks = Array.from({ length: 60 }, (_, i) => ({
        name: `t${i}`,
        ref_name: `t${i}`,
        class: 'noop',
        input: { runtime_delay: 0 },
      }));
      const template = { name: 'wide', ref_name: 'wide_test', schema_version: 1, tasks };
      const registered = await server.app.inject({
        method: 'POST',
        url: '/api/v1/templates',
        payload: template,
      });
      expect(registered.statusCode, registered.body).toBe(201);
      const endedPerCommit: number[] = [];
      server.engine.events.on('committed', (changes) => {
        const ended = changes.taskRuns.filter((run) => run.state === 'successful').length;
        if (ended > 0) endedPerCommit.push(ended);
      });
      const submitted = await server.app.inject({
        method: 'POST',
        url: '/api/v1/workflow/submit',
        payload: { workflow: { meta: { ref: 'wide-1', template: 'wide_test' } } },
      });
      expect(submitted.statusCode, submitted.body).toBe(201);
      expect((await waitForEnd(server, submitted.json().uuid)).status).toBe('successful');
      expect(endedPerCommit.reduce((a, b) => a + b, 0)).toBe(60);
      // Tasks that end at once free their slots at once; the next five start a turn later, after
      // the commit of the ended ones was queued, so no commit carries much more than a slot-full.
      expect(Math.max(...endedPerCommit)).toBeLessThanOrEqual(10);
    } finally {
      await server.close();
    }
  });
});
