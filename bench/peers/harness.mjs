/**
 * What both peer scripts share: the arguments, the workloads' shapes (producers, the diamond's
 * join, the chain), the timing, and the one JSON line each run prints:
 * `{ peer, workload, mode, value, unit, cpuUsPerJob, peakRssMb }`.
 * Usage of a peer script: `node <peer>.mjs <w1|w2|w3> [single|bulk] [size]` (bulk: w1 only).
 */
import { randomBytes } from 'node:crypto';

export const CONCURRENCY = 50;
const PRODUCERS = 50;
const BULK = 1000;
const SIZES = { w1: 10_000, w2: 1_000, w3: 200 };
const UNITS = { w1: 'tasks/s', w2: 'workflows/s', w3: 'ms per link' };

/** The run asked for on the command line; exits with a usage line when it cannot be read. */
export function readRun(peer) {
  const [workload = '', mode = 'single', sizeText] = process.argv.slice(2);
  if (!(workload in SIZES) || !(mode === 'single' || (mode === 'bulk' && workload === 'w1'))) {
    console.error(`usage: node ${peer}.mjs <w1|w2|w3> [single|bulk] [size]  (bulk: w1 only)`);
    process.exit(2);
  }
  const size = sizeText ? Number(sizeText) : SIZES[workload];
  // A diamond is four jobs.
  const jobs = workload === 'w2' ? 4 * size : size;
  const name = `peerbench_${workload}_${mode}_${process.pid}_${randomBytes(4).toString('hex')}`;
  return { peer, workload, mode, size, jobs, name };
}

/**
 * The handler of every job, with the adders of the queue or of the job: w2's A adds B and C, and
 * the second of B and C to end adds D; a link of w3 adds the next one.
 */
export function jobHandler(run) {
  const joined = new Map();
  return async (name, data, { add, addMany }) => {
    if (name === 'A')
      await addMany([
        { name: 'B', data },
        { name: 'C', data },
      ]);
    else if (name === 'B' || name === 'C') {
      const ended = (joined.get(data.wf) ?? 0) + 1;
      joined.set(data.wf, ended);
      if (ended === 2) {
        joined.delete(data.wf);
        await add('D', data);
      }
    } else if (name === 'link' && data.i + 1 < run.size) await add('link', { i: data.i + 1 });
  };
}

/** Counts completed jobs: `done` resolves when the run's last one completed, or one failed. */
export function completions(run) {
  let completed = 0;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  return {
    done,
    complete(name, data) {
      const counts = run.workload === 'w1' || name === 'D' || (name === 'link' && data.i === run.size - 1);
      if (counts && ++completed === (run.workload === 'w3' ? 1 : run.size)) finish(null);
    },
    fail(error) {
      finish(error);
    },
  };
}

/** Starts the run's jobs: 50 producers adding one at a time, or groups of 1,000. */
export async function produce(run, { add, addMany }) {
  if (run.workload === 'w3') return add('link', { i: 0 });
  const name = run.workload === 'w1' ? 'noop' : 'A';
  const data = (i) => (run.workload === 'w1' ? { i } : { wf: i });
  if (run.mode === 'bulk') {
    for (let first = 0; first < run.size; first += BULK) {
      const count = Math.min(BULK, run.size - first);
      await addMany(Array.from({ length: count }, (_, i) => ({ name, data: data(first + i) })));
    }
    return;
  }
  let next = 0;
  const producer = async () => {
    while (next < run.size) await add(name, data(next++));
  };
  await Promise.all(Array.from({ length: PRODUCERS }, producer));
}

/** Times `produce` to the last completion and prints the run's JSON line; false when a job failed. */
export async function measure(run, start, done) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await start();
  const failure = await done;
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (failure) {
    console.error(`${run.peer}: a job failed:`, failure);
    return false;
  }
  const value = run.workload === 'w3' ? elapsedMs / run.size : run.size / (elapsedMs / 1000);
  const round = (n) => Math.round(n * 100) / 100;
  const { peer, workload, mode } = run;
  const line = { peer, workload, mode, value: round(value), unit: UNITS[workload] };
  line.cpuUsPerJob = round((cpu.user + cpu.system) / run.jobs);
  line.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify(line));
  return true;
}
