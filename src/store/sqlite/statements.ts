/**
 * Every SQL statement of the SQLite store, prepared once per connection. Preparing is the costly
 * part of a small statement, so the store never prepares on a call path (except the request list,
 * whose filter combinations are prepared on first use and cached; see listStatement).
 */
import type Database from 'better-sqlite3';
import type { RequestFilter } from '../store.js';
import {
  LOG_CHUNK_COLUMNS,
  MIXED_CHUNK,
  REQUEST_COLUMNS,
  REVISION_COLUMNS,
  TASK_RUN_COLUMNS,
  TEMPLATE_COLUMNS,
  type LogChunkRow,
  type RevisionRow,
  type TaskRunRow,
  type TemplateRow,
} from './rows.js';
import type { RequestRecord } from '../records.js';

type Stmt<R = unknown> = Database.Statement<unknown[], R>;
type NamedStmt<R = unknown> = Database.Statement<[Record<string, unknown>], R>;

/** The prepared statements of one connection. */
export interface Statements {
  ping: Stmt;
  insertRequest: Stmt;
  updateRequest: Stmt;
  updateOwnedRequest: Stmt;
  updateOwnedRequestReleasing: Stmt;
  saveRequest: Stmt;
  saveOwnedRequest: Stmt;
  saveOwnedRequestReleasing: Stmt;
  requestVersion: Stmt<number>;
  requestOwner: Stmt<string | null>;
  getRequest: Stmt<RequestRecord>;
  getRequestByRef: Stmt<RequestRecord>;
  insertRevision: Stmt;
  updateRevision: Stmt;
  revisionVersion: Stmt<number>;
  getRevisions: Stmt<RevisionRow>;
  insertTaskRun: Stmt;
  updateTaskRun: Stmt;
  taskRunVersion: Stmt<number>;
  getTaskRuns: Stmt<TaskRunRow>;
  lastLogSeq: Stmt<number | null>;
  insertLogChunk: Stmt;
  readLogChunks: Stmt<LogChunkRow>;
  readTaskLogChunks: Stmt<LogChunkRow>;
  claimRequests: NamedStmt<RequestRecord>;
  claimDueSchedules: NamedStmt<RequestRecord>;
  renewLease: Stmt;
  releaseLease: Stmt;
  nextScheduledAt: Stmt<number | null>;
  insertTemplate: Stmt;
  getTemplate: Stmt<TemplateRow>;
  listTemplates: Stmt<TemplateRow>;
}

// Inserts of version-1 records do nothing on any uniqueness conflict, so "the row exists" shows up
// as `changes === 0` exactly like a failed compare-and-set update, instead of as an exception.
const INSERT_REQUEST = `INSERT INTO requests (uuid, ref, trace_id, name, description, template_ref,
  template_version, payload_hash, status, revision, scheduled_at, created_at, updated_at, ended_at, error,
  owner, lease_expires_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT DO NOTHING`;

// owner and lease_expires_at are deliberately absent: only the lease operations move them.
const UPDATE_REQUEST = `UPDATE requests SET trace_id = ?, name = ?, description = ?, template_ref = ?,
  template_version = ?, payload_hash = ?, status = ?, revision = ?, scheduled_at = ?, updated_at = ?,
  ended_at = ?, error = ?, version = ? WHERE uuid = ? AND version = ?`;

// The same compare-and-set, fenced by the row's owner in the statement itself (one statement
// instead of an update and a look-up of the owner); the second form also gives the lease up.
const UPDATE_OWNED_REQUEST = `${UPDATE_REQUEST} AND owner = ?`;
const UPDATE_OWNED_REQUEST_RELEASING = UPDATE_OWNED_REQUEST.replace(
  'version = ? WHERE',
  'version = ?, owner = NULL, lease_expires_at = NULL WHERE',
);

// The same save for a request whose identity fields (trace id, name, description, template and
// payload hash) are those stored, which is every save the engine makes. SQLite rewrites an index
// for every column in SET, even to its own value: setting template_ref and trace_id rewrote two
// indexes per save (7 % of SQLite's instructions in W1). When they differ, nothing is written and
// the store falls back to UPDATE_REQUEST.
const SAVE_REQUEST = `UPDATE requests SET status = ?, revision = ?, scheduled_at = ?, updated_at = ?,
  ended_at = ?, error = ?, version = ? WHERE uuid = ? AND version = ? AND trace_id = ? AND name IS ?
  AND description IS ? AND template_ref = ? AND template_version = ? AND payload_hash = ?`;
