/**
 * The PostgreSQL store: a pg.Pool whose connections live in one schema (`search_path` set at
 * connect time). Every write is one statement: commit and createRequest call PL/pgSQL functions
 * (migrations.ts) that save all records of a change set with multi-row compare-and-set statements,
 * so group-committing a hundred task runs costs one round trip, as does committing one.
 * Claims use FOR UPDATE SKIP LOCKED, so nodes claiming at once never wait for or overlap each other.
 */
import pg from 'pg';
import type { CustomTypesConfig, Pool, PoolClient, QueryResultRow } from 'pg';
import { O3Error, StoreUnavailableError } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type {
  ChangeSet,
  CommitOptions,
  CreateRequestResult,
  LogLine,
  LogQuery,
  NewRequest,
  Page,
  RequestFilter,
  RequestRecord,
  RevisionRecord,
  SaveTemplateResult,
  Store,
  StoredLogLine,
  TaskRunRecord,
  TemplateRecord,
} from '../store.js';
import { jsonWithDocument } from '../document-json.js';
import { compareTemplateRecords } from '../store.js';
import { MIGRATIONS } from './migrations.js';
import { toStoreError } from './postgres-errors.js';
import { SQL, listQuery, type Statement } from './statements.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** The schema holding O3's tables (created when missing); else `?schema=` of the URL, else public. */
  schema?: string;
  /** The most connections the pool opens (default 10). */
  poolSize?: number;
}

/** Creates the PostgreSQL store for a `postgres://` URL; call init() next. */
export function createPostgresStore(url: string, options: PostgresStoreOptions = {}): Store {
  return new PostgresStore(url, options);
}

// Connecting must fail fast when the server is down, so that callers get StoreUnavailableError
// and retry, instead of waiting forever for a connection.
const CONNECT_TIMEOUT_MS = 5000;
const IDLE_TIMEOUT_MS = 30_000;
// Times are epoch milliseconds in bigint columns; pg returns int8 as a string, since it may exceed
// 2^53. O3's values never do, so they come back as numbers.
const INT8_OID = 20;
const TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID
      ? Number
      : (pg.types.getTypeParser(oid, format) as unknown)) as CustomTypesConfig['getTypeParser'],
};
// The advisory lock class under which migrations run (the second key is the schema's hash).
const MIGRATION_LOCK = 0x4f33;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** The store over one pool; see the module comment. */
class PostgresStore implements Store {
  readonly kind = 'postgres';
  // Measured: two commits in flight cost the server more per request than they overlap (W1 −7 %).
  readonly concurrentWrites = 1;
  // Measured: parts of 128 requests made W1 in bulk 6 % slower than one statement per batch.
  readonly maxRequestsPerWrite = Infinity;
  readonly #url: string;
  readonly #schema: string;
  readonly #poolSize: number;
  #pool: Pool | undefined;
  #closed = false;

  constructor(url: string, options: PostgresStoreOptions) {
    const { connectionString, schema } = parseUrl(url, options.schema);
    this.#url = connectionString;
    this.#schema = schema;
    this.#poolSize = options.poolSize ?? 10;
  }

