/**
 * Mapping between records and SQLite rows. Selects alias columns to the records' camelCase names, so
 * a request row *is* its record and only JSON columns need a pass. Writes bind positionally: no
 * per-call parameter objects on the hot path.
 */
import type {
  LogLevel,
  LogLine,
  LogSource,
  RequestRecord,
  RevisionRecord,
  StoredLogLine,
  TaskRunRecord,
  TemplateRecord,
} from '../records.js';
import { documentJson } from '../document-json.js';

/** The request columns, aliased to RequestRecord's field names. */
export const REQUEST_COLUMNS = `uuid, ref, trace_id AS traceId, name, description, template_ref AS templateRef,
  template_version AS templateVersion, payload_hash AS payloadHash, status, revision,
  scheduled_at AS scheduledAt, created_at AS createdAt, updated_at AS updatedAt, ended_at AS endedAt,
  error, owner, lease_expires_at AS leaseExpiresAt, version`;

/** The revision columns, aliased; payload, template and warnings are still JSON text. */
export const REVISION_COLUMNS = `request_uuid AS requestUuid, revision, reason, payload, template, status,
  created_at AS createdAt, started_at AS startedAt, ended_at AS endedAt, error, warnings, version`;

/** The task run columns, aliased; inputs and attributes are still JSON text. */
export const TASK_RUN_COLUMNS = `uuid, request_uuid AS requestUuid, revision, task_ref AS taskRef,
  class_name AS className, state, last_task_state AS lastTaskState, attempt, inputs, attributes, error,
  created_at AS createdAt, started_at AS startedAt, ended_at AS endedAt, version`;

/** The log chunk columns, aliased. */
export const LOG_CHUNK_COLUMNS = `seq, task_uuid AS taskUuid, lines`;

/** The template columns, aliased; document is still JSON text. */
export const TEMPLATE_COLUMNS = `ref_name AS refName, version, document, created_at AS createdAt`;

/** A revision as read, before its JSON columns are parsed. */
export type RevisionRow = Omit<RevisionRecord, 'payload' | 'template' | 'warnings'> & {
  payload: string;
  template: string;
  warnings: string;
};

/** A task run as read, before its JSON columns are parsed. */
export type TaskRunRow = Omit<TaskRunRecord, 'inputs' | 'attributes'> & {
  inputs: string | null;
  attributes: string;
};

/** Turns a revision row into its record (parses the JSON columns in place). */
export function toRevision(row: RevisionRow): RevisionRecord {
  const record = row as unknown as RevisionRecord;
  record.payload = JSON.parse(row.payload);
  record.template = JSON.parse(row.template);
  record.warnings = JSON.parse(row.warnings) as RevisionRecord['warnings'];
  return record;
}

/** Turns a task run row into its record (parses the JSON columns in place). */
export function toTaskRun(row: TaskRunRow): TaskRunRecord {
  const record = row as unknown as TaskRunRecord;
  record.inputs = row.inputs === null ? null : (JSON.parse(row.inputs) as TaskRunRecord['inputs']);
  record.attributes = JSON.parse(row.attributes) as TaskRunRecord['attributes'];
  return record;
}