const SAVE_OWNED_REQUEST = `${SAVE_REQUEST} AND owner = ?`;
const SAVE_OWNED_REQUEST_RELEASING = SAVE_OWNED_REQUEST.replace(
  'version = ? WHERE',
  'version = ?, owner = NULL, lease_expires_at = NULL WHERE',
);

const INSERT_REVISION = `INSERT INTO revisions (request_uuid, revision, reason, payload, template, status,
  created_at, started_at, ended_at, error, warnings, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT DO NOTHING`;

// A revision's reason, payload, template and warnings are fixed when it is added: a save writes
// only what changes as it runs (rewriting the payload and template would cost more than the rest).
const UPDATE_REVISION = `UPDATE revisions SET status = ?, started_at = ?, ended_at = ?, error = ?, version = ?
  WHERE request_uuid = ? AND revision = ? AND version = ?`;

const INSERT_TASK_RUN = `INSERT INTO task_runs (uuid, request_uuid, revision, task_ref, class_name, state,
  last_task_state, attempt, inputs, attributes, error, created_at, started_at, ended_at, version)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`;

const UPDATE_TASK_RUN = `UPDATE task_runs SET task_ref = ?, class_name = ?, state = ?, last_task_state = ?,
  attempt = ?, inputs = ?, attributes = ?, error = ?, started_at = ?, ended_at = ?, version = ?
  WHERE uuid = ? AND version = ?`;

// Both claims name their partial index (INDEXED BY): without statistics the planner prefers the
// status index and sorts every candidate, where the partial index yields them in order and stops
// at the limit.
//
// A lease is free when nobody holds it, it ran out, or it is ours already. A NULL expiry with an
// owner counts as run out, so a half-written lease can never pin a request forever.
const LEASE_FREE = `(owner IS NULL OR owner = @owner OR lease_expires_at IS NULL OR lease_expires_at <= @now)`;

// The predicate of the partial index requests_unfinished, spelled exactly as its migration does:
// the planner uses a partial index only for a WHERE that contains its predicate.
const UNFINISHED = `(status = 'pending' OR status = 'running' OR status = 'canceling')`;

const CLAIM_REQUESTS = `UPDATE requests SET owner = @owner, lease_expires_at = @until
  WHERE uuid IN (SELECT uuid FROM requests INDEXED BY requests_unfinished
    WHERE ${UNFINISHED} AND ${LEASE_FREE} ORDER BY created_at, uuid LIMIT @limit)
  RETURNING ${REQUEST_COLUMNS}`;

// Unlike a claim, firing a schedule changes the status, so it is a real save and bumps the version.
const CLAIM_DUE_SCHEDULES = `UPDATE requests SET status = 'pending', owner = @owner,
  lease_expires_at = @until, updated_at = @now, version = version + 1
  WHERE uuid IN (SELECT uuid FROM requests INDEXED BY requests_due
    WHERE status = 'scheduled' AND scheduled_at <= @now AND ${LEASE_FREE} ORDER BY scheduled_at, uuid LIMIT @limit)
  RETURNING ${REQUEST_COLUMNS}`;

