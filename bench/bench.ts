/**
 * `npm run bench [-- --store sqlite|postgres|redis] [--runs N] [--smoke] [--peers]`: runs W1
 * (independent tasks), W2 (diamond workflows), W3 (chain hand-off latency), memory, REST and list
 * figures, each in a fresh process on a fresh store, and prints one JSON document with medians
 * (min–max) and each figure as a ratio to the store's raw commit rate measured in the same run.
 * With --peers (PostgreSQL or Redis), the job queue people would pick on that server instead
 * (graphile-worker, BullMQ; bench/peers) runs the same workloads in the same rounds, and the
 * document adds O3's figures as ratios to the peer's.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SHARED } from '../test/helpers/shared-stores.js';
import { freshStoreUrl } from './harness.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

interface Options {
  store: string;
  runs: number;
  smoke: boolean;
  peers: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { store: 'sqlite', runs: 5, smoke: false, peers: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--store') options.store = argv[++i] ?? options.store;
    else if (arg === '--runs') options.runs = Number(argv[++i]);
    else if (arg === '--smoke') options.smoke = true;
    else if (arg === '--peers') options.peers = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return options;
}

/** Sizes of the real run and of the smoke run (CI keeps the bench from rotting). */
const SIZES = {
  full: {
    raw: 10_000,
    w1: 10_000,
    w1bulk: 10_000,
    w2: 1_000,
    w3: 200,
    wide: 10_000,
    inflight: 1_000,
    busy: 5_000,
    rest: 5,
    list: 100_000,
  },
  smoke: {
    raw: 200,
    w1: 100,
    w1bulk: 100,
    w2: 20,
    w3: 20,
    wide: 100,
    inflight: 20,
    busy: 20,
    rest: 1,
    list: 500,
  },
} as const;

type Sample = { workload: string; value: number; unit: string; peakRssMb: number } & Record<string, unknown>;

async function sample(workload: string, store: string, size: number): Promise<Sample> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(here, 'workload.ts'), workload, freshStoreUrl(store), String(size)],
    { maxBuffer: 1 << 24, timeout: 600_000 },
  );
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Sample;
}

/** The job queue each shared store is compared with (bench/peers), given the server's URL. */
const PEERS = {
  postgres: { name: 'graphile-worker', script: 'graphile.mjs', urlVariable: 'DATABASE_URL' },
  redis: { name: 'bullmq', script: 'bullmq.mjs', urlVariable: 'REDIS_URL' },
} as const;
type PeerStore = keyof typeof PEERS;
/** The peer's runs, named as O3's workloads: "single" adds one job at a time from 50 producers. */
const PEER_WORKLOADS = [
  ['w1', 'w1', 'single'],
  ['w1bulk', 'w1', 'bulk'],
  ['w2', 'w2', 'single'],
  ['w3', 'w3', 'single'],
] as const;
const peersDir = path.join(here, 'peers');

/** The peers are not O3's dependencies: they are installed apart, on first use. */
async function installPeers(): Promise<void> {
  if (existsSync(path.join(peersDir, 'node_modules'))) return;
  process.stderr.write('installing the peers into bench/peers (npm ci)\n');
  await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: peersDir });
}

