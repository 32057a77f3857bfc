/**
 * Any node answers every API call (SPEC §8): two real `o3 serve` processes on PostgreSQL, then on
 * Redis. A request submitted to node A is followed live and canceled through node B; the cancel
 * reaches the task on A, and both nodes report the same request. A scheduled request submitted to A
 * is canceled through B before it is due, and never starts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/examples.js';
import { SHARED_KINDS, trackedStoreUrl } from '../helpers/shared-stores.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';
import { waitFor } from '../helpers/test-server.js';

const fixtures = path.join(ROOT, 'test/fixtures/multinode');
const processes: O3Process[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const o3 of processes) o3.child.kill('SIGKILL');
  await Promise.all(processes.map((o3) => o3.exited));
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

interface Trace {
  uuid: string;
  method: string;
  pid: number;
}

interface ServerEvent {
  event: string;
  data: unknown;
}

/** A server-sent event stream read with fetch: every event so far, and a way to wait for the next that matches. */
interface EventStream {
  events: ServerEvent[];
  /** The first event (seen already or still to come) that matches, or a failure after `timeoutMs`. */
  waitFor(match: (e: ServerEvent) => boolean, timeoutMs: number, what: string): Promise<ServerEvent>;
  /** Resolves once the server ended the stream. */
  ended: Promise<void>;
  close(): void;
}

