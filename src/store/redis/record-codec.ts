/**
 * Records to script arguments and back (the key layout is described in scripts.ts). Scripts never
 * decode JSON: the fields they index or change are separate arguments and hash fields, and
 * everything else travels as one JSON text they store untouched. A revision or task run is split
 * into the fields fixed at insert (identity, and a revision's payload) and the rest (written by every
 * save), which is how a save never changes them.
 */
import {
  ownTraceId,
  type LogLine,
  type RequestRecord,
  type RequestStatus,
  type RevisionRecord,
  type StoredLogLine,
  type TaskRunRecord,
} from '../store.js';
import { jsonWithDocument } from '../document-json.js';
import type { ScriptArgs } from './script-args.js';

/** The list-index member of a request: createdAt zero-padded to 16 digits, then the uuid. */
export function memberOf(createdAt: number, uuid: string): string {
  return `${String(createdAt).padStart(16, '0')}:${uuid}`;
}

const orEmpty = (value: number | string | null): string => (value === null ? '' : String(value));
const numberOrNull = (value: string | undefined): number | null =>
  value === undefined || value === '' ? null : Number(value);

/**
 * The request fields kept as JSON (the `m` hash field), as an array in this order. Status, times,
 * template, trace and schedule are hash fields of their own (the scripts index them), so the JSON
 * leaves them out. Layout 2 kept an object of the fields, those in the hash fields too; reading
 * takes the hash fields either way.
 */
type RequestJson = Pick<
  RequestRecord,
  'name' | 'description' | 'templateVersion' | 'payloadHash' | 'revision' | 'endedAt' | 'error'
>;
/** A request's JSON: its fields' values in REQUEST_FIELDS' order (so for the other arrays). */
type RequestArray = [string | null, string | null, number, string, number, number | null, string | null];
const REQUEST_FIELDS = [
  'name',
  'description',
  'templateVersion',
  'payloadHash',
  'revision',
  'endedAt',
  'error',
] as const;

/**
 * A record's fields from the JSON that holds them: an array of their values in the order of
 * `fields` (layout 3), or an object of them (layout 2).
 */
function fieldsFromJson<T>(fields: readonly string[], json: string): T {
  const parsed = JSON.parse(json) as unknown[] | T;
  if (!Array.isArray(parsed)) return parsed;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < fields.length; i++) out[fields[i]!] = parsed[i];
  return out as T;
}

/**
 * Adds the script arguments of a request, in the order take_request reads them: identity, version
 * and the fields every write sets, then, for an insert (version 1) only, ref, list member,
 * createdAt, owner and lease, which a save never writes.
 */
export function addRequest(out: ScriptArgs, r: RequestRecord): void {
  // Positional, not an object: JSON.stringify writes no key, and Redis stores none.
  const json: RequestArray = [
    r.name,
    r.description,
    r.templateVersion,
    r.payloadHash,
    r.revision,
    r.endedAt,
    r.error,
  ];
  out.add(r.uuid);
  out.add(String(r.version));
  out.add(r.status);
  out.add(String(r.updatedAt));
  out.add(r.templateRef);
  // A trace of the request's own (layout 4) is '': not stored twice, nor indexed (scripts.ts).
  out.add(r.traceId === ownTraceId(r.uuid) ? '' : r.traceId);
  out.add(orEmpty(r.scheduledAt));
  out.add(JSON.stringify(json));
  if (r.version === 1) {
    out.add(r.ref);
    out.add(memberOf(r.createdAt, r.uuid));
    out.add(String(r.createdAt));
    out.add(r.owner ?? '');
    out.add(orEmpty(r.leaseExpiresAt));
  }
}

/** A request from its hash (as HGETALL gives it: an object, or a flat array from a script). */
export function toRequest(hash: Record<string, string> | string[]): RequestRecord | undefined {
  const h = Array.isArray(hash) ? pairs(hash) : hash;
  if (h.id === undefined || h.m === undefined) return undefined;
  return {
    uuid: h.id,
    ref: h.ref ?? '',
    ...fieldsFromJson<RequestJson>(REQUEST_FIELDS, h.m),
    templateRef: h.t ?? '',
    traceId: h.tr === undefined || h.tr === '' ? ownTraceId(h.id) : h.tr,
    scheduledAt: numberOrNull(h.sa),
    status: h.s as RequestStatus,
    createdAt: Number(h.c),
    updatedAt: Number(h.u),
    owner: h.o === undefined || h.o === '' ? null : h.o,
    leaseExpiresAt: numberOrNull(h.l),
    version: Number(h.v),
  };
}

/** An object from a flat [field, value, field, value, …] array. */
export function pairs(flat: string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}

/**
 * Adds the script arguments of a revision, in the order take_revision reads them. Besides
 * identity, reason, payload, template and warnings are fixed when a revision is added: only the
 * insert sends and writes them (last, as an object), and a save sends and writes only the array
 * [status, startedAt, endedAt, error, version] (layout 2: an object of them).
 */
