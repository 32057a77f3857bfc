// BullMQ peer benchmark. Usage: node bullmq.mjs <w1|w2|w3> <single|bulk> [size]
// Prints one JSON line: {peer, workload, mode, value, unit, cpuUsPerJob}
import { Queue, Worker } from 'bullmq';
import { randomBytes } from 'node:crypto';

const [workload, mode = 'single', sizeArg] = process.argv.slice(2);
const DEFAULTS = { w1: 10_000, w2: 1_000, w3: 200 };
if (!(workload in DEFAULTS)) {
  console.error('usage: node bullmq.mjs <w1|w2|w3> <single|bulk> [size]');
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

const url = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
const queueName = `peerbench_${workload}_${mode}_${process.pid}_${Date.now()}_${randomBytes(4).toString('hex')}`;

const queue = new Queue(queueName, {
  connection,
  defaultJobOptions: { removeOnComplete: true, removeOnFail: true },
});

const totalJobs = workload === 'w1' ? N : workload === 'w2' ? 4 * N : N;
let done = 0; // w1: jobs completed; w2: D jobs completed; w3: last link completed
let resolveDone;
const allDone = new Promise((r) => {
  resolveDone = r;
});
const bcDone = new Map(); // w2: workflow id -> number of B/C finished

async function handler(job) {
  if (workload === 'w2') {
    const wf = job.data.wf;
    if (job.name === 'A') {
      await queue.addBulk([
        { name: 'B', data: { wf } },
        { name: 'C', data: { wf } },
      ]);
    } else if (job.name === 'B' || job.name === 'C') {
      const n = (bcDone.get(wf) || 0) + 1;
      if (n === 2) {
        bcDone.delete(wf);
        await queue.add('D', { wf });
      } else bcDone.set(wf, n);
    }
  } else if (workload === 'w3') {
    const i = job.data.i;
    if (i + 1 < N) await queue.add('link', { i: i + 1 });
  }
  // w1 / D: no-op
}

const worker = new Worker(queueName, handler, { connection, concurrency: CONCURRENCY, autorun: true });
let failed = null;
worker.on('failed', (job, err) => {
  failed = err;
  resolveDone();
});
worker.on('error', (err) => {
  console.error('worker error', err);
});
worker.on('completed', (job) => {
  if (workload === 'w1') {
    if (++done === N) resolveDone();
  } else if (workload === 'w2') {
    if (job.name === 'D' && ++done === N) resolveDone();
  } else if (workload === 'w3') {
    if (job.data.i === N - 1) {
      done = N;
      resolveDone();
    }
  }
});

await queue.waitUntilReady();
await worker.waitUntilReady();

async function producers(count, name, mkData) {
  let next = 0;
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (true) {
        const i = next++;
        if (i >= count) return;
        await queue.add(name, mkData(i));
      }
    }),
  );
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
if (workload === 'w1') {
  if (mode === 'single') await producers(N, 'noop', (i) => ({ i }));
  else {
    for (let s = 0; s < N; s += BULK) {
      const batch = [];
      for (let i = s; i < Math.min(N, s + BULK); i++) batch.push({ name: 'noop', data: { i } });
      await queue.addBulk(batch);
    }
  }
} else if (workload === 'w2') {
  await producers(N, 'A', (i) => ({ wf: i }));
} else {
  await queue.add('link', { i: 0 });
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
      peer: 'bullmq',
      workload,
      mode,
      value: Math.round(value * 100) / 100,
      unit,
      cpuUsPerJob: Math.round(((cpu.user + cpu.system) / totalJobs) * 100) / 100,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
}
console.error(
  `[bullmq] queue=${queueName} N=${N} jobs=${totalJobs} elapsedMs=${elapsedMs.toFixed(1)} cpuUser=${cpu.user}us cpuSys=${cpu.system}us`,
);

await worker.close();
await queue.obliterate({ force: true });
await queue.close();
process.exitCode = exitCode;
