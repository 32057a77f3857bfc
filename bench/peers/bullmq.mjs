/**
 * BullMQ on Redis (REDIS_URL, default redis://127.0.0.1:6379): producer and worker in this
 * process, concurrency 50, jobs removed on completion. See harness.mjs for the usage.
 */
import { Queue, Worker } from 'bullmq';
import { CONCURRENCY, completions, jobHandler, measure, produce, readRun } from './harness.mjs';

const run = readRun('bullmq');
const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
const queue = new Queue(run.name, {
  connection,
  defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
});
const adders = { add: (name, data) => queue.add(name, data), addMany: (list) => queue.addBulk(list) };
const handle = jobHandler(run);
const jobs = completions(run);

const worker = new Worker(run.name, (job) => handle(job.name, job.data, adders), {
  connection,
  concurrency: CONCURRENCY,
});
worker.on('completed', (job) => jobs.complete(job.name, job.data));
worker.on('failed', (_job, error) => jobs.fail(error));
worker.on('error', (error) => console.error('bullmq worker error:', error));
await queue.waitUntilReady();
await worker.waitUntilReady();

const ok = await measure(run, () => produce(run, adders), jobs.done);
await worker.close();
await queue.obliterate({ force: true });
await queue.close();
process.exitCode = ok ? 0 : 1;