export function addRevision(out: ScriptArgs, r: RevisionRecord): void {
  const { requestUuid, revision, status, startedAt, endedAt, error, version } = r;
  out.add(requestUuid);
  out.add(String(revision));
  out.add(String(version));
  const saved: RevisionArray = [status, startedAt, endedAt, error, version];
  out.add(JSON.stringify(saved));
  if (version === 1) {
    // Object literals of fixed shape, not rest destructuring (which copies through a slow path).
    const fields = {
      requestUuid,
      revision,
      reason: r.reason,
      payload: r.payload,
      createdAt: r.createdAt,
      warnings: r.warnings,
    };
    out.add(jsonWithDocument(fields, 'template', r.template));
  }
}

/**
 * Adds the script arguments of a task run, in the order take_run reads them: identity, version and
 * the array of the other fields (TaskRunArray's order; layout 2: an object). An insert adds its
 * createdAt last, the one field of its identity that the other arguments do not carry.
 */
export function addTaskRun(out: ScriptArgs, t: TaskRunRecord): void {
  const { uuid, requestUuid, revision, version } = t;
  const fields: TaskRunArray = [
    t.taskRef,
    t.className,
    t.state,
    t.lastTaskState,
    t.attempt,
    t.inputs,
    t.attributes,
    t.error,
    t.startedAt,
    t.endedAt,
    version,
  ];
  const rest = JSON.stringify(fields);
  out.add(uuid);
  out.add(requestUuid);
  out.add(String(revision));
  out.add(String(version));
  out.add(rest);
  if (version === 1) out.add(String(t.createdAt));
}

type RevisionArray = [RevisionRecord['status'], number | null, number | null, string | null, number];
const REVISION_FIELDS = ['status', 'startedAt', 'endedAt', 'error', 'version'] as const;
type TaskRunArray = [
  string,
  string,
  TaskRunRecord['state'],
  TaskRunRecord['lastTaskState'],
  number,
  TaskRunRecord['inputs'],
  TaskRunRecord['attributes'],
  string | null,
  number | null,
  number | null,
  number,
];
const TASK_RUN_FIELDS = [
  'taskRef',
  'className',
  'state',
  'lastTaskState',
  'attempt',
  'inputs',
  'attributes',
  'error',
  'startedAt',
  'endedAt',
  'version',
] as const;
type TaskRunJson = Omit<TaskRunRecord, 'uuid' | 'requestUuid' | 'revision' | 'createdAt'>;

/** Revisions from their fixed and other JSON, as getRevisions returns them. */
export function toRevisions(flat: string[]): RevisionRecord[] {
  const records: RevisionRecord[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const fixed = JSON.parse(flat[i]!) as Omit<RevisionRecord, (typeof REVISION_FIELDS)[number]>;
    const rest = fieldsFromJson<Pick<RevisionRecord, (typeof REVISION_FIELDS)[number]>>(
      REVISION_FIELDS,
      flat[i + 1]!,
    );
    records.push({ ...fixed, ...rest });
  }
  return records;
}

/**
 * The task runs of a revision from uuid, fixed part and other JSON, as getTaskRuns returns them.
 * The fixed part is the run's createdAt; layout 2 kept its whole identity there, as JSON.
 */
export function toTaskRuns(requestUuid: string, revision: number, flat: string[]): TaskRunRecord[] {
  const records: TaskRunRecord[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const fixed = flat[i + 1]!;
    const createdAt = fixed.startsWith('{') ? (JSON.parse(fixed) as TaskRunRecord).createdAt : Number(fixed);
    const identity = { uuid: flat[i]!, requestUuid, revision, createdAt };
    records.push({ ...identity, ...fieldsFromJson<TaskRunJson>(TASK_RUN_FIELDS, flat[i + 2]!) });
  }
  return records;
}

/**
 * Adds the script arguments of log lines, as take_logs reads them: grouped by request (a change
 * set interleaves many requests' lines; each request's keep their order), the request sent once
 * per group, then each line's task run and JSON.
 */
export function addLogs(out: ScriptArgs, lines: readonly LogLine[]): void {
  const groups = new Map<string, LogLine[]>();
  for (const line of lines) {
    const group = groups.get(line.requestUuid);
    if (group === undefined) groups.set(line.requestUuid, [line]);
    else group.push(line);
  }
  out.add(String(groups.size));
  for (const [requestUuid, group] of groups) {
    out.add(requestUuid);
    out.add(String(group.length));
    for (const line of group) {
      out.add(line.taskUuid ?? '');
      out.add(logLineJson(line));
    }
  }
}

/**
 * A line as stored: the JSON array [taskUuid, ts, level, source, message], built as text (a third
 * cheaper than JSON.stringify). Only the message can hold characters to escape; the task run is a
 * UUID, the time a number, level and source are names. Layout 2 stored an object of those fields.
 */
export function logLineJson(l: LogLine): string {
  const task = l.taskUuid === null ? 'null' : `"${l.taskUuid}"`;
  return `[${task},${l.ts},"${l.level}","${l.source}",${JSON.stringify(l.message)}]`;
}

const LOG_LINE_FIELDS = ['taskUuid', 'ts', 'level', 'source', 'message'] as const;

/** A stored log line from its JSON (either layout's) and position. */
export function toLogLine(requestUuid: string, seq: number, json: string): StoredLogLine {
  return { seq, requestUuid, ...fieldsFromJson<Omit<LogLine, 'requestUuid'>>(LOG_LINE_FIELDS, json) };
}
