/**
 * Records to script arguments and back (the key layout is described in scripts.ts). Scripts never
 * decode JSON: the fields they index or change are separate arguments and hash fields, and
 * everything else travels as one JSON text they store untouched. A revision or task run is split
 * into the fields fixed at insert (identity, and a revision's payload) and the rest (written by every
 * save), which is how a save never changes them.
 */
import type {
  LogLine,
  RequestRecord,
  RequestStatus,
  RevisionRecord,
  StoredLogLine,
  TaskRunRecord,
} from '../store.js';
import { jsonWithDocument } from '../document-json.js';

/** The list-index member of a request: createdAt zero-padded to 16 digits, then the uuid. */
export function memberOf(createdAt: number, uuid: string): string {
  return `${String(createdAt).padStart(16, '0')}:${uuid}`;
}

const orEmpty = (value: number | string | null): string => (value === null ? '' : String(value));
const numberOrNull = (value: string | undefined): number | null =>
  value === undefined || value === '' ? null : Number(value);

/** The request fields kept as JSON (the `m` hash field); the others are hash fields of their own. */
type RequestJson = Pick<
  RequestRecord,
  | 'traceId'
  | 'name'
  | 'description'
  | 'templateRef'
  | 'templateVersion'
  | 'payloadHash'
  | 'revision'
  | 'scheduledAt'
  | 'endedAt'
  | 'error'
>;

/**
 * The 13 script arguments of a request, in the order take_request reads them. A save (version > 1)
 * never writes ref, list member, createdAt, owner or lease, so it sends them empty.
 */
export function requestArgs(r: RequestRecord): string[] {
  const json: RequestJson = {
    traceId: r.traceId,
    name: r.name,
    description: r.description,
    templateRef: r.templateRef,
    templateVersion: r.templateVersion,
    payloadHash: r.payloadHash,
    revision: r.revision,
    scheduledAt: r.scheduledAt,
    endedAt: r.endedAt,
    error: r.error,
  };
  const insert = r.version === 1;
  return [
    r.uuid,
    String(r.version),
    insert ? r.ref : '',
    insert ? memberOf(r.createdAt, r.uuid) : '',
    insert ? String(r.createdAt) : '',
    r.status,
    String(r.updatedAt),
    r.templateRef,
    r.traceId,
    orEmpty(r.scheduledAt),
    insert ? (r.owner ?? '') : '',
    insert ? orEmpty(r.leaseExpiresAt) : '',
    JSON.stringify(json),
  ];
}

/** A request from its hash (as HGETALL gives it: an object, or a flat array from a script). */
export function toRequest(hash: Record<string, string> | string[]): RequestRecord | undefined {
  const h = Array.isArray(hash) ? pairs(hash) : hash;
  if (h.id === undefined || h.m === undefined) return undefined;
  return {
    uuid: h.id,
    ref: h.ref ?? '',
    ...(JSON.parse(h.m) as RequestJson),
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
 * The 5 script arguments of a revision, in the order take_revision reads them. Besides identity,
 * reason, payload, template and warnings are fixed when a revision is added: only the insert
 * writes them, and a save sends and writes only status, times and error.
 */
export function revisionArgs(r: RevisionRecord): string[] {
  const { requestUuid, revision, status, startedAt, endedAt, error, version } = r;
  // Object literals of fixed shape, not rest destructuring (which copies through a slow path).
  const inserted =
    version === 1
      ? jsonWithDocument(
          {
            requestUuid,
            revision,
            reason: r.reason,
            payload: r.payload,
            createdAt: r.createdAt,
            warnings: r.warnings,
          },
          'template',
          r.template,
        )
      : '';
  const saved = JSON.stringify({ status, startedAt, endedAt, error, version });
  return [requestUuid, String(revision), String(version), inserted, saved];
}

/** The 6 script arguments of a task run, in the order take_run reads them. */
export function taskRunArgs(t: TaskRunRecord): string[] {
  const { uuid, requestUuid, revision, createdAt, version } = t;
  const identity = version === 1 ? JSON.stringify({ uuid, requestUuid, revision, createdAt }) : '';
  const rest = JSON.stringify({
    taskRef: t.taskRef,
    className: t.className,
    state: t.state,
    lastTaskState: t.lastTaskState,
    attempt: t.attempt,
    inputs: t.inputs,
    attributes: t.attributes,
    error: t.error,
    startedAt: t.startedAt,
    endedAt: t.endedAt,
    version,
  });
  return [uuid, requestUuid, String(revision), String(version), identity, rest];
}

/** A revision or task run from its identity and other JSON, as the read scripts return them. */
export function fromParts<T>(flat: string[]): T[] {
  const records: T[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    records.push({ ...JSON.parse(flat[i]!), ...JSON.parse(flat[i + 1]!) } as T);
  }
  return records;
}

/** The 3 script arguments of a log line, in the order take_log reads them. */
export function logArgs(l: LogLine): string[] {
  const { requestUuid, taskUuid } = l;
  const line = JSON.stringify({ taskUuid, ts: l.ts, level: l.level, source: l.source, message: l.message });
  return [requestUuid, taskUuid ?? '', line];
}

/** A stored log line from its JSON and position. */
export function toLogLine(requestUuid: string, seq: number, json: string): StoredLogLine {
  return { seq, requestUuid, ...(JSON.parse(json) as Omit<LogLine, 'requestUuid'>) };
}
