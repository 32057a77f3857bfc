// graphile-worker peer benchmark. Usage: node graphile.mjs <w1|w2|w3> <single|bulk> [size]
// Prints one JSON line: {peer, workload, mode, value, unit, cpuUsPerJob}
import { run, makeWorkerUtils, Logger } from 'graphile-worker';
import pg from 'pg';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';

const [workload, mode = 'single', sizeArg] = process.argv.slice(2);
const DEFAULTS = { w1: 10_000, w2: 1_000, w3: 200 };
if (!(workload in DEFAULTS)) {
  console.error('usage: node graphile.mjs <w1|w2|w3> <single|bulk> [size]');
  process.exit(2);
}
if (mode !== 'single' && !(workload === 'w1' && mode === 'bulk')) {
  console.error(`mode ${mode} not supported for ${workload}`);
  process.exit(2);
}
const N = sizeArg ? Number(sizeArg) : DEFAULTS[workload];
const PRODUCERS = 50,
  CONCURRENCY = 50,
  BULK = 1000;

const connectionString = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const schema = `peerbench_${workload}_${mode}_${process.pid}_${Date.now()}_${randomBytes(4).toString('hex')}`;

// Quiet logger: per-job info logging would distort CPU numbers. Warnings/errors to stderr.
const logger = new Logger((scope) => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`[graphile ${level}] ${message}`);
});

const pgPool = new pg.Pool({ connectionString, max: 60 });
// Install both error handlers ourselves (graphile warns if either is missing on a supplied pool).
pgPool.on('error', (e) => console.error('pg idle client error', e.message));
pgPool.on('connect', (client) => client.on('error', (e) => console.error('pg client error', e.message)));

const totalJobs = workload === 'w1' ? N : workload === 'w2' ? 4 * N : N;
let done = 0;
let resolveDone;
const allDone = new Promise((r) => {
  resolveDone = r;
});
let failed = null;
const bcDone = new Map(); // w2: workflow id -> number of B/C finished

const taskList = {
  noop: async () => {},
  A: async ({ wf }, helpers) => {
    await helpers.addJobs([
      { identifier: 'B', payload: { wf } },
      { identifier: 'C', payload: { wf } },
    ]);
  },
  B: async ({ wf }, helpers) => bcStep(wf, helpers),
  C: async ({ wf }, helpers) => bcStep(wf, helpers),
  D: async () => {},
  link: async ({ i }, helpers) => {
    if (i + 1 < N) await helpers.addJob('link', { i: i + 1 });
  },
};
async function bcStep(wf, helpers) {
  const n = (bcDone.get(wf) || 0) + 1;
  if (n === 2) {
    bcDone.delete(wf);
    await helpers.addJob('D', { wf });
  } else bcDone.set(wf, n);
}

const events = new EventEmitter();
// 'job:complete' fires after the task function resolved and completion has been
// dispatched to the (batched, delay 0) completeJobs writer.
events.on('job:complete', ({ job, error }) => {
  if (error) {
    failed = error;
    resolveDone();
    return;
  }
  const t = job.task_identifier;
  if (workload === 'w1') {
    if (++done === N) resolveDone();
  } else if (workload === 'w2') {
    if (t === 'D' && ++done === N) resolveDone();
  } else if (workload === 'w3') {
    if (job.payload.i === N - 1) {
      done = N;
      resolveDone();
    }
  }
});

const sharedOptions = { pgPool, schema, logger };
const runner = await run({
  ...sharedOptions,
  events,
  taskList,
  concurrency: CONCURRENCY,
  pollInterval: 1000,
  noHandleSignals: true,
  preset: {
    worker: {
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    },
  },
}); // run() installs/migrates the schema before resolving
const utils = await makeWorkerUtils({ ...sharedOptions });

async function producers(count, identifier, mkPayload) {
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (true) {
        const i = next++;
        if (i >= count) return;
        await utils.addJob(identifier, mkPayload(i));
      }
    }),
  );
}

// Untimed warm-up: open the pool's connections up front (BullMQ's Redis connections are
// likewise already open before timing starts). Leaves headroom for the runner's LISTEN client.
await Promise.all(Array.from({ length: 55 }, () => pgPool.query('select 1')));

const cpu0 = process.cpuUsage();
const t0 = performance.now();
if (workload === 'w1') {
  if (mode === 'single') await producers(N, 'noop', (i) => ({ i }));
  else {
    for (let s = 0; s < N; s += BULK) {
      const batch = [];
      for (let i = s; i < Math.min(N, s + BULK); i++) batch.push({ identifier: 'noop', payload: { i } });
      await utils.addJobs(batch);
    }
  }
} else if (workload === 'w2') {
  await producers(N, 'A', (i) => ({ wf: i }));
} else {
  await utils.addJob('link', { i: 0 });
}
await allDone;
const elapsedMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);

let exitCode = 0;
if (failed) {
  console.error('job failed:', failed);
  exitCode = 1;
}
const value = workload === 'w3' ? elapsedMs / N : N / (elapsedMs / 1000);
const unit = workload === 'w1' ? 'tasks/s' : workload === 'w2' ? 'workflows/s' : 'ms per link';
if (!failed) {
  console.log(
    JSON.stringify({
      peer: 'graphile-worker',
      workload,
      mode,
      value: Math.round(value * 100) / 100,
      unit,
      cpuUsPerJob: Math.round(((cpu.user + cpu.system) / totalJobs) * 100) / 100,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}

await runner.stop(); // graceful: flushes pending completeJobs batch
await utils.release();
// Sanity check (untimed): all jobs must be gone from the schema after completion.
const { rows } = await pgPool.query(
  `select count(*)::int as n from ${pg.Client.prototype.escapeIdentifier(schema)}._private_jobs`,
);
console.error(
  `[graphile] schema=${schema} N=${N} jobs=${totalJobs} elapsedMs=${elapsedMs.toFixed(1)} cpuUser=${cpu.user}us cpuSys=${cpu.system}us leftoverJobs=${rows[0].n}`,
);
if (rows[0].n !== 0) exitCode = 1;
await pgPool.query(`drop schema ${pg.Client.prototype.escapeIdentifier(schema)} cascade`);
await pgPool.end();
process.exitCode = exitCode;
