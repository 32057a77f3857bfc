/**
 * A store's own work in W1, apart from the engine's: records the store calls of a W1 run (`size`
 * one-task requests, 50 in flight, on SQLite, in a child process), then replays them against a
 * fresh store and prints the replay's time. Counted with callgrind, in instructions, which do not
 * vary with a noisy machine:
 *
 *   # SQLite: what SQLite runs inside its statements
 *   valgrind --tool=callgrind --collect-atstart=no --toggle-collect=sqlite3_step \
 *     node --import tsx bench/store-replay.ts 2000
 *   # Redis: a second server under callgrind, counted from the first replayed call to the last
 *   valgrind --tool=callgrind --instr-atstart=no redis-server --port 6390 --save '' --appendonly no &
 *   node --import tsx bench/store-replay.ts 2000 --store redis://127.0.0.1:6390 --callgrind <its pid>
 *
 * `--store URL` replays against a PostgreSQL or Redis server instead (a schema or prefix of its own).
 * `--sql TEXT`, run on a fresh SQLite file before the replay (`"DROP INDEX requests_by_trace"`),
 * tells what one part of the schema costs.
 */
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { createStore } from '../src/store/create-store.js';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
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

/** A fresh store for the replay: a new SQLite file (after `sql`), or a new schema or prefix on a server. */
async function replayStore(target: string | undefined, sql: string | undefined): Promise<[Store, string]> {
  if (target === undefined) {
    const url = freshStoreUrl('sqlite');
    const file = url.slice('sqlite:'.length);
    // The writer alone, as before: a checkpoint on another thread would be counted by callgrind
    // too, at moments that vary from run to run.
    const store = createSqliteStore(file, { backgroundCheckpoints: false });
    await store.init();
    if (sql) {
      const db = new Database(file);
      db.exec(sql);
      db.close();
    }
    return [store, url];
  }
  // A schema or key prefix of its own on the server, dropped after.
  const url = new URL(target);
  const name = `bench_replay_${process.pid}`;
  if (url.protocol === 'postgres:') url.searchParams.set('schema', name);
  else url.searchParams.set('prefix', `${name}:`);
  const store = await createStore(url.toString());
  return [store, url.toString()];
}

/** Runs the calls against a fresh store and prints how long they took. */
async function replay(calls: Call[], size: number, options: Record<string, string>): Promise<void> {
  const [store, url] = await replayStore(options.store, options.sql);
  const methods = store as unknown as Record<Call['name'], (...args: unknown[]) => Promise<unknown>>;
  const callgrind = (on: boolean) => {
    if (options.callgrind) execFileSync('callgrind_control', ['-i', on ? 'on' : 'off', options.callgrind]);
  };
  callgrind(true);
  const start = performance.now();
  for (const { name, args } of calls) await methods[name](...args);
  const ms = performance.now() - start;
  callgrind(false);
  await store.close();
  await dropBenchStore(url);
  console.log(JSON.stringify({ requests: size, calls: calls.length, ms, usPerRequest: (ms * 1000) / size }));
}

const [first = '2000', ...rest] = process.argv.slice(2);
if (first === RECORD) {
  process.stdout.write(await recordW1(Number(rest[0])));
} else {
  const options: Record<string, string> = {};
  for (let i = 0; i + 1 < rest.length; i += 2) options[rest[i]!.replace(/^--/, '')] = rest[i + 1]!;
  // Recorded by a child process (which valgrind does not follow), so only the replay is counted.
  const { stdout: recorded } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), RECORD, first],
    { maxBuffer: 1 << 30 },
  );
  await replay(JSON.parse(recorded) as Call[], Number(first), options);
}
