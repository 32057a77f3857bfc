/**
 * The SQL of the PostgreSQL store. Each statement has a name, so that a connection parses and plans
 * it once (pg keeps named prepared statements per connection) and later calls only bind and run.
 * Selects alias columns to the records' field names, so a row *is* its record.
 */
import type { QueryConfig } from 'pg';
import type { RequestFilter } from '../store.js';

/** The request columns, aliased to RequestRecord's field names. */
export const REQUEST_COLUMNS = `uuid, ref, trace_id AS "traceId", name, description,
  template_ref AS "templateRef", template_version AS "templateVersion", payload_hash AS "payloadHash",
  status, revision, scheduled_at AS "scheduledAt", created_at AS "createdAt", updated_at AS "updatedAt",
  ended_at AS "endedAt", error, owner, lease_expires_at AS "leaseExpiresAt", version`;

const REVISION_COLUMNS = `request_uuid AS "requestUuid", revision, reason, payload, template, status,
  created_at AS "createdAt", started_at AS "startedAt", ended_at AS "endedAt", error, warnings, version`;

const TASK_RUN_COLUMNS = `uuid, request_uuid AS "requestUuid", revision, task_ref AS "taskRef",
  class_name AS "className", state, last_task_state AS "lastTaskState", attempt, inputs, attributes,
  error, created_at AS "createdAt", started_at AS "startedAt", ended_at AS "endedAt", version`;

const LOG_COLUMNS = `seq, request_uuid AS "requestUuid", task_uuid AS "taskUuid", ts, level, source, message`;

const TEMPLATE_COLUMNS = `ref_name AS "refName", version, document, created_at AS "createdAt"`;

/** A named statement without its values. */
export type Statement = Pick<QueryConfig, 'name' | 'text'>;

const statement = (name: string, text: string): Statement => ({ name: `o3_${name}`, text });

// A lease is free when nobody holds it, it ran out, or it is ours already. A NULL expiry with an
// owner counts as run out, so a half-written lease can never pin a request forever.
const LEASE_FREE = `(owner IS NULL OR owner = $1 OR lease_expires_at IS NULL OR lease_expires_at <= $2)`;

