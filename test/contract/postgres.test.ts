import { randomUUID } from 'node:crypto';
import { startProxy } from '../helpers/tcp-proxy.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { O3Error, StaleWriteError, StoreUnavailableError } from '../../src/errors.js';
import { createStore } from '../../src/store/create-store.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';
import { T0, bump, makeLog, makeSubmission, makeTemplateRecord } from './fixtures.js';
import { describeStoreContract } from './store-contract.js';

const PG_URL = process.env.O3_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Every schema this file creates, dropped at the end. */
const schemas: string[] = [];
const admin = new pg.Client({ connectionString: PG_URL });
beforeAll(() => admin.connect());
afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

/** A new schema name (not created yet: the store creates it). */
function freshSchema(): string {
  const schema = `o3_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  schemas.push(schema);
  return schema;
}

/** Opens and initialises a store on `schema`, optionally under its own application_name. */
async function open(schema: string, applicationName?: string): Promise<Store> {
  const url = applicationName === undefined ? PG_URL : `${PG_URL}?application_name=${applicationName}`;
  const store = createPostgresStore(url, { schema });
  await store.init();
  return store;
}

/** The tables of a schema, sorted. */
async function tablesOf(schema: string): Promise<string[]> {
  const { rows } = await admin.query<{ name: string }>(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
    [schema],
  );
  return rows.map((r) => r.name);
}

const schemaOf = new WeakMap<Store, string>();

describeStoreContract(
  'postgres',
  async () => {
    const schema = freshSchema();
    const store = await open(schema);
    schemaOf.set(store, schema);
    return store;
  },
  { openPeer: (store) => open(schemaOf.get(store)!) },
);

describe('postgres store: schema and migrations', () => {
  it('creates its tables in the schema it is given, and nothing in public', async () => {
    const schema = freshSchema();
    const publicBefore = await tablesOf('public');
    const store = await open(schema);
    await store.close();
    expect(await tablesOf(schema)).toEqual([
      'logs',
      'requests',
      'revisions',
      'schema_migrations',
      'task_runs',
      'templates',
    ]);
    expect(await tablesOf('public')).toEqual(publicBefore);
  });

  it('brings a schema of the first migration up to date, keeping its requests', async () => {
    const schema = freshSchema();
    const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path="${schema}"` });
    await client.connect();
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(
      'CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz)',
    );
    await client.query(MIGRATIONS[0]!);
    await client.query('INSERT INTO schema_migrations (version) VALUES (1)');
    await client.end();
    const old = await open(schema);
    const s = makeSubmission();
    await old.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    expect(await old.saveTemplate(makeTemplateRecord('upgraded', 1))).toEqual({ saved: true });
    expect(await old.getRequest(s.request.uuid)).toEqual(s.request);
    await old.close();
  });

  it('several nodes starting at once on a new schema migrate it exactly once', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(Array.from({ length: 5 }, () => open(schema)));
    const again = await open(schema); // and a later start finds nothing to do
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY 1`);
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    const s = makeSubmission();
    await stores[0]!.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    expect(await stores[4]!.getRequest(s.request.uuid)).toEqual(s.request);
    for (const store of [...stores, again]) await store.close();
  });

  it('refuses a schema written by a newer O3 with StoreUnavailableError', async () => {
    const schema = freshSchema();
    await (await open(schema)).close();
    await admin.query(`INSERT INTO "${schema}".schema_migrations (version) VALUES ($1)`, [
      MIGRATIONS.length + 1,
    ]);
    const error: unknown = await open(schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/newer than this O3 knows/);
  });

  it('refuses a schema name that is not a plain identifier with bad_request', () => {
    for (const schema of ['a"b', 'x; DROP TABLE y', '', '1abc']) {
      const error: unknown = (() => {
        try {
          return createPostgresStore(PG_URL, { schema });
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(O3Error);
      expect((error as O3Error).code).toBe('bad_request');
    }
  });

  it('createStore opens a postgres:// URL in the schema named by ?schema=', async () => {
    const schema = freshSchema();
    const store = await createStore(`${PG_URL}?schema=${schema}`);
    expect(store.kind).toBe('postgres');
    const s = makeSubmission();
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    await store.close();
    const { rows } = await admin.query(`SELECT uuid FROM "${schema}".requests`);
    expect(rows).toEqual([{ uuid: s.request.uuid }]);
  });
});

describe('postgres store: durability warnings', () => {
  it('warns of synchronous_commit = off, which can lose acknowledged commits', async () => {
    const url = `${PG_URL}?options=${encodeURIComponent('-c synchronous_commit=off')}`;
    const store = createPostgresStore(url, { schema: freshSchema() });
    await store.init();
    const warnings = await store.durabilityWarnings();
    await store.close();
    expect(warnings).toEqual([expect.stringContaining('synchronous_commit = off')]);
  });

  it('warns of nothing the server does not do', async () => {
    const store = await open(freshSchema());
    const warnings = await store.durabilityWarnings();
    await store.close();
    const { rows } = await admin.query<{ fsync: string; sc: string }>(
      `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc`,
    );
    const expected = [
      rows[0]!.fsync === 'off' && 'fsync = off',
      rows[0]!.sc === 'off' && 'synchronous_commit = off',
    ];
    expect(warnings).toEqual(
      expected.filter((text) => text !== false).map((text) => expect.stringContaining(text)),
    );
  });
});

describe('postgres store: batches', () => {
  it('a stale task run in a batch of 100 is named, and nothing of the batch is written', async () => {
    const store = await open(freshSchema());
    const s = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 1000 }, 100);
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    const updated = s.taskRuns.map((t) => bump(t, { state: 'running' }));
    await store.commit({ taskRuns: updated }, { owner: 'node-a' });
    const again = updated.map((t) => bump(t, { state: 'successful' }));
    again[57] = { ...again[57]!, version: 2 }; // stale: version 2 is stored already
    const error: unknown = await store
      .commit({ taskRuns: again, logs: [makeLog(s.request, 'lost')] }, { owner: 'node-a' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleWriteError);
    expect((error as Error).message).toContain(`task run ${again[57]?.uuid}`);
    expect(await store.getTaskRuns(s.request.uuid, 1)).toEqual(updated);
    expect(await store.readLogs(s.request.uuid)).toHaveLength(1);
    await store.close();
  });

  it('stores a NUL character of a log line as U+FFFD instead of failing the commit', async () => {
    const store = await open(freshSchema());
    const s = makeSubmission({}, 0);
    await store.createRequest(s.request, s.revision, s.taskRuns);
    await store.commit({ logs: [makeLog(s.request, 'a\u0000b \\u0000 c')] });
    expect((await store.readLogs(s.request.uuid)).map((l) => l.message)).toEqual(['a\ufffdb \\u0000 c']);
    await store.close();
  });
});

describe('postgres store: connection loss', () => {
  /** Terminates every backend of an application_name; returns how many there were. */
  async function terminate(applicationName: string, state?: string): Promise<number> {
    const { rows } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = $1 AND ($2::text IS NULL OR state = $2)`,
      [applicationName, state ?? null],
    );
    return rows.length;
  }

  it('answers StoreUnavailableError for a server that cannot be reached, without waiting long', async () => {
    const started = Date.now();
    const store = createPostgresStore('postgres://postgres@127.0.0.1:1/test');
    await expect(store.init()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('fails fast with StoreUnavailableError while PostgreSQL is away, and recovers when it is back', async () => {
    const target = new URL(PG_URL);
    const proxy = await startProxy(target.hostname, Number(target.port || 5432));
    target.host = `127.0.0.1:${proxy.port}`;
    const store = createPostgresStore(target.toString(), { schema: freshSchema() });
    await store.init();
    const s = makeSubmission();
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    await proxy.stop();
    const started = Date.now();
    await expect(store.getRequest(s.request.uuid)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.commit({ logs: [makeLog(s.request, 'x')] })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    await proxy.start();
    expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
    await store.close();
    await proxy.stop();
  });

  it('answers StoreUnavailableError for a database that does not exist or a login that is refused', async () => {
    const target = new URL(PG_URL);
    target.pathname = `/o3_no_such_database_${randomUUID().slice(0, 8)}`;
    await expect(createPostgresStore(target.toString()).init()).rejects.toBeInstanceOf(StoreUnavailableError);
    const noUser = new URL(PG_URL);
    noUser.username = `o3_no_such_role_${randomUUID().slice(0, 8)}`;
    const error: unknown = await createPostgresStore(noUser.toString())
      .init()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/o3_no_such_role/);
  });

  it('recovers by itself after its idle connections are terminated', async () => {
    const name = `o3_test_${randomUUID().slice(0, 8)}`;
    const store = await open(freshSchema(), name);
    await Promise.all([store.ping(), store.ping(), store.ping()]);
    expect(await terminate(name)).toBeGreaterThan(0);
    // The pool may still hand out a connection whose end it has not heard of yet: that call fails
    // as unavailable, and a retry (what the engine does) gets a fresh connection.
    const s = makeSubmission();
    for (let attempt = 1; ; attempt += 1) {
      try {
        await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
        break;
      } catch (error) {
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(attempt).toBeLessThan(5);
      }
    }
    expect(await store.getRequest(s.request.uuid)).toEqual(s.request);
    await store.close();
  });

  it('fails a commit whose connection dies mid-statement with StoreUnavailableError, then works again', async () => {
    const name = `o3_test_${randomUUID().slice(0, 8)}`;
    const schema = freshSchema();
    const store = await open(schema, name);
    const s = makeSubmission({ owner: 'node-a', leaseExpiresAt: T0 + 1000 }, 1);
    await store.createRequest(s.request, s.revision, s.taskRuns, s.logs);
    // Another session holds the request's row, so the fenced commit waits on it, mid-statement.
    const blocker = new pg.Client({ connectionString: PG_URL });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT 1 FROM "${schema}".requests WHERE uuid = $1 FOR UPDATE`, [s.request.uuid]);
    const commit = store.commit({ taskRuns: [bump(s.taskRuns[0]!)] }, { owner: 'node-a' });
    const settled = commit.catch((e: unknown) => e);
    // Wait until the commit is waiting for the row lock, then cut its connection.
    for (let i = 0; i < 100 && (await terminate(name, 'active')) === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await settled).toBeInstanceOf(StoreUnavailableError);
    await blocker.query('ROLLBACK');
    await blocker.end();
    await store.commit({ taskRuns: [bump(s.taskRuns[0]!)] }, { owner: 'node-a' });
    expect((await store.getTaskRuns(s.request.uuid, 1))[0]!.version).toBe(2);
    await store.close();
  });
});