/** Prepares every fixed statement of the store on `db` (whose schema must be current). */
export function prepareStatements(db: Database.Database): Statements {
  const p = <R>(sql: string): Stmt<R> => db.prepare<unknown[], R>(sql);
  const named = <R>(sql: string): NamedStmt<R> => db.prepare<Record<string, unknown>, R>(sql);
  return {
    ping: p('SELECT 1'),
    insertRequest: p(INSERT_REQUEST),
    updateRequest: p(UPDATE_REQUEST),
    updateOwnedRequest: p(UPDATE_OWNED_REQUEST),
    updateOwnedRequestReleasing: p(UPDATE_OWNED_REQUEST_RELEASING),
    saveRequest: p(SAVE_REQUEST),
    saveOwnedRequest: p(SAVE_OWNED_REQUEST),
    saveOwnedRequestReleasing: p(SAVE_OWNED_REQUEST_RELEASING),
    requestVersion: p<number>('SELECT version FROM requests WHERE uuid = ?').pluck(),
    requestOwner: p<string | null>('SELECT owner FROM requests WHERE uuid = ?').pluck(),
    getRequest: p(`SELECT ${REQUEST_COLUMNS} FROM requests WHERE uuid = ?`),
    getRequestByRef: p(`SELECT ${REQUEST_COLUMNS} FROM requests WHERE ref = ?`),
    insertRevision: p(INSERT_REVISION),
    updateRevision: p(UPDATE_REVISION),
    revisionVersion: p<number>(
      'SELECT version FROM revisions WHERE request_uuid = ? AND revision = ?',
    ).pluck(),
    getRevisions: p(`SELECT ${REVISION_COLUMNS} FROM revisions WHERE request_uuid = ? ORDER BY revision`),
    insertTaskRun: p(INSERT_TASK_RUN),
    updateTaskRun: p(UPDATE_TASK_RUN),
    taskRunVersion: p<number>('SELECT version FROM task_runs WHERE uuid = ?').pluck(),
    getTaskRuns: p(
      `SELECT ${TASK_RUN_COLUMNS} FROM task_runs WHERE request_uuid = ? AND revision = ? ORDER BY seq`,
    ),
    // The largest rowid, found at the end of the table's B-tree (no scan).
    lastLogSeq: p<number | null>('SELECT max(seq) FROM log_chunks').pluck(),
    insertLogChunk: p('INSERT INTO log_chunks (seq, request_uuid, task_uuid, lines) VALUES (?, ?, ?, ?)'),
    // A chunk whose last seq is past afterSeq may still begin before it: linesOfChunks cuts it.
    readLogChunks: p(
      `SELECT ${LOG_CHUNK_COLUMNS} FROM log_chunks WHERE request_uuid = ? AND seq > ? ORDER BY seq`,
    ),
    readTaskLogChunks: p(
      `SELECT ${LOG_CHUNK_COLUMNS} FROM log_chunks
        WHERE request_uuid = ? AND task_uuid IN (?, '${MIXED_CHUNK}') AND seq > ? ORDER BY seq`,
    ),
    claimRequests: named(CLAIM_REQUESTS),
    claimDueSchedules: named(CLAIM_DUE_SCHEDULES),
    renewLease: p('UPDATE requests SET lease_expires_at = ? WHERE uuid = ? AND owner = ?'),
    releaseLease: p('UPDATE requests SET owner = NULL, lease_expires_at = NULL WHERE uuid = ? AND owner = ?'),
    nextScheduledAt: p<number | null>(
      "SELECT MIN(scheduled_at) FROM requests INDEXED BY requests_due WHERE status = 'scheduled'",
    ).pluck(),
    insertTemplate: p(
      'INSERT INTO templates (ref_name, version, document, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    getTemplate: p(`SELECT ${TEMPLATE_COLUMNS} FROM templates WHERE ref_name = ? AND version = ?`),
    listTemplates: p(`SELECT ${TEMPLATE_COLUMNS} FROM templates`),
  };
}

// Each filter maps to one column; the order here fixes the order of the bound parameters.
const FILTER_COLUMNS = [
  ['status', 'status'],
  ['template', 'template_ref'],
  ['ref', 'ref'],
  ['traceId', 'trace_id'],
] as const satisfies readonly (readonly [keyof RequestFilter, string])[];

/** The filter values present in `filter`, in FILTER_COLUMNS order, and the cache key of their shape. */
export function filterValues(filter: RequestFilter): { key: string; values: string[] } {
  let key = '';
  const values: string[] = [];
  for (const [field] of FILTER_COLUMNS) {
    const value = filter[field];
    key += value === undefined ? '0' : '1';
    if (value !== undefined) values.push(value);
  }
  return { key, values };
}

/**
 * The list statement for one filter shape (key from filterValues, plus whether a cursor follows).
 * Each shape gets its own SQL with plain equalities, so SQLite can pick the matching index; a
 * generic `(? IS NULL OR col = ?)` form would defeat every index.
 */
export function listStatement(
  db: Database.Database,
  cache: Map<string, Stmt<RequestRecord>>,
  key: string,
  withCursor: boolean,
): Stmt<RequestRecord> {
  const cacheKey = `${key}${withCursor ? 'c' : ''}`;
  let stmt = cache.get(cacheKey);
  if (stmt === undefined) {
    const where = FILTER_COLUMNS.filter((_, i) => key[i] === '1').map(([, column]) => `${column} = ?`);
    if (withCursor) where.push('(created_at, uuid) < (?, ?)');
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    stmt = db.prepare<unknown[], RequestRecord>(
      `SELECT ${REQUEST_COLUMNS} FROM requests ${clause} ORDER BY created_at DESC, uuid DESC LIMIT ?`,
    );
    cache.set(cacheKey, stmt);
  }
  return stmt;
}