/** The fixed statements of the store; parameters are listed where each is used. */
export const SQL = {
  ping: statement('ping', 'SELECT 1'),
  durability: statement(
    'durability',
    `SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS "synchronousCommit"`,
  ),
  // ($1 owner, $2 touched uuids, then JSON arrays of new and saved requests, revisions and task
  // runs, of log lines, and $10 released uuids; null for a kind that is absent.)
  saveChanges: statement('save_changes', 'SELECT o3_save_changes($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)'),
  // ($1 requests, $2 their revisions, $3 task runs and $4 the item of each, $5 log lines and $6
  // the item of each; see migrations.ts.)
  createBatch: statement('create_batch', 'SELECT o3_create_batch($1, $2, $3, $4, $5, $6) AS existing'),
  // Creates item by item (migration 1), for a batch holding a record of version > 1, which is a
  // compare-and-set save rather than an insert.
  createRequests: statement('create_requests', 'SELECT o3_create_requests($1) AS existing'),
  getRequest: statement('get_request', `SELECT ${REQUEST_COLUMNS} FROM requests WHERE uuid = $1`),
  getRequests: statement('get_requests', `SELECT ${REQUEST_COLUMNS} FROM requests WHERE uuid = ANY ($1)`),
  getRequestByRef: statement('get_request_by_ref', `SELECT ${REQUEST_COLUMNS} FROM requests WHERE ref = $1`),
  getRevisions: statement(
    'get_revisions',
    `SELECT ${REVISION_COLUMNS} FROM revisions WHERE request_uuid = $1 ORDER BY revision`,
  ),
  getTaskRuns: statement(
    'get_task_runs',
    `SELECT ${TASK_RUN_COLUMNS} FROM task_runs WHERE request_uuid = $1 AND revision = $2 ORDER BY seq`,
  ),
  // A NULL limit is no limit in PostgreSQL.
  readLogs: statement(
    'read_logs',
    `SELECT ${LOG_COLUMNS} FROM logs WHERE request_uuid = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
  ),
  readTaskLogs: statement(
    'read_task_logs',
    `SELECT ${LOG_COLUMNS} FROM logs WHERE request_uuid = $1 AND task_uuid = $4 AND seq > $2
      ORDER BY seq LIMIT $3`,
  ),
  // ($1 owner, $2 now, $3 lease until, $4 limit). SKIP LOCKED: nodes claiming at once never wait
  // for each other and never take the same request; a row another claim changed meanwhile is
  // re-checked against the condition before it is locked.
  claimRequests: statement(
    'claim_requests',
    `WITH c AS (
      SELECT uuid AS claimed FROM requests
      WHERE status IN ('pending', 'running', 'canceling') AND ${LEASE_FREE}
      ORDER BY created_at, uuid LIMIT $4 FOR UPDATE SKIP LOCKED)
    UPDATE requests SET owner = $1, lease_expires_at = $3 FROM c WHERE uuid = c.claimed
    RETURNING ${REQUEST_COLUMNS}`,
  ),
  // Unlike a claim, firing a schedule changes the status, so it is a real save and bumps the version.
  claimDueSchedules: statement(
    'claim_due_schedules',
    `WITH c AS (
      SELECT uuid AS claimed FROM requests
      WHERE status = 'scheduled' AND scheduled_at <= $2 AND ${LEASE_FREE}
      ORDER BY scheduled_at, uuid LIMIT $4 FOR UPDATE SKIP LOCKED)
    UPDATE requests SET status = 'pending', owner = $1, lease_expires_at = $3, updated_at = $2,
      version = version + 1
    FROM c WHERE uuid = c.claimed
    RETURNING ${REQUEST_COLUMNS}`,
  ),
  // Lease operations never touch version: renewing must not make the owner's next save stale.
  renewLeases: statement(
    'renew_leases',
    'UPDATE requests SET lease_expires_at = $3 WHERE uuid = ANY ($1) AND owner = $2 RETURNING uuid',
  ),
  releaseLease: statement(
    'release_lease',
    'UPDATE requests SET owner = NULL, lease_expires_at = NULL WHERE uuid = $1 AND owner = $2',
  ),
  nextScheduledAt: statement(
    'next_scheduled_at',
    `SELECT min(scheduled_at) AS "at" FROM requests WHERE status = 'scheduled'`,
  ),
  // ($1 ref_name, $2 version, $3 document JSON, $4 created_at); a row only when it was inserted.
  insertTemplate: statement(
    'insert_template',
    `INSERT INTO templates (ref_name, version, document, created_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT DO NOTHING RETURNING 1 AS saved`,
  ),
  getTemplate: statement(
    'get_template',
    `SELECT ${TEMPLATE_COLUMNS} FROM templates WHERE ref_name = $1 AND version = $2`,
  ),
  listTemplates: statement('list_templates', `SELECT ${TEMPLATE_COLUMNS} FROM templates`),
} as const;

// Each filter maps to one column; the order here fixes the order of the bound parameters.
const FILTER_COLUMNS = [
  ['status', 'status'],
  ['template', 'template_ref'],
  ['ref', 'ref'],
  ['traceId', 'trace_id'],
] as const satisfies readonly (readonly [keyof RequestFilter, string])[];

/**
 * The list statement for a filter and page: plain equalities for the filters present (a generic
 * `($1 IS NULL OR col = $1)` form would defeat every index), then the keyset after the cursor.
 * Each shape gets its own statement name, so each is prepared once per connection.
 */
export function listQuery(
  filter: RequestFilter,
  after: [number, string] | undefined,
  limit: number,
): QueryConfig {
  const where: string[] = [];
  const values: unknown[] = [];
  let shape = '';
  for (const [field, column] of FILTER_COLUMNS) {
    const value = filter[field];
    shape += value === undefined ? '0' : '1';
    if (value === undefined) continue;
    values.push(value);
    where.push(`${column} = $${values.length}`);
  }
  if (after !== undefined) {
    values.push(...after);
    where.push(`(created_at, uuid) < ($${values.length - 1}, $${values.length})`);
  }
  values.push(limit);
  const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  return {
    name: `o3_list_${shape}${after === undefined ? '' : 'c'}`,
    text: `SELECT ${REQUEST_COLUMNS} FROM requests ${clause}
      ORDER BY created_at DESC, uuid DESC LIMIT $${values.length}`,
    values,
  };
}
