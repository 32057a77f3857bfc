/**
 * One benchmark workload in a process of its own (so peak RSS is the workload's alone; the API and
 * autocannon are loaded only by the workloads that use them). Prints one
 * JSON line: `{ workload, value, unit, peakRssMb, ...details }`.
 */
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import type { RequestRecord } from '../src/store/records.js';
import { benchEngine, inParallel, noopTemplate, rawCommitRate, whenEnded } from './harness.js';

const [workload = '', storeUrl = '', sizeText = '0'] = process.argv.slice(2);
const size = Number(sizeText);
const CONCURRENCY = 50;
const BULK = 1000;

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const seconds = (startMs: number) => (performance.now() - startMs) / 1000;
/** CPU time (user + system) of this process since `since`, in microseconds: steadier than wall time on a shared machine. */
const cpuMicros = (since: NodeJS.CpuUsage) => {
  const { user, system } = process.cpuUsage(since);
  return user + system;
};

/**
 * Watches how long the event loop stands still (a commit, a checkpoint, a collection): what the API
 * and the hand-offs feel while a workload runs. `stop` gives the p99 and the longest, in ms.
 */
function watchLoopDelay() {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  return () => {
    histogram.disable();
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    return { loopDelayP99Ms: ms(histogram.percentile(99)), loopDelayMaxMs: ms(histogram.max) };
  };
}

/** The value under which a share `q` of the numbers lies. */
function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
}

/** The REST API over a bench engine, as `o3 serve` builds it (loaded only by the workloads that use it). */
async function benchApp(h: Awaited<ReturnType<typeof benchEngine>>) {
  const { buildApp } = await import('../src/api/build-app.js');
  return buildApp({
    engine: h.engine,
    store: h.store,
    templates: h.registry,
    tasks: h.tasks,
    logger: pino({ level: 'silent' }),
    bodyLimitBytes: 1 << 20,
  });
}

/** Median of numbers. */
function median(values: number[]): number {
  return percentile(values, 0.5);
}

async function raw() {
  const { store, close } = await benchEngine(storeUrl, [], 1);
  const value = await rawCommitRate(store, size);
  await close();
  return { value, unit: 'commits/s' };
}

/** W1: `size` independent one-task requests, submit → all done. */
async function w1() {
  const h = await benchEngine(storeUrl, [noopTemplate('single', 1, () => [])], CONCURRENCY);
  const done = whenEnded(h.engine, size);
  const start = performance.now();
  const cpu = process.cpuUsage();
  const loopDelay = watchLoopDelay();
  await inParallel(Array.from({ length: size }), CONCURRENCY, () => h.submit('single'));
  await done;
  const value = size / seconds(start);
  const cpuUsPerTask = cpuMicros(cpu) / size;
  const delays = loopDelay();
  await h.close();
  return { value, unit: 'tasks/s', cpuUsPerTask, ...delays };
}

/**
 * W1 with the requests arriving in bulk: groups of 1,000 submitted in one turn (one create
 * transaction), one group after the other, as a job queue's bulk add does.
 */
async function w1bulk() {
  const h = await benchEngine(storeUrl, [noopTemplate('single', 1, () => [])], CONCURRENCY);
  const done = whenEnded(h.engine, size);
  const start = performance.now();
  const cpu = process.cpuUsage();
  const loopDelay = watchLoopDelay();
  for (let first = 0; first < size; first += BULK) {
    const group = Math.min(BULK, size - first);
    await Promise.all(Array.from({ length: group }, () => h.submit('single')));
  }
  await done;
  const value = size / seconds(start);
  const cpuUsPerTask = cpuMicros(cpu) / size;
  const delays = loopDelay();
  await h.close();
  return { value, unit: 'tasks/s', cpuUsPerTask, ...delays };
}

