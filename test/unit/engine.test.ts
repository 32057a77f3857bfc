import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { calls } from '../fixtures/tasks/scripted.js';
import { waitFor, waitForEnd, type TestServer, startFixtureServer, taskOf } from '../helpers/test-server.js';

function request(template: string, input: Record<string, unknown>, ref = `ref-${Math.random()}`) {
  return {
    workflow: { meta: { ref, template }, vars: { workflow: { input } } },
    schema_version: 2,
  };
}

describe('the engine', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startFixtureServer();
  });
  afterEach(async () => {
    await server.close();
  });

  async function submit(body: object) {
    const response = await server.app.inject({
      method: 'POST',
      url: '/api/v1/workflow/submit',
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().uuid as string;
  }

  it('runs a diamond, passing outputs (typed and interpolated) to dependents', async () => {
    const detail = await waitForEnd(server, await submit(request('scripted_diamond', {})));
    expect(detail.status).toBe('successful');
    const d = taskOf(detail, 'd');
    expect(d.inputs.c_note).toBe('c done');
    expect(d.inputs.message).toBe('a gave 7');
    expect(taskOf(detail, 'b').inputs.from_a).toBe(7);
    expect(Date.parse(d.started_at)).toBeGreaterThanOrEqual(Date.parse(taskOf(detail, 'b').ended_at));
  });

  it('ends successful when only an optional task fails, and its output resolves to null', async () => {
    const detail = await waitForEnd(
      server,
      await submit(request('scripted_diamond', { outcome_c: 'failed' })),
    );
    expect(detail.status).toBe('successful');
    expect(taskOf(detail, 'c').state).toBe('failed');
    expect(taskOf(detail, 'd').inputs.c_note).toBeNull();
  });

  it('fails fast: a failed task stops new starts, running ones are followed to their end, the rest is skipped', async () => {
    const detail = await waitForEnd(
      server,
      await submit(request('scripted_diamond', { outcome_b: 'failed' })),
    );
    expect(detail.status).toBe('failed');
    expect(detail.error).toContain('task b ended failed');
    expect(taskOf(detail, 'c').state).toBe('successful');
    expect(taskOf(detail, 'd').state).toBe('skipped');
  });

  it('records an exception thrown by run with its message, and the stack in the task log', async () => {
    const uuid = await submit(request('single', { outcome: 'exception' }));
    const detail = await waitForEnd(server, uuid);
    expect(detail.status).toBe('failed');
    const only = taskOf(detail, 'only');
    expect(only.state).toBe('exception');
    expect(only.error).toBe('run() threw: run exploded');
    expect(only.attempt).toBe(2);
    const logs = (
      await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}/logs?task=only` })
    ).json();
    expect(logs.lines.some((l: { message: string }) => l.message.includes('at Scripted.run'))).toBe(true);
  });

  it('retries a ping that throws, then goes on', async () => {
    const detail = await waitForEnd(server, await submit(request('single', { ping_failures: 2 })));
    expect(detail.status).toBe('successful');
    expect(calls.get(taskOf(detail, 'only').uuid)?.filter((c) => c === 'ping').length).toBeGreaterThanOrEqual(
      3,
    );
  }, 20_000);

  it('re-runs a failed task as a new instance up to retry.max_attempts, keeping its state attributes', async () => {
    const detail = await waitForEnd(server, await submit(request('single', { outcome: 'failed' })));
    const only = taskOf(detail, 'only');
    expect(only.state).toBe('failed');
    expect(only.attempt).toBe(2);
    expect(only.last_task_state).toBe('failed');
    expect(calls.get(only.uuid)?.filter((c) => c === 'run')).toHaveLength(2);
  });

  it('times a task out: cancel() is called and the task ends timeout', async () => {
    const detail = await waitForEnd(server, await submit(request('single', { hang: true })), 10_000);
    const only = taskOf(detail, 'only');
    expect(only.state).toBe('timeout');
    expect(only.error).toContain('timed out after 2 s');
    expect(calls.get(only.uuid)).toContain('cancel');
    expect(detail.status).toBe('failed');
  });

  it('cancels a running request: the task is canceled through cancel(), a second cancel is a 409', async () => {
    const uuid = await submit(request('single', { delay_ms: 60_000 }));
    await waitFor(async () => {
      const d = (await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` })).json();
      return taskOf(d, 'only').state === 'running' ? true : undefined;
    });
    const canceled = await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
    expect(canceled.statusCode).toBe(202);
    const detail = await waitForEnd(server, uuid);
    expect(detail.status).toBe('canceled');
    expect(taskOf(detail, 'only').state).toBe('canceled');
    expect(calls.get(taskOf(detail, 'only').uuid)).toContain('cancel');
    const again = await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
    expect(again.statusCode).toBe(409);
  });

  it('masks a secret input in task logs and API answers, also inside longer text', async () => {
    const secret = 'canary-7f3a9c2e-secret';
    const uuid = await submit(request('single', { secret_token: secret }));
    await waitForEnd(server, uuid);
    const detail = await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` });
    const logs = await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}/logs` });
    expect(detail.body).not.toContain(secret);
    expect(logs.body).not.toContain(secret);
    expect(logs.body).toContain('using token ***');
    expect(detail.json().tasks[0].inputs.secret_token).toBe('***');
  });

  it('bounds running tasks by O3_MAX_CONCURRENT_TASKS, and a cancel frees the slots of tasks that waited for one', async () => {
    const limited = await startFixtureServer({
      env: { O3_MAX_CONCURRENT_TASKS: '1' },
    });
    try {
      const submitTo = async (body: object) =>
        (await limited.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload: body })).json()
          .uuid as string;
      const first = await submitTo(request('single', { delay_ms: 60_000 }));
      const second = await submitTo(request('single', { delay_ms: 60_000 }));
      const state = async (uuid: string) =>
        taskOf((await limited.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` })).json(), 'only')
          .state;
      await waitFor(async () => ((await state(first)) === 'running' ? true : undefined));
      // Stored `created` with the request (a root task), but no slot: not run.
      expect(await state(second)).toBe('created');
      const secondRun = (
        await limited.app.inject({ method: 'GET', url: `/api/v1/workflow/${second}` })
      ).json();
      expect(calls.get(taskOf(secondRun, 'only').uuid)).toBeUndefined();
      for (const uuid of [second, first])
        await limited.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
      expect((await waitForEnd(limited, second)).status).toBe('canceled');
      expect((await waitForEnd(limited, first)).status).toBe('canceled');
      const third = await waitForEnd(limited, await submitTo(request('single', {})));
      expect(third.status).toBe('successful');
    } finally {
      await limited.close();
    }
  });

  it('cancels a scheduled request before it starts: every task canceled, nothing run', async () => {
    const body = request('single', {});
    (body.workflow as any).schedule = { when: 'at', start: new Date(Date.now() + 60_000).toISOString() };
    const uuid = await submit(body);
    const canceled = await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
    expect(canceled.statusCode).toBe(202);
    const detail = await waitForEnd(server, uuid);
    expect(detail.status).toBe('canceled');
    expect(taskOf(detail, 'only').state).toBe('canceled');
    expect(calls.get(taskOf(detail, 'only').uuid)).toBeUndefined();
  });

  it('persists what checkpoint() is given before the method returns', async () => {
    const uuid = await submit(request('single', { checkpoint_then_hang: true }));
    const marker = await waitFor(async () => {
      const [run] = await server.store.getTaskRuns(uuid, 1);
      return run?.attributes.marker?.value as string | undefined;
    });
    expect(marker).toBe('stored before run() returned');
    const [run] = await server.store.getTaskRuns(uuid, 1);
    expect(run!.state).toBe('created');
    await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
    expect((await waitForEnd(server, uuid)).status).toBe('canceled');
  });

  it('stores a state attribute that a task changes in place, at each ping', async () => {
    const uuid = await submit(request('single', { record_progress: true, delay_ms: 1_500 }));
    // The same array grows by one at each ping; each ping's value must reach the store, not only
    // the first one (which added the attribute).
    const stored = await waitFor(async () => {
      const [run] = await server.store.getTaskRuns(uuid, 1);
      const progress = run?.attributes.progress?.value as number[] | undefined;
      return progress !== undefined && progress.length >= 3 && run?.state === 'running'
        ? progress
        : undefined;
    });
    expect(stored.slice(0, 3)).toEqual([0, 1, 2]);
    await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
    expect((await waitForEnd(server, uuid)).status).toBe('canceled');
  });

  it('creates one request for concurrent submissions of one ref: one 201, the others 200 with its uuid', async () => {
    const body = request('single', {}, 'concurrent-ref');
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload: body }),
      ),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.json().uuid)).size).toBe(1);
    const list = (
      await server.app.inject({ method: 'GET', url: '/api/v1/workflow?ref=concurrent-ref' })
    ).json();
    expect(list.items).toHaveLength(1);
  });
});