  async init(): Promise<void> {
    if (this.#pool !== undefined) return;
    const pool = new pg.Pool({
      connectionString: this.#url,
      max: this.#poolSize,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      idleTimeoutMillis: IDLE_TIMEOUT_MS,
      keepAlive: true,
      types: TYPES,
    });
    // An idle connection that dies (server restart, pg_terminate_backend) is reported here and
    // dropped by the pool; without a listener the event would crash the process. The next call
    // opens a fresh connection, so nothing else is needed to recover.
    pool.on('error', () => undefined);
    try {
      await migrate(pool, this.#schema);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw toStoreError(error);
    }
    this.#pool = pool;
    this.#closed = false;
  }

  async ping(): Promise<void> {
    await this.#query(SQL.ping, []);
  }

  async durabilityWarnings(): Promise<string[]> {
    const [settings] = await this.#query<{ fsync: string; synchronousCommit: string }>(SQL.durability, []);
    const warnings: string[] = [];
    if (settings?.fsync === 'off') {
      warnings.push(
        'PostgreSQL runs with fsync = off: a crash of its machine can lose or corrupt what O3 committed.',
      );
    }
    if (settings?.synchronousCommit === 'off') {
      warnings.push(
        'PostgreSQL runs with synchronous_commit = off: a crash of the server can lose the last commits O3 was told were durable.',
      );
    }
    return warnings;
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#closed = true;
    this.#pool = undefined;
    if (pool !== undefined) await pool.end();
  }

  async createRequest(
    request: RequestRecord,
    revision: RevisionRecord,
    taskRuns: TaskRunRecord[],
    logs?: LogLine[],
  ): Promise<CreateRequestResult> {
    const [result] = await this.createRequests([{ request, revision, taskRuns, logs }]);
    return result!;
  }

  async createRequests(items: NewRequest[]): Promise<CreateRequestResult[]> {
    if (items.length === 0) return [];
    // null: every item created its request (the common case), else one answer per item.
    const [row] = items.every(insertsOnly)
      ? await this.#query<{ existing: (string | null)[] | null }>(SQL.createBatch, batchValues(items))
      : await this.#query<{ existing: (string | null)[] }>(SQL.createRequests, [toJson(items)]);
    const existing = row?.existing ?? items.map(() => null);
    // A ref taken by an earlier item of the batch is answered with that item's request; one taken
    // before is read back (requests are never deleted, so it is still there).
    const created = new Map<string, RequestRecord>();
    items.forEach((item, i) => {
      if (existing[i] === null) created.set(item.request.uuid, item.request);
    });
    const others = [...new Set(existing.filter((u): u is string => u !== null && !created.has(u)))];
    const found = others.length === 0 ? [] : await this.#query<RequestRecord>(SQL.getRequests, [others]);
    const stored = new Map([...created, ...found.map((r) => [r.uuid, r] as const)]);
    return items.map((item, i) => {
      const uuid = existing[i] ?? null;
      if (uuid === null) return { created: true, request: { ...item.request } };
      const request = stored.get(uuid);
      if (request === undefined) throw new Error(`request ${uuid} vanished while being read`);
      return { created: false, request: { ...request } };
    });
  }

  async commit(changes: ChangeSet, options?: CommitOptions): Promise<void> {
    const owner = options?.owner ?? null;
    // Releases apply to fenced commits only: without an owner there is no lease to give up. A
    // request saved by this change set carries its release in its save (see migrations.ts).
    const released = new Set(owner === null ? [] : changes.releases);
    const saved = new Set<string>();
    const [newRequests, requests] = split(changes.requests, (r) => {
      saved.add(r.uuid);
      return requestSave(r, released.has(r.uuid));
    });
    const others = [...released].filter((uuid) => !saved.has(uuid));
    const releases = others.length === 0 ? null : others;
    const [newRevisions, revisions] = split(changes.revisions, revisionSave, revisionsJson);
    const [newTaskRuns, taskRuns] = split(changes.taskRuns, taskRunSave);
    const logs = changes.logs?.length ? toJson(changes.logs) : null;
    const writes = [newRequests, requests, newRevisions, revisions, newTaskRuns, taskRuns, logs, releases];
    if (writes.every((w) => w === null)) return;
    const touched = owner === null ? null : touchedRequests(changes);
    await this.#query(SQL.saveChanges, [owner, touched, ...writes]);
  }

  async getRequest(uuid: string): Promise<RequestRecord | undefined> {
    return (await this.#query<RequestRecord>(SQL.getRequest, [uuid]))[0];
  }

  async getRequestByRef(ref: string): Promise<RequestRecord | undefined> {
    return (await this.#query<RequestRecord>(SQL.getRequestByRef, [ref]))[0];
  }

  async listRequests(
    filter: RequestFilter,
    page: { limit: number; cursor?: string | null },
  ): Promise<Page<RequestRecord>> {
    if (!Number.isInteger(page.limit) || page.limit < 1) {
      throw new O3Error('bad_request', `The page limit must be a positive integer, not ${page.limit}.`);
    }
    // An empty cursor (e.g. `?cursor=`) means the first page, like none at all.
    const after = page.cursor ? decodeCursor(page.cursor) : undefined;
    // One row more than asked tells whether a next page exists without a second query.
    const query = listQuery(filter, after, page.limit + 1);
    const rows = await this.#query<RequestRecord>(query, query.values ?? []);
    const items = rows.slice(0, page.limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > page.limit && last ? encodeCursor(last.createdAt, last.uuid) : null;
    return { items, nextCursor };
  }

  async getRevisions(requestUuid: string): Promise<RevisionRecord[]> {
    return this.#query<RevisionRecord>(SQL.getRevisions, [requestUuid]);
  }

  async getTaskRuns(requestUuid: string, revision: number): Promise<TaskRunRecord[]> {
    return this.#query<TaskRunRecord>(SQL.getTaskRuns, [requestUuid, revision]);
  }

  async readLogs(requestUuid: string, query: LogQuery = {}): Promise<StoredLogLine[]> {
    // As in SQLite, no limit (or a negative one) means every line.
    const limit = query.limit === undefined || query.limit < 0 ? null : query.limit;
    const params = [requestUuid, query.afterSeq ?? 0, limit];
    return query.taskUuid === undefined
      ? this.#query<StoredLogLine>(SQL.readLogs, params)
      : this.#query<StoredLogLine>(SQL.readTaskLogs, [...params, query.taskUuid]);
  }

  async claimRequests(owner: string, now: number, leaseMs: number, limit: number): Promise<RequestRecord[]> {
    if (limit < 1) return [];
    const rows = await this.#query<RequestRecord>(SQL.claimRequests, [owner, now, now + leaseMs, limit]);
    return rows.sort(byCreation);
  }

  async claimDueSchedules(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<RequestRecord[]> {
    if (limit < 1) return [];
    const rows = await this.#query<RequestRecord>(SQL.claimDueSchedules, [owner, now, now + leaseMs, limit]);
    return rows.sort((a, b) => (a.scheduledAt ?? 0) - (b.scheduledAt ?? 0) || byCreation(a, b));
  }

  async renewLeases(owner: string, uuids: string[], now: number, leaseMs: number): Promise<string[]> {
    if (uuids.length === 0) return [];
    const rows = await this.#query<{ uuid: string }>(SQL.renewLeases, [uuids, owner, now + leaseMs]);
    const held = new Set(rows.map((r) => r.uuid));
    return uuids.filter((uuid) => held.has(uuid));
  }

  async releaseLease(owner: string, uuid: string): Promise<void> {
    await this.#query(SQL.releaseLease, [uuid, owner]);
  }

  async nextScheduledAt(): Promise<number | null> {
    const [row] = await this.#query<{ at: number | null }>(SQL.nextScheduledAt, []);
    return row?.at ?? null;
  }

  async saveTemplate(record: TemplateRecord): Promise<SaveTemplateResult> {
    const { refName, version, document, createdAt } = record;
    const inserted = await this.#query(SQL.insertTemplate, [refName, version, toJson(document), createdAt]);
    if (inserted.length === 1) return { saved: true };
    // Read in a statement of its own: a racing save that committed after the insert's snapshot was
    // taken is invisible to that statement, but not to a new one. Templates are never deleted.
    const [existing] = await this.#query<TemplateRecord>(SQL.getTemplate, [refName, version]);
    if (existing === undefined) throw new Error(`template ${refName} vanished while being read`);
    return { saved: false, existing };
  }

  async listTemplates(): Promise<TemplateRecord[]> {
    return (await this.#query<TemplateRecord>(SQL.listTemplates, [])).sort(compareTemplateRecords);
  }

  /** Runs one named statement on the pool, translating errors (postgres-errors.ts). */
  async #query<R extends QueryResultRow>(statement: Statement, values: unknown[]): Promise<R[]> {
    const pool = this.#pool;
    if (pool === undefined) {
      const why = this.#closed ? 'closed' : 'not initialised (init() not called)';
      throw new StoreUnavailableError(`The PostgreSQL store (schema ${this.#schema}) is ${why}.`);
    }
    try {
      return (await pool.query<R>({ name: statement.name, text: statement.text, values })).rows;
    } catch (error) {
      throw toStoreError(error);
    }
  }
}

/**
 * The connection string pg gets, and the schema: `?schema=` is O3's own parameter, so it is taken
 * out, and the schema goes into the startup `options` as the connection's search_path.
 */
function parseUrl(
  url: string,
  schemaOption: string | undefined,
): { connectionString: string; schema: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new O3Error('bad_request', `The PostgreSQL URL "${url}" cannot be read.`, { cause: error });
  }
  const schema = schemaOption ?? (parsed.searchParams.get('schema') || 'public');
  if (!SCHEMA_NAME.test(schema)) {
    throw new O3Error(
      'bad_request',
      `The PostgreSQL schema "${schema}" is not a plain name (letters, digits, _; at most 63).`,
    );
  }
  parsed.searchParams.delete('schema');
  const options = parsed.searchParams.get('options');
  parsed.searchParams.set('options', `${options ?? ''} -c search_path="${schema}"`.trim());
  if (!parsed.searchParams.has('application_name')) parsed.searchParams.set('application_name', 'o3');
  return { connectionString: parsed.toString(), schema };
}

/**
 * Creates the schema and applies the migrations it has not seen, in one transaction under an
 * advisory lock: nodes starting at once wait for the first and then find nothing left to do.
 */
async function migrate(pool: Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  // An error of the checked-out connection between queries must not crash the process either.
  client.on('error', () => undefined);
  let failure: unknown;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const current = await appliedVersion(client);
    if (current > MIGRATIONS.length) {
      throw new StoreUnavailableError(
        `The PostgreSQL schema ${schema} has schema version ${current}, newer than this O3 knows (${MIGRATIONS.length}); upgrade O3.`,
      );
    }
    for (const [i, sql] of MIGRATIONS.entries()) {
      if (i < current) continue;
      await client.query(sql);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
    }
    await client.query('COMMIT');
  } catch (error) {
    failure = error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    // A connection that failed is destroyed rather than returned to the pool.
    client.release(failure instanceof Error ? failure : undefined);
  }
}

/** The number of migrations a schema has seen. */
async function appliedVersion(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ current: number }>(
    'SELECT coalesce(max(version), 0)::integer AS current FROM schema_migrations',
  );
  return rows[0]?.current ?? 0;
}

/**
 * JSON of a record for the store's functions. PostgreSQL text cannot hold NUL, so a `\u0000`
 * escape (e.g. a stray NUL in a task's log) becomes U+FFFD instead of failing the whole commit.
 */
function toJson(value: unknown): string {
  return withoutNul(JSON.stringify(value));
}

function withoutNul(text: string): string {
  return text.includes('\\u0000') ? text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd') : text;
}

/** JSON of new revisions, each template's text made once per template version (document-json.ts). */
function revisionsJson(revisions: readonly RevisionRecord[]): string {
  const texts = revisions.map((r) =>
    jsonWithDocument(
      {
        requestUuid: r.requestUuid,
        revision: r.revision,
        reason: r.reason,
        payload: r.payload,
        status: r.status,
        createdAt: r.createdAt,
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        error: r.error,
        warnings: r.warnings,
        version: r.version,
      },
      'template',
      r.template,
    ),
  );
  return withoutNul(`[${texts.join(',')}]`);
}

/**
 * The JSON of a kind's inserts (version 1, every field) and of its saves (only what a save may
 * change, plus the key and version), each null when there is none: the function then skips it.
 */
function split<T extends { version: number }>(
  records: readonly T[] | undefined,
  save: (record: T) => unknown,
  insertsJson: (inserts: T[]) => string = toJson,
): [string | null, string | null] {
  if (records === undefined || records.length === 0) return [null, null];
  const inserts: T[] = [];
  const saves: unknown[] = [];
  for (const record of records) {
    if (record.version === 1) inserts.push(record);
    else saves.push(save(record));
  }
  return [inserts.length === 0 ? null : insertsJson(inserts), saves.length === 0 ? null : toJson(saves)];
}

/**
 * The values of o3_create_batch: requests and revisions (one per item), then task runs and log
 * lines of all items, each with the item (from 1) it belongs to; null for none.
 */
function batchValues(items: NewRequest[]): unknown[] {
  const taskRuns: TaskRunRecord[] = [];
  const taskRunItems: number[] = [];
  const logs: LogLine[] = [];
  const logItems: number[] = [];
  items.forEach((item, i) => {
    for (const taskRun of item.taskRuns) {
      taskRuns.push(taskRun);
      taskRunItems.push(i + 1);
    }
    for (const line of item.logs ?? []) {
      logs.push(line);
      logItems.push(i + 1);
    }
  });
  return [
    toJson(items.map((item) => item.request)),
    revisionsJson(items.map((item) => item.revision)),
    taskRuns.length === 0 ? null : toJson(taskRuns),
    taskRuns.length === 0 ? null : taskRunItems,
    logs.length === 0 ? null : toJson(logs),
    logs.length === 0 ? null : logItems,
  ];
}

/** True when every record of a new request is an insert (version 1), as the engine makes them. */
function insertsOnly(item: NewRequest): boolean {
  return (
    item.request.version === 1 && item.revision.version === 1 && item.taskRuns.every((t) => t.version === 1)
  );
}

/**
 * What a request save sends: never ref, createdAt, owner or lease, which a save never changes, but
 * whether the committing node gives up its lease with it.
 */
function requestSave(r: RequestRecord, release: boolean): Partial<RequestRecord> & { release: boolean } {
  const { uuid, traceId, name, description, templateRef, templateVersion, payloadHash, status } = r;
  const { revision, scheduledAt, updatedAt, endedAt, error, version } = r;
  return {
    uuid,
    traceId,
    name,
    description,
    templateRef,
    templateVersion,
    payloadHash,
    status,
    revision,
    scheduledAt,
    updatedAt,
    endedAt,
    error,
    version,
    release,
  };
}

/**
 * What a revision save sends: only what a save may change (status, times, error), so the payload
 * and template are not shipped again with every save.
 */
function revisionSave(r: RevisionRecord): Partial<RevisionRecord> {
  const { requestUuid, revision, status, startedAt, endedAt, error, version } = r;
  return { requestUuid, revision, status, startedAt, endedAt, error, version };
}

/** What a task run save sends: never its request, revision or creation time. */
function taskRunSave(t: TaskRunRecord): Partial<TaskRunRecord> {
  const { uuid, taskRef, className, state, lastTaskState, attempt, inputs, attributes, error } = t;
  const { startedAt, endedAt, version } = t;
  return {
    uuid,
    taskRef,
    className,
    state,
    lastTaskState,
    attempt,
    inputs,
    attributes,
    error,
    startedAt,
    endedAt,
    version,
  };
}

/** The uuids of every request a change set touches, for fencing. */
function touchedRequests(changes: ChangeSet): string[] {
  const touched = new Set<string>();
  for (const r of changes.requests ?? []) touched.add(r.uuid);
  for (const r of changes.revisions ?? []) touched.add(r.requestUuid);
  for (const t of changes.taskRuns ?? []) touched.add(t.requestUuid);
  for (const l of changes.logs ?? []) touched.add(l.requestUuid);
  return [...touched];
}

/** Oldest first, by creation time then uuid, as the claim statements pick them. */
function byCreation(a: RequestRecord, b: RequestRecord): number {
  return a.createdAt - b.createdAt || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
}