/** W2: `size` diamond workflows A → B, C → D. */
async function w2() {
  const diamond = noopTemplate('diamond', 4, (i) => (i === 0 ? [] : i === 3 ? [1, 2] : [0]));
  const h = await benchEngine(storeUrl, [diamond], CONCURRENCY);
  const done = whenEnded(h.engine, size);
  const start = performance.now();
  await inParallel(Array.from({ length: size }), CONCURRENCY, () => h.submit('diamond'));
  await done;
  const value = size / seconds(start);
  await h.close();
  return { value, unit: 'workflows/s' };
}

/** W3: one chain of `size` tasks, end of one to start of the next. */
async function w3() {
  const h = await benchEngine(
    storeUrl,
    [noopTemplate('chain', size, (i) => (i === 0 ? [] : [i - 1]))],
    CONCURRENCY,
  );
  const endedAt = new Map<string, number>();
  const handoffs: number[] = [];
  h.engine.events.on('committed', (changes) => {
    const now = performance.now();
    for (const run of changes.taskRuns) {
      const index = Number(run.taskRef.slice(1));
      if (run.state === 'successful' && !endedAt.has(run.taskRef)) endedAt.set(run.taskRef, now);
      if (run.state === 'created' && index > 0) {
        const previous = endedAt.get(`t${index - 1}`);
        if (previous !== undefined) handoffs.push(now - previous);
      }
    }
  });
  const done = whenEnded(h.engine, 1);
  const start = performance.now();
  await h.submit('chain');
  await done;
  const totalMs = performance.now() - start;
  await h.close();
  // The figure is the time per link (end of one task to end of the next, run and ping included);
  // the commit-to-commit hand-off is 0 when a task's end and its dependent's start share a commit.
  return {
    value: totalMs / size,
    unit: 'ms per link',
    p50HandoffMs: median(handoffs),
    handoffs: handoffs.length,
  };
}

/** One request of `size` independent tasks: time and memory. */
async function wide() {
  const h = await benchEngine(storeUrl, [noopTemplate('wide', size, () => [])], 1000);
  const done = whenEnded(h.engine, 1);
  const start = performance.now();
  await h.submit('wide');
  await done;
  const value = size / seconds(start);
  await h.close();
  return { value, unit: 'tasks/s' };
}

/** `size` requests in flight at once (each one task waiting 2 s): memory. */
async function inflight() {
  const doc = noopTemplate('waiting', 1, () => []);
  doc.tasks[0]!.input = { runtime_delay: 2 };
  const h = await benchEngine(storeUrl, [doc], size * 2);
  const done = whenEnded(h.engine, size);
  const start = performance.now();
  await inParallel(Array.from({ length: size }), CONCURRENCY, () => h.submit('waiting'));
  await done;
  const value = seconds(start);
  await h.close();
  return { value, unit: 's' };
}

/**
 * API latency with `size` requests in flight (one task each, waiting 10 s, pinged every second):
 * p50 and p99 over HTTP of a request's detail, its log, and the list's first page, each asked 200
 * times one after the other (after 5 untimed) while every request is still running.
 */
