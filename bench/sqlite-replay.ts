/**
 * The SQLite store's own work in W1, apart from the engine's: records the store calls of a W1 run
 * (`size` one-task requests, 50 in flight), then replays them against a fresh file and prints the
 * replay's time. Under callgrind, the instructions SQLite runs inside its statements, which do not
 * vary with a noisy machine:
 *
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=sqlite3_step \
 *     node --import tsx bench/sqlite-replay.ts 2000
 *
 * An optional SQL text, run on the file before the replay (`"DROP INDEX requests_by_trace"`), tells
 * what one part of the schema costs.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import {
  benchEngine,
  dropBenchStore,
  freshStoreUrl,
  inParallel,
  noopTemplate,
  whenEnded,
} from './harness.js';

type Call = { name: 'createRequests' | 'commit'; args: unknown[] };

const RECORD = '--record';
const [first = '2000', second = ''] = process.argv.slice(2);

/** The createRequests and commit calls of a W1 run, as JSON (the engine mutates its records after). */
async function recordW1(size: number): Promise<string> {
  const h = await benchEngine(freshStoreUrl('sqlite'), [noopTemplate('single', 1, () => [])], 50);
  const calls: Call[] = [];
  const store = h.store as unknown as Record<Call['name'], (...args: unknown[]) => Promise<unknown>>;
  for (const name of ['createRequests', 'commit'] as const) {
    const original = store[name].bind(h.store);
    store[name] = (...args) => {
      calls.push({ name, args: structuredClone(args) });
      return original(...args);
    };
  }
  const done = whenEnded(h.engine, size);
  await inParallel(Array.from({ length: size }), 50, () => h.submit('single'));
  await done;
  await h.close();
  return JSON.stringify(calls);
}

if (first === RECORD) {
  process.stdout.write(await recordW1(Number(second)));
} else {
  // Recorded by a child process (which valgrind does not follow), so only the replay is counted.
  const { stdout: recorded } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), RECORD, first],
    { maxBuffer: 1 << 30 },
  );
  await replay(JSON.parse(recorded) as Call[], Number(first), second);
}

/** Runs the calls against a fresh file (after `setupSql`) and prints how long they took. */
async function replay(calls: Call[], size: number, setupSql: string): Promise<void> {
  const url = freshStoreUrl('sqlite');
  // The writer alone, as before: a checkpoint on another thread would be counted by callgrind too,
  // at moments that vary from run to run.
  const store = createSqliteStore(url.slice('sqlite:'.length), { backgroundCheckpoints: false });
  await store.init();
  if (setupSql) {
    const db = new Database(url.slice('sqlite:'.length));
    db.exec(setupSql);
    db.close();
  }
  const methods = store as unknown as Record<Call['name'], (...args: unknown[]) => Promise<unknown>>;
  const start = performance.now();
  for (const { name, args } of calls) await methods[name](...args);
  const ms = performance.now() - start;
  await store.close();
  await dropBenchStore(url);
  console.log(JSON.stringify({ requests: size, calls: calls.length, ms, usPerRequest: (ms * 1000) / size }));
}
