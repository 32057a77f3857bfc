/**
 * graphile-worker on PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test),
 * in a schema of its own, dropped at the end: producer and worker in this process, concurrency 50,
 * tuned as its documentation suggests for throughput (a local queue of 500 jobs, completions
 * batched without delay, a pool of 60). See harness.mjs for the usage.
 */
import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run as runWorker } from 'graphile-worker';
import pg from 'pg';
import { CONCURRENCY, completions, jobHandler, measure, produce, readRun } from './harness.mjs';

const run = readRun('graphile-worker');
const connectionString = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const schema = run.name;
// Warnings and errors only: a line per job would be measured too.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
});
const pgPool = new pg.Pool({ connectionString, max: 60 });
pgPool.on('error', (error) => console.error('pg idle client error:', error.message));
pgPool.on('connect', (client) =>
  client.on('error', (error) => console.error('pg client error:', error.message)),
);

const jobs = completions(run);
const events = new EventEmitter();
events.on('job:complete', ({ job, error }) =>
  error ? jobs.fail(error) : jobs.complete(job.task_identifier, job.payload),
);
/** Adders through graphile-worker's helpers (a job's, or the producers' worker utils). */
const addersOf = (helpers) => ({
  add: (name, data) => helpers.addJob(name, data),
  addMany: (list) => helpers.addJobs(list.map(({ name, data }) => ({ identifier: name, payload: data }))),
});
const handle = jobHandler(run);
const taskList = Object.fromEntries(
  ['noop', 'A', 'B', 'C', 'D', 'link'].map((name) => [
    name,
    (payload, helpers) => handle(name, payload, addersOf(helpers)),
  ]),
);

const runner = await runWorker({
  pgPool,
  schema,
  logger,
  events,
  taskList,
  concurrency: CONCURRENCY,
  pollInterval: 1000,
  noHandleSignals: true,
  preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
});
const utils = await makeWorkerUtils({ pgPool, schema, logger });
// Open the pool's connections before timing, as BullMQ's are open before its timer starts.
await Promise.all(Array.from({ length: 55 }, () => pgPool.query('SELECT 1')));

const ok = await measure(run, () => produce(run, addersOf(utils)), jobs.done);
await runner.stop();
await utils.release();
const { rows } = await pgPool.query(`SELECT count(*)::int AS n FROM "${schema}"._private_jobs`);
if (rows[0].n !== 0) console.error(`graphile-worker: ${rows[0].n} jobs left in ${schema}`);
await pgPool.query(`DROP SCHEMA "${schema}" CASCADE`);
await pgPool.end();
process.exitCode = ok && rows[0].n === 0 ? 0 : 1;