async function busy() {
  const doc = noopTemplate('waiting', 1, () => []);
  doc.tasks[0]!.input = { runtime_delay: 10 };
  const h = await benchEngine(storeUrl, [doc], size * 2);
  const app = await benchApp(h);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let ended = 0;
  h.engine.events.on('ended', () => (ended += 1));
  const uuids: string[] = [];
  await inParallel(Array.from({ length: size }), CONCURRENCY, async () => {
    uuids.push((await h.submit('waiting')).request.uuid);
  });
  const asks = {
    detail: (i: number) => `/api/v1/workflow/${uuids[(i * 7919) % uuids.length]}`,
    logs: (i: number) => `/api/v1/workflow/${uuids[(i * 7919) % uuids.length]}/logs`,
    list: () => '/api/v1/workflow?limit=50',
  };
  const p50Ms: Record<string, number> = {};
  const p99Ms: Record<string, number> = {};
  const ask = async (path: string) => {
    const start = performance.now();
    const response = await fetch(`${url}${path}`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    return performance.now() - start;
  };
  // A route's first answers build its serializer: not what a busy node's answers cost.
  for (const pathOf of Object.values(asks)) for (let i = 0; i < 5; i++) await ask(pathOf(i));
  for (const [name, pathOf] of Object.entries(asks)) {
    const timings: number[] = [];
    for (let i = 0; i < 200; i++) timings.push(await ask(pathOf(i)));
    p50Ms[name] = median(timings);
    p99Ms[name] = percentile(timings, 0.99);
  }
  // Every figure counts only if it was taken with all of them in flight.
  if (ended > 0) throw new Error(`${ended} requests ended while the API was measured`);
  await app.close();
  await h.close();
  return { value: Math.max(...Object.values(p99Ms)), unit: 'ms (worst p99)', p50Ms, p99Ms };
}

/** REST submit throughput of a small valid request, autocannon with 10 connections. */
async function rest() {
  const { default: autocannon } = await import('autocannon');
  const h = await benchEngine(storeUrl, [noopTemplate('single', 1, () => [])], 1000);
  const app = await benchApp(h);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const result = await autocannon({
    url: `${url}/api/v1/workflow/submit`,
    connections: 10,
    duration: size,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ workflow: { meta: { ref: randomUUID(), template: 'single' } } }),
        }),
      },
    ],
  });
  await app.close();
  await h.close();
  const non2xx = result.non2xx + result.errors;
  return {
    value: result.requests.average,
    unit: 'requests/s',
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx,
  };
}

/** List latency with `size` stored requests. */
async function list() {
  const h = await benchEngine(storeUrl, [], 1);
  const now = Date.now();
  const statuses = ['successful', 'failed', 'canceled'] as const;
  await inParallel(
    Array.from({ length: size }, (_, i) => i),
    20,
    async (i) => {
      const uuid = randomUUID();
      const request: RequestRecord = {
        uuid,
        ref: `ref-${i}`,
        traceId: `trace-${i % 1000}`,
        name: null,
        description: null,
        templateRef: `tpl-${i % 10}`,
        templateVersion: 1,
        payloadHash: 'x',
        status: statuses[i % 3]!,
        revision: 1,
        scheduledAt: null,
        createdAt: now + i,
        updatedAt: now + i,
        endedAt: now + i,
        error: null,
        owner: null,
        leaseExpiresAt: null,
        version: 1,
      };
      const revision = {
        requestUuid: uuid,
        revision: 1,
        reason: 'submit' as const,
        payload: {},
        template: {},
        status: request.status,
        createdAt: now,
        startedAt: now,
        endedAt: now,
        error: null,
        warnings: [],
        version: 1,
      };
      await h.store.createRequest(request, revision, []);
    },
  );
  const app = await benchApp(h);
  const timings: Record<string, number[]> = {};
  const queries = {
    first_page: '/api/v1/workflow?limit=100',
    by_status: '/api/v1/workflow?status=failed&limit=100',
    by_template: '/api/v1/workflow?template=tpl-3&limit=100',
    by_trace_id: '/api/v1/workflow?trace_id=trace-42',
    by_ref: `/api/v1/workflow?ref=ref-${Math.floor(size / 2)}`,
  };
  for (const [name, url] of Object.entries(queries)) {
    timings[name] = [];
    for (let i = 0; i < 50; i++) {
      const start = performance.now();
      const response = await app.inject({ method: 'GET', url });
      if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode}`);
      timings[name].push(performance.now() - start);
    }
  }
  await app.close();
  await h.close();
  const p50 = Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, median(v)]));
  return { value: Math.max(...Object.values(p50)), unit: 'ms (worst p50)', p50Ms: p50 };
}

const workloads: Record<string, () => Promise<Record<string, unknown>>> = {
  raw,
  w1,
  w1bulk,
  w2,
  w3,
  wide,
  inflight,
  busy,
  rest,
  list,
};

const run = workloads[workload];
if (!run) throw new Error(`unknown workload '${workload}' (${Object.keys(workloads).join(', ')})`);
const result = await run();
process.stdout.write(`${JSON.stringify({ workload, ...result, peakRssMb: peakRssMb() })}\n`);
process.exit(0);