async function openEventStream(url: string): Promise<EventStream> {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: ServerEvent[] = [];
  const listeners = new Set<() => void>();
  const body = response.body!.pipeThrough(new TextDecoderStream());
  const ended = (async () => {
    let buffer = '';
    for await (const chunk of body) {
      buffer += chunk;
      // Events are separated by a blank line; a comment (": ping") carries no event.
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
        }
        const event = fields.get('event');
        const data = fields.get('data');
        if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
      }
      for (const wake of listeners) wake();
    }
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) throw error;
  });
  return {
    events,
    ended,
    close: () => abort.abort(),
    waitFor: (match, timeoutMs, what) =>
      new Promise<ServerEvent>((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (!found) return;
          finish();
          resolve(found);
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events)}`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
}

interface RequestState {
  status: string;
  tasks: { ref_name: string; state: string }[];
}

function taskState(data: unknown, ref: string): string | undefined {
  return (data as RequestState).tasks.find((t) => t.ref_name === ref)?.state;
}

function readTraces(file: string): Trace[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Trace);
}

function longTask(ref: string, workMs: number, startAt?: number) {
  return {
    workflow: {
      meta: { ref, template: 'long_task' },
      vars: { workflow: { input: { work_ms: workMs } } },
      ...(startAt === undefined ? {} : { schedule: { when: 'at', start: new Date(startAt).toISOString() } }),
    },
  };
}

describe.each(SHARED_KINDS)('two o3 nodes on %s', (kind) => {
  it('follow and cancel through node B a request that node A runs, and cancel through B a schedule submitted to A before it is due', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), `o3-cross-${kind}-`));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const traceFile = path.join(dir, 'trace.jsonl');
    const store = trackedStoreUrl(kind, 'xn', cleanups);
    const env = {
      O3_SECRET_KEY: randomBytes(32).toString('base64'),
      O3_TEST_TRACE_FILE: traceFile,
    };
    const args = [
      '--store',
      store,
      '--tasks',
      path.join(fixtures, 'tasks'),
      '--templates',
      path.join(fixtures, 'templates'),
    ];
    const a = await startO3(args, { ...env, O3_NODE_ID: `a-${kind}` });
    processes.push(a);
    const b = await startO3(args, { ...env, O3_NODE_ID: `b-${kind}` });
    processes.push(b);

    // The schedule first, due a few seconds from now: it must be canceled before then and never start.
    const dueAt = Date.now() + 6000;
    const scheduled = await call(a, 'POST', '/api/v1/workflow/submit', longTask(`sched-${kind}`, 100, dueAt));
    expect(scheduled.status, JSON.stringify(scheduled.body)).toBe(201);
    expect(scheduled.body.status).toBe('scheduled');
    const scheduledUuid: string = scheduled.body.uuid;
    const scheduledCancel = await call(b, 'POST', `/api/v1/workflow/${scheduledUuid}/cancel`);
    expect(scheduledCancel.status, JSON.stringify(scheduledCancel.body)).toBe(202);
    const scheduledEnd = await waitFor(
      async () => {
        const detail = (await call(a, 'GET', `/api/v1/workflow/${scheduledUuid}`)).body;
        return detail.status === 'canceled' ? detail : undefined;
      },
      5000,
      'the scheduled request to be canceled',
    );
    expect(Date.now()).toBeLessThan(dueAt);
    expect(scheduledEnd.tasks.map((t: { state: string }) => t.state)).toEqual(['canceled', 'canceled']);

    // A long request on A, followed through B.
    const submitted = await call(a, 'POST', '/api/v1/workflow/submit', longTask(`long-${kind}`, 60_000));
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const uuid: string = submitted.body.uuid;
    const stream = await openEventStream(`${b.url}/api/v1/workflow/${uuid}/logs?follow=1`);
    cleanups.push(async () => stream.close());
    await stream.waitFor(
      (e) => e.event === 'state' && taskState(e.data, 'work') === 'running',
      10_000,
      'state event with the task running',
    );
    const running = await Promise.all([a, b].map((node) => call(node, 'GET', `/api/v1/workflow/${uuid}`)));
    expect(running[0]!.body.status).toBe('running');
    expect(running[1]!.body).toEqual(running[0]!.body);

    const canceledAt = Date.now();
    const cancel = await call(b, 'POST', `/api/v1/workflow/${uuid}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    expect(cancel.body).toEqual({ uuid, status: 'canceling' });
    const end = await stream.waitFor((e) => e.event === 'end', 8000, 'end event');
    expect(end.data).toEqual({ status: 'canceled' });
    expect(Date.now() - canceledAt).toBeLessThan(5000);
    await stream.ended;
    const lastState = stream.events.filter((e) => e.event === 'state').at(-1)!.data as RequestState;
    expect(lastState.status).toBe('canceled');
    expect(lastState.tasks.map((t) => [t.ref_name, t.state])).toEqual([
      ['work', 'canceled'],
      ['then', 'canceled'],
    ]);
    const logLines = stream.events
      .filter((e) => e.event === 'log')
      .map((e) => (e.data as { message: string }).message);
    expect(logLines).toContain(`cancel requested through node b-${kind}`);
    expect(logLines).toContain('request ended canceled');

    const [fromA, fromB] = await Promise.all(
      [a, b].map((node) => call(node, 'GET', `/api/v1/workflow/${uuid}`)),
    );
    expect(fromA!.body.status).toBe('canceled');
    expect(fromB!.body).toEqual(fromA!.body);
    const work = fromA!.body.tasks.find((t: { ref_name: string }) => t.ref_name === 'work');
    const then = fromA!.body.tasks.find((t: { ref_name: string }) => t.ref_name === 'then');
    expect(work.state).toBe('canceled');
    expect(then.state).toBe('canceled');

    // The task ran on A, and its cancel() was called there, not on B; the second task never ran.
    const traces = readTraces(traceFile);
    const workTraces = traces.filter((t) => t.uuid === work.uuid);
    expect(workTraces.filter((t) => t.method === 'run').map((t) => t.pid)).toEqual([a.child.pid]);
    expect(workTraces.filter((t) => t.method === 'cancel').map((t) => t.pid)).toEqual([a.child.pid]);
    expect(traces.filter((t) => t.uuid === then.uuid)).toEqual([]);

    // Past its due time, the canceled schedule has still not started on either node.
    await sleep(Math.max(0, dueAt + 1500 - Date.now()));
    const afterDue = await Promise.all(
      [a, b].map((node) => call(node, 'GET', `/api/v1/workflow/${scheduledUuid}`)),
    );
    expect(afterDue[0]!.body).toEqual(scheduledEnd);
    expect(afterDue[1]!.body).toEqual(scheduledEnd);
    const scheduledRuns = new Set(scheduledEnd.tasks.map((t: { uuid: string }) => t.uuid));
    expect(readTraces(traceFile).filter((t) => scheduledRuns.has(t.uuid))).toEqual([]);

    for (const node of [a, b]) {
      node.child.kill('SIGTERM');
      expect(await node.exited).toBe(0);
    }
  }, 45_000);
});
