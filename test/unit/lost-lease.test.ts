import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/create-store.js';
import { startFixtureServer, taskOf, waitFor } from '../helpers/test-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'o3-lost-lease-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a node that lost a request to another owner', () => {
  it('drops it without crashing or overwriting the new owner, and a cancel through it is handed to the store', async () => {
    const url = `sqlite:${path.join(dir, 'o3.db')}`;
    const server = await startFixtureServer({ store: url });
    const payload = {
      workflow: {
        meta: { ref: 'stolen', template: 'single' },
        vars: { workflow: { input: { delay_ms: 60_000 } } },
      },
    };
    const { uuid } = (
      await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload })
    ).json();
    await waitFor(async () => {
      const detail = (await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` })).json();
      return taskOf(detail, 'only').state === 'running' ? true : undefined;
    });
    // Another node takes the request over (as after a partition longer than the lease).
    const thief = await createStore(url);
    const now = Date.now();
    await thief.releaseLease('test-node', uuid);
    const [claimed] = await thief.claimRequests('other-node', now, 60_000, 10);
    expect(claimed?.uuid).toBe(uuid);

    const canceled = await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
    expect(canceled.statusCode).toBe(202);
    await waitFor(() => (server.engine.isFollowing(uuid) ? undefined : true));
    const stored = await thief.getRequest(uuid);
    expect(stored?.owner).toBe('other-node');
    expect(stored?.status).toBe('canceling');
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await thief.close();
    await server.close();
  });
});