/** JSON text of a value; `undefined` (which JSON cannot hold) is stored as null. */
function json(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** Parameters of `INSERT INTO requests`, in column order. */
export function requestInsertParams(r: RequestRecord): unknown[] {
  return [
    r.uuid,
    r.ref,
    r.traceId,
    r.name,
    r.description,
    r.templateRef,
    r.templateVersion,
    r.payloadHash,
    r.status,
    r.revision,
    r.scheduledAt,
    r.createdAt,
    r.updatedAt,
    r.endedAt,
    r.error,
    r.owner,
    r.leaseExpiresAt,
    r.version,
  ];
}

/** What a request's saves write, then its uuid and the version the save replaces. */
function requestChangeParams(r: RequestRecord): unknown[] {
  return [
    r.status,
    r.revision,
    r.scheduledAt,
    r.updatedAt,
    r.endedAt,
    r.error,
    r.version,
    r.uuid,
    r.version - 1,
  ];
}

/** The fields fixed when a request is created (besides ref and createdAt, which no update names). */
function requestIdentityParams(r: RequestRecord): unknown[] {
  return [r.traceId, r.name, r.description, r.templateRef, r.templateVersion, r.payloadHash];
}

/** Parameters of the request compare-and-set update: identity fields, the rest, uuid and old version. */
export function requestUpdateParams(r: RequestRecord): unknown[] {
  return [...requestIdentityParams(r), ...requestChangeParams(r)];
}

/** Parameters of the save that keeps the identity fields: the changes, uuid, old version, identity. */
export function requestSaveParams(r: RequestRecord): unknown[] {
  return [...requestChangeParams(r), ...requestIdentityParams(r)];
}

/** Parameters of `INSERT INTO revisions`, in column order. */
export function revisionInsertParams(r: RevisionRecord): unknown[] {
  return [
    r.requestUuid,
    r.revision,
    r.reason,
    json(r.payload),
    documentJson(r.template),
    r.status,
    r.createdAt,
    r.startedAt,
    r.endedAt,
    r.error,
    json(r.warnings),
    r.version,
  ];
}

/** Parameters of the revision compare-and-set update: the mutable fields, then key and old version. */
export function revisionUpdateParams(r: RevisionRecord): unknown[] {
  return [r.status, r.startedAt, r.endedAt, r.error, r.version, r.requestUuid, r.revision, r.version - 1];
}

/** Parameters of `INSERT INTO task_runs`, in column order (seq is assigned by SQLite). */
export function taskRunInsertParams(t: TaskRunRecord): unknown[] {
  return [
    t.uuid,
    t.requestUuid,
    t.revision,
    t.taskRef,
    t.className,
    t.state,
    t.lastTaskState,
    t.attempt,
    t.inputs === null ? null : json(t.inputs),
    json(t.attributes),
    t.error,
    t.createdAt,
    t.startedAt,
    t.endedAt,
    t.version,
  ];
}

/** Parameters of the task run compare-and-set update: the mutable fields, then uuid and old version. */
export function taskRunUpdateParams(t: TaskRunRecord): unknown[] {
  return [
    t.taskRef,
    t.className,
    t.state,
    t.lastTaskState,
    t.attempt,
    t.inputs === null ? null : json(t.inputs),
    json(t.attributes),
    t.error,
    t.startedAt,
    t.endedAt,
    t.version,
    t.uuid,
    t.version - 1,
  ];
}

/** A stored chunk of log lines: its last line's seq, its task run (null: the request's own) and lines. */
export interface LogChunkRow {
  seq: number;
  taskUuid: string | null;
  lines: string;
}

/**
 * The task run of a chunk whose lines belong to more than one (the request's own lines among them):
 * each of its lines then names its own, as a fifth element.
 */
export const MIXED_CHUNK = '*';

/** A line as a chunk stores it: the request is the chunk's, and so is the task run unless the chunk is mixed. */
type ChunkLine =
  | [ts: number, level: LogLevel, source: LogSource, message: string]
  | [ts: number, level: LogLevel, source: LogSource, message: string, taskUuid: string | null];

/** Consecutive lines of one request, to be stored as one chunk. */
export interface LogChunk {
  requestUuid: string;
  taskUuid: string | null;
  lines: ChunkLine[];
}

/** Bounds a chunk, so that reading from a seq in the middle of a long output decodes little of it. */
const MAX_LINES_PER_CHUNK = 100;

/**
 * The chunks of a commit's lines: each request's lines in their order, at most 100 to a chunk.
 * Seqs are given in the order of the result, which keeps every request's lines in order. One chunk
 * per request and commit, whatever task runs logged: a W1 request's end wrote two before, its task
 * run's lines and the request's own (SQLite's instructions per W1 request −5.7 %).
 */
export function logChunks(lines: readonly LogLine[]): LogChunk[] {
  const runs: LogLine[][] = [];
  const open = new Map<string, LogLine[]>();
  for (const line of lines) {
    let run = open.get(line.requestUuid);
    if (run === undefined || run.length === MAX_LINES_PER_CHUNK) {
      run = [];
      open.set(line.requestUuid, run);
      runs.push(run);
    }
    run.push(line);
  }
  return runs.map(chunkOf);
}

/** The chunk of one request's consecutive lines: of one task run, or mixed. */
function chunkOf(run: LogLine[]): LogChunk {
  const { requestUuid, taskUuid } = run[0]!;
  const mixed = run.some((l) => l.taskUuid !== taskUuid);
  return {
    requestUuid,
    taskUuid: mixed ? MIXED_CHUNK : taskUuid,
    lines: run.map((l): ChunkLine =>
      mixed ? [l.ts, l.level, l.source, l.message, l.taskUuid] : [l.ts, l.level, l.source, l.message],
    ),
  };
}

/**
 * The lines of a request's chunks (in seq order) after `afterSeq`, at most `limit` of them, of one
 * task run when `onlyTask` is given (the chunks then are that task run's, and the mixed ones).
 */
export function linesOfChunks(
  requestUuid: string,
  chunks: Iterable<LogChunkRow>,
  afterSeq: number,
  limit: number,
  onlyTask?: string,
): StoredLogLine[] {
  const out: StoredLogLine[] = [];
  if (limit <= 0) return out;
  for (const { seq: last, taskUuid: chunkTask, lines } of chunks) {
    const chunk = JSON.parse(lines) as ChunkLine[];
    let seq = last - chunk.length;
    for (const line of chunk) {
      if (++seq <= afterSeq) continue;
      const [ts, level, source, message] = line;
      const taskUuid = chunkTask === MIXED_CHUNK ? (line[4] ?? null) : chunkTask;
      if (onlyTask !== undefined && taskUuid !== onlyTask) continue;
      out.push({ seq, requestUuid, taskUuid, ts, level, source, message });
      if (out.length === limit) return out;
    }
  }
  return out;
}

/** A template as read, before its document is parsed. */
export type TemplateRow = Omit<TemplateRecord, 'document'> & { document: string };

/** Turns a template row into its record (parses the document in place). */
export function toTemplate(row: TemplateRow): TemplateRecord {
  const record = row as unknown as TemplateRecord;
  record.document = JSON.parse(row.document);
  return record;
}

/** The parameters of the template insert, in its column order. */
export function templateInsertParams(t: TemplateRecord): unknown[] {
  return [t.refName, t.version, json(t.document), t.createdAt];
}
