import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { calls } from '../fixtures/tasks/scripted.js';
import { waitForEnd, type TestServer, startFixtureServer, taskOf } from '../helpers/test-server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'o3-revisions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('revisions: retry and revise', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startFixtureServer();
  });
  afterEach(async () => {
    await server.close();
  });

  async function failedChain(seed: string) {
    const flag = path.join(dir, `flag-${seed}`);
    writeFileSync(flag, 'fail');
    const payload = {
      workflow: {
        meta: { ref: `chain-${seed}`, template: 'retry_chain' },
        vars: { workflow: { input: { seed, flag_file: flag } } },
      },
    };
    const submitted = await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload });
    expect(submitted.statusCode, submitted.body).toBe(201);
    const first = await waitForEnd(server, submitted.json().uuid);
    expect(first.status).toBe('failed');
    expect(taskOf(first, 'c').state).toBe('failed');
    return { uuid: first.uuid as string, first, flag };
  }

  it('retry skips the tasks that succeeded with the same inputs, carrying their outputs, and runs always_run ones again', async () => {
    const { uuid, first, flag } = await failedChain('s1');
    rmSync(flag);
    const retried = await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/retry` });
    expect(retried.statusCode).toBe(202);
    expect(retried.json().revision).toBe(2);
    const second = await waitForEnd(server, uuid);
    expect(second.status).toBe('successful');
    expect(second.revision).toBe(2);
    const [a, b, c] = [taskOf(second, 'a'), taskOf(second, 'b'), taskOf(second, 'c')];
    expect(a.state).toBe('skipped');
    expect(a.outputs.id).toBe('s1');
    expect(calls.get(a.uuid)).toBeUndefined();
    expect(b.state).toBe('successful');
    expect(calls.get(b.uuid)).toContain('run');
    expect(b.last_task_state).toBe('successful');
    expect(c.state).toBe('successful');
    expect(c.last_task_state).toBe('failed');
    // The old revision stays readable as it was.
    const old = (
      await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}/revisions/1` })
    ).json();
    expect(old.status).toBe('failed');
    expect(taskOf(old, 'c').state).toBe('failed');
    expect(taskOf(old, 'a').uuid).toBe(taskOf(first, 'a').uuid);
    expect(second.revisions.map((r: { revision: number; reason: string }) => [r.revision, r.reason])).toEqual(
      [
        [1, 'submit'],
        [2, 'retry'],
      ],
    );
  });

  it('revise with a changed variable runs the task whose inputs changed and everything downstream of it', async () => {
    const { uuid, flag } = await failedChain('s2');
    const revised = await server.app.inject({
      method: 'POST',
      url: `/api/v1/workflow/${uuid}/revise`,
      payload: { vars: { workflow: { input: { seed: 's2-new', flag_file: `${flag}-absent` } } } },
    });
    expect(revised.statusCode, revised.body).toBe(202);
    const detail = await waitForEnd(server, uuid);
    expect(detail.status).toBe('successful');
    expect(taskOf(detail, 'a').state).toBe('successful');
    expect(taskOf(detail, 'a').outputs.id).toBe('s2-new');
    expect(taskOf(detail, 'b').inputs.from_a).toBe('s2-new');
  });

  it('refuses a retry while the request runs (409) and an invalid revision with pointers into the body (422)', async () => {
    const payload = {
      workflow: {
        meta: { ref: 'long-one', template: 'single' },
        vars: { workflow: { input: { delay_ms: 60_000 } } },
      },
    };
    const { uuid } = (
      await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload })
    ).json();
    const early = await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/retry` });
    expect(early.statusCode).toBe(409);
    await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
    await waitForEnd(server, uuid);
    const bad = await server.app.inject({
      method: 'POST',
      url: `/api/v1/workflow/${uuid}/revise`,
      payload: { vars: { workflow: { input: { delay_ms: 'soon' } } }, bogus: 1 },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().error.details.map((d: { path: string }) => d.path)).toContain('/bogus');
    const wrongType = await server.app.inject({
      method: 'POST',
      url: `/api/v1/workflow/${uuid}/revise`,
      payload: { vars: { workflow: { input: { delay_ms: 'soon' } } } },
    });
    expect(wrongType.statusCode).toBe(422);
    expect(
      wrongType
        .json()
        .error.details.some(
          (d: { path: string }) => d.path.startsWith('/vars') || d.path.startsWith('/tasks'),
        ),
    ).toBe(true);
    expect(
      (await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` })).json().revision,
    ).toBe(1);
  });

  it('follows a request live as server-sent events: state changes, log lines, then end', async () => {
    const payload = { workflow: { meta: { ref: 'followed', template: 'scripted_diamond' } } };
    const { uuid } = (
      await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload })
    ).json();
    const stream = await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}/logs?follow=1` });
    expect(stream.headers['content-type']).toContain('text/event-stream');
    const events = stream.body
      .split('\n\n')
      .filter((block) => block.includes('event: '))
      .map((block) => ({
        event: /event: (\w+)/.exec(block)![1],
        data: JSON.parse(/data: (.*)/.exec(block)![1]!),
      }));
    expect(events.at(-1)).toEqual({ event: 'end', data: { status: 'successful' } });
    const states = events.filter((e) => e.event === 'state').map((e) => e.data);
    expect(states.length).toBeGreaterThanOrEqual(1);
    expect(states.at(-1).tasks.every((t: { state: string }) => t.state === 'successful')).toBe(true);
    const logs = events.filter((e) => e.event === 'log').map((e) => e.data);
    expect(logs.some((l: { message: string }) => l.message === 'request ended successful')).toBe(true);
    const seqs = logs.map((l: { seq: number }) => l.seq);
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
  });
});