async function peerSample(store: PeerStore, workload: string, mode: string, size: number): Promise<Sample> {
  const peer = PEERS[store];
  const { stdout } = await run(
    process.execPath,
    [path.join(peersDir, peer.script), workload, mode, String(size)],
    { env: { ...process.env, [peer.urlVariable]: SHARED[store] }, maxBuffer: 1 << 24, timeout: 600_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Sample;
}

function peerVersion(store: PeerStore): string {
  const file = path.join(peersDir, 'node_modules', PEERS[store].name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function summary(samples: Sample[]) {
  const values = samples.map((s) => s.value).sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    median: round(values[Math.floor(values.length / 2)]!),
    min: round(values[0]!),
    max: round(values.at(-1)!),
    unit: samples[0]!.unit,
    peakRssMb: Math.max(...samples.map((s) => s.peakRssMb)),
    runs: samples.map(({ workload: _w, unit: _u, peer: _p, mode: _m, ...rest }) => rest),
  };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const sizes = options.smoke ? SIZES.smoke : SIZES.full;
  const runs = options.smoke ? 1 : options.runs;
  const figures: Record<string, ReturnType<typeof summary>> = {};
  const workloads = Object.keys(sizes) as (keyof typeof sizes)[];
  const samples = new Map(workloads.map((workload) => [workload, [] as Sample[]]));
  const peerStore = options.peers ? peerStoreOf(options.store) : undefined;
  if (peerStore) await installPeers();
  const peerSamples = new Map(PEER_WORKLOADS.map(([name]) => [name, [] as Sample[]]));
  // Round by round rather than workload by workload: a slow spell of a shared machine then touches
  // one run of each workload instead of every run of one.
  for (let round = 0; round < runs; round++) {
    for (const workload of workloads) {
      if (round > 0 && (workload === 'list' || workload === 'rest')) continue;
      const result = await sample(workload, options.store, sizes[workload]);
      samples.get(workload)!.push(result);
      process.stderr.write(
        `round ${round + 1}, ${workload}: ${Math.round(result.value * 100) / 100} ${result.unit}\n`,
      );
    }
    for (const [name, workload, mode] of peerStore ? PEER_WORKLOADS : []) {
      const result = await peerSample(peerStore!, workload, mode, sizes[name]);
      peerSamples.get(name)!.push(result);
      process.stderr.write(
        `round ${round + 1}, ${PEERS[peerStore!].name} ${name}: ${result.value} ${result.unit}\n`,
      );
    }
  }
  for (const workload of workloads) figures[workload] = summary(samples.get(workload)!);
  const rawRate = figures.raw!.median;
  const ratio = (n: number) => Math.round((n / rawRate) * 1000) / 1000;
  // A time as the number of raw commits that fit in it.
  const inCommits = (ms: number) => Math.round((ms / 1000) * rawRate * 100) / 100;
  const document = {
    store: options.store,
    smoke: options.smoke,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    sizes,
    figures,
    ratiosToRawCommitRate: {
      w1TasksPerCommit: ratio(figures.w1!.median),
      w1bulkTasksPerCommit: ratio(figures.w1bulk!.median),
      wideTasksPerCommit: ratio(figures.wide!.median),
      w2WorkflowsPerCommit: ratio(figures.w2!.median),
      w3LinkInCommits: inCommits(figures.w3!.median),
      inflightInCommits: inCommits(figures.inflight!.median * 1000),
      busyP99InCommits: inCommits(figures.busy!.median),
      restRequestsPerCommit: ratio(figures.rest!.median),
      listP50InCommits: inCommits(figures.list!.median),
    },
    peer: peerStore && peerFigures(peerStore, figures, peerSamples),
  };
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
}

function peerStoreOf(store: string): PeerStore {
  if (store in PEERS) return store as PeerStore;
  throw new Error(
    '--peers compares PostgreSQL with graphile-worker and Redis with BullMQ: add --store postgres or redis',
  );
}

/** The peer's figures, and O3's as ratios to them: above 1, O3 is ahead. */
function peerFigures(
  store: PeerStore,
  o3: Record<string, ReturnType<typeof summary>>,
  samples: Map<string, Sample[]>,
) {
  const figures = Object.fromEntries([...samples].map(([name, runs]) => [name, summary(runs)]));
  const ratio = (n: number) => Math.round(n * 100) / 100;
  return {
    name: PEERS[store].name,
    version: peerVersion(store),
    figures,
    o3ToPeer: {
      w1: ratio(o3.w1!.median / figures.w1!.median),
      w1bulk: ratio(o3.w1bulk!.median / figures.w1bulk!.median),
      w2: ratio(o3.w2!.median / figures.w2!.median),
      // A time per link: the peer's over O3's, so that above 1 is O3 ahead here too.
      w3: ratio(figures.w3!.median / o3.w3!.median),
    },
  };
}

await main();
