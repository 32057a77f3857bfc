import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { O3Error, StoreUnavailableError } from '../../src/errors.js';
import { createStore } from '../../src/store/create-store.js';
import { BackgroundCheckpointer, RECORDS_PER_CHECKPOINT } from '../../src/store/sqlite/checkpointer.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import {
  requestInsertParams,
  revisionInsertParams,
  taskRunInsertParams,
} from '../../src/store/sqlite/rows.js';
import { listStatement, prepareStatements } from '../../src/store/sqlite/statements.js';
import type { Store } from '../../src/store/store.js';
import { T0, bump, makeLog, makeSubmission, makeTemplateRecord, requestWithStatus } from './fixtures.js';
import { describeStoreContract } from './store-contract.js';

const root = join(tmpdir(), `o3-sqlite-test-${process.pid}-${randomUUID().slice(0, 8)}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh database path in a folder that does not exist yet (the store must create it). */
function freshPath(): string {
  return join(root, randomUUID(), 'o3.db');
}

/** Opens and initialises a store on `path`. */
async function open(path: string): Promise<Store> {
  const store = createSqliteStore(path);
  await store.init();
  return store;
}

/** `n` bound parameters. */
const marks = (n: number) => Array<string>(n).fill('?').join(', ');
const TASK_RUN_INSERT_COLUMNS = `uuid, request_uuid, revision, task_ref, class_name, state, last_task_state,
  attempt, inputs, attributes, error, created_at, started_at, ended_at, version`;

/** The file of each store the suite opened, so that a peer can open the same file. */
const paths = new WeakMap<Store, string>();

describeStoreContract(
  'sqlite file',
  async () => {
    const path = freshPath();
    const store = await open(path);
    paths.set(store, path);
    return store;
  },
  { openPeer: (store) => open(paths.get(store)!) },
);

describeStoreContract('sqlite :memory:', () => open(':memory:'));

describe('sqlite store', () => {
  it('keeps everything when the file is closed and opened again', async () => {
    const path = freshPath();
    const s = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 15_000 }, 2);
    const first = await open(path);
    await first.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    const saved = bump(s.taskRuns[0]!, { state: 'running', attributes: { job: { value: 7, public: true } } });
    await first.commit({ taskRuns: [saved], logs: [makeLog(s.request, 'started', saved.uuid)] });
    await first.close();

    const again = await open(path);
    expect(await again.getRequest(s.request.uuid)).toEqual(s.request);
    expect(await again.getRevisions(s.request.uuid)).toEqual([s.revision]);
    expect(await again.getTaskRuns(s.request.uuid, 1)).toEqual([saved, s.taskRuns[1]]);
    expect((await again.readLogs(s.request.uuid)).map((l) => l.message)).toEqual([
      'request stored',
      'started',
    ]);
    await again.close();
  });

  it('puts the file in WAL mode at the current schema version', async () => {
    const path = freshPath();
    await (await open(path)).close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('copies committed writes into the file in the background, long before the autocheckpoint', async () => {
    const path = freshPath();
    const store = await open(path);
    const pageSize = 4096;
    const before = statSync(path).size;
    // A small commit starts no checkpoint: a trickle of them is left to the writer's autocheckpoint.
    const small = makeSubmission({}, 2);
    await store.createRequest(small.request, small.revision, small.taskRuns, small.logs);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statSync(path).size).toBe(before);
    // 2,500 records: far below the writer's autocheckpoint (10,000 WAL frames), which would
    // otherwise leave the database file as it was.
    await store.createRequests(Array.from({ length: 500 }, () => makeSubmission({}, 2)));
    await vi.waitFor(() => expect(statSync(path).size).toBeGreaterThanOrEqual(before + 20 * pageSize), {
      timeout: 5000,
    });
    const submission = makeSubmission({}, 1);
    await store.createRequest(submission.request, submission.revision, submission.taskRuns);
    await store.close();
    const again = await open(path);
    expect(await again.getRequest(submission.request.uuid)).toEqual(submission.request);
    await again.close();
  });

  it('leaves checkpoints to the writer when the background connection cannot open the file', async () => {
    const checkpointer = new BackgroundCheckpointer(freshPath());
    expect(await checkpointer.checkpoint()).toBe(0);
    checkpointer.afterWrite(RECORDS_PER_CHECKPOINT); // gave up: starts nothing
    expect(await checkpointer.checkpoint()).toBe(0);
    await checkpointer.close();
  });

  it('brings a file of the first migration up to date, keeping its requests and log lines', async () => {
    const path = freshPath();
    const s = requestWithStatus('running', { owner: null, leaseExpiresAt: null });
    const task = s.taskRuns[0]!.uuid;
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.prepare(`INSERT INTO requests VALUES (${marks(18)})`).run(...requestInsertParams(s.request));
    const revision = db.prepare(`INSERT INTO revisions VALUES (${marks(12)})`);
    revision.run(...revisionInsertParams(s.revision));
    const taskRun = db.prepare(`INSERT INTO task_runs (${TASK_RUN_INSERT_COLUMNS}) VALUES (${marks(15)})`);
    taskRun.run(...taskRunInsertParams(s.taskRuns[0]!));
    const line = db.prepare(
      'INSERT INTO logs (request_uuid, task_uuid, ts, level, source, message) VALUES (?, ?, ?, ?, ?, ?)',
    );
    line.run(s.request.uuid, null, T0, 'info', 'engine', 'request stored');
    line.run(s.request.uuid, task, T0 + 1, 'warn', 'task', 'a line of the task');
    db.close();

    const again = await open(path);
    expect(await again.getRequest(s.request.uuid)).toEqual(s.request);
    expect(await again.saveTemplate(makeTemplateRecord('upgraded', 1))).toEqual({ saved: true });
    const lines = await again.readLogs(s.request.uuid);
    expect(lines).toEqual([
      { ...makeLog(s.request, 'request stored'), seq: 1 },
      {
        ...makeLog(s.request, 'a line of the task', task),
        ts: T0 + 1,
        level: 'warn',
        source: 'task',
        seq: 2,
      },
    ]);
    expect((await again.readLogs(s.request.uuid, { taskUuid: task })).map((l) => l.seq)).toEqual([2]);
    // Migration 3 rebuilt the unfinished requests' index: the running request is claimed.
    const claimed = await again.claimRequests('node-a', T0, 15_000, 10);
    expect(claimed.map((r) => r.uuid)).toEqual([s.request.uuid]);
    // New lines follow the migrated ones.
    await again.commit({ logs: [makeLog(s.request, 'after the upgrade')] }, { owner: 'node-a' });
    expect((await again.readLogs(s.request.uuid, { afterSeq: 2 })).map((l) => [l.seq, l.message])).toEqual([
      [3, 'after the upgrade'],
    ]);
    await again.close();
  });

  // A temporary B-tree per statement was a quarter of SQLite's instructions in W1 (a partial
  // index's `status IN (…)` predicate is tested through one on every insert and update of a request).
  it('writes records without building a temporary B-tree', async () => {
    const path = freshPath();
    await (await open(path)).close();
    const db = new Database(path);
    const statements = prepareStatements(db) as unknown as Record<string, Database.Statement>;
    const writes = Object.entries(statements).filter(([name]) => /^(insert|update|save)/.test(name));
    expect(writes.length).toBeGreaterThan(5);
    for (const [name, statement] of writes) {
      const explain = db.prepare(`EXPLAIN ${statement.source}`);
      const ops = explain.all(...Array<null>(statement.source.split('?').length - 1).fill(null)) as {
        opcode: string;
      }[];
      expect({ name, ephemeral: ops.some((op) => op.opcode === 'OpenEphemeral') }).toEqual({
        name,
        ephemeral: false,
      });
    }
    db.close();
  });

  it('stores a commit’s lines of one request as one chunk, whatever task runs logged them', async () => {
    const path = freshPath();
    const store = await open(path);
    const s = makeSubmission({}, 2);
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    const [first, second] = s.taskRuns.map((t) => t.uuid) as [string, string];
    const tasks = [first, null, second, first, second, null, first];
    const lines = tasks.map((task, i) => ({ ...makeLog(s.request, `line ${i}`, task), ts: T0 + i }));
    await store.commit({ logs: lines });
    const db = new Database(path, { readonly: true });
    // The create's chunk and the commit's.
    expect(db.prepare('SELECT count(*) FROM log_chunks').pluck().get()).toBe(2);
    db.close();
    const all = await store.readLogs(s.request.uuid);
    expect(all.map(({ seq: _seq, ...line }) => line)).toEqual([...s.logs, ...lines]);
    for (const task of [first, second]) {
      const mine = all.filter((l) => l.taskUuid === task);
      expect(mine.map((l) => l.message)).toEqual(
        lines.filter((l) => l.taskUuid === task).map((l) => l.message),
      );
      for (const line of [{ seq: 0 }, ...all]) {
        expect(
          await store.readLogs(s.request.uuid, { taskUuid: task, afterSeq: line.seq, limit: 1 }),
        ).toEqual(mine.filter((l) => l.seq > line.seq).slice(0, 1));
      }
    }
    await store.close();
  });

  it('lists every filter shape newest first from an index, never sorting the matches', async () => {
    const path = freshPath();
    await (await open(path)).close();
    const db = new Database(path);
    const cache = new Map();
    for (let shape = 0; shape < 16; shape++) {
      const key = [0, 1, 2, 3].map((bit) => ((shape >> bit) & 1 ? '1' : '0')).join('');
      for (const withCursor of [false, true]) {
        const { source } = listStatement(db, cache, key, withCursor);
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN ${source}`)
          .all(...Array<null>(source.split('?').length - 1).fill(null)) as { detail: string }[];
        const details = plan.map((step) => step.detail).join('; ');
        expect({ key, withCursor, details }).toEqual({
          key,
          withCursor,
          details: expect.stringMatching(/USING (COVERING )?INDEX/),
        });
        expect(details).not.toMatch(/TEMP B-TREE/);
      }
    }
    db.close();
  });

  it('opening an existing file twice does not migrate it again', async () => {
    const path = freshPath();
    const [a, b] = await Promise.all([open(path), open(path)]);
    await a.close();
    await b.close();
    await (await open(path)).close();
  });

  it('refuses a file written by a newer O3 with StoreUnavailableError', async () => {
    const path = freshPath();
    await (await open(path)).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    await expect(open(path)).rejects.toThrow(/newer than this O3 knows/);
    await expect(open(path)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('reports a path it cannot open as StoreUnavailableError', async () => {
    const blocker = join(root, randomUUID());
    mkdirSync(root, { recursive: true });
    writeFileSync(blocker, 'not a folder');
    await expect(open(join(blocker, 'o3.db'))).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('refuses calls before init() with StoreUnavailableError', async () => {
    await expect(createSqliteStore(':memory:').ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

/**
 * A node as a separate process: increments a counter attribute of one task run `rounds` times
 * (read, bump, commit, retry when stale) and fires due schedules one at a time; prints the uuids it fired.
 */
const NODE_PROCESS = `
  import { createSqliteStore } from './src/store/sqlite/sqlite-store.js';
  const [path, requestUuid, node, rounds] = process.argv.slice(1);
  const store = createSqliteStore(path);
  await store.init();
  const fired = [];
  for (let done = 0; done < Number(rounds); ) {
    const [run] = await store.getTaskRuns(requestUuid, 1);
    const count = run.attributes.count?.value ?? 0;
    const next = { ...run, attributes: { count: { value: count + 1, public: true } }, version: run.version + 1 };
    try {
      await store.commit({ taskRuns: [next] });
      done += 1;
    } catch (error) {
      if (error.code !== 'stale_write') throw error;
    }
    for (const r of await store.claimDueSchedules(node, ${T0 + 1000}, 15000, 1)) fired.push(r.uuid);
  }
  await store.close();
  console.log(JSON.stringify(fired));
`;

describe('sqlite store across processes', () => {
  it('loses no increment and fires each schedule once when processes race on one file', async () => {
    const path = freshPath();
    const store = await open(path);
    const s = makeSubmission({}, 1);
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    const due: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      const d = requestWithStatus('scheduled', { scheduledAt: T0 + i });
      await store.createRequest(d.request, d.revision, d.taskRuns);
      due.push(d.request.uuid);
    }
    const cwd = fileURLToPath(new URL('../..', import.meta.url));
    const run = (node: string) =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', NODE_PROCESS, path, s.request.uuid, node, '1000'],
        { cwd },
      );
    const outputs = await Promise.all(['node-a', 'node-b', 'node-c'].map(run));
    const fired = outputs.flatMap((o) => JSON.parse(o.stdout) as string[]);
    expect(fired.sort()).toEqual(due.sort());
    const [final] = await store.getTaskRuns(s.request.uuid, 1);
    expect(final!.attributes.count?.value).toBe(3000);
    expect(final!.version).toBe(3001);
    await store.close();
  });
});

describe('createStore', () => {
  it('opens sqlite:PATH, a bare .db path and sqlite::memory:', async () => {
    for (const url of [`sqlite:${freshPath()}`, freshPath(), 'sqlite::memory:']) {
      const store = await createStore(url);
      expect(store.kind).toBe('sqlite');
      await store.ping();
      await store.close();
    }
  });

  it('names the accepted forms for anything else', async () => {
    for (const url of ['mysql://x', 'data/o3', 'sqlite:']) {
      const error: unknown = await createStore(url).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(O3Error);
      expect((error as O3Error).code).toBe('bad_request');
      expect((error as O3Error).message).toMatch(/sqlite:PATH/);
    }
  });
});
