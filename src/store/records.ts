/**
 * The records O3 keeps, and the statuses with their transition tables.
 * Times are epoch milliseconds; JSON-valued fields are plain data, stored as JSON by every store.
 * It imports nothing, so the CLI and the web UI bundle share these statuses with the engine.
 */

/** Status of a request (its current revision). */
export const RequestStatus = {
  scheduled: 'scheduled',
  pending: 'pending',
  running: 'running',
  canceling: 'canceling',
  successful: 'successful',
  failed: 'failed',
  canceled: 'canceled',
} as const;
export type RequestStatus = (typeof RequestStatus)[keyof typeof RequestStatus];

/** State of a task run (§5.3). */
export const TaskState = {
  pending: 'pending',
  created: 'created',
  running: 'running',
  waiting: 'waiting',
  successful: 'successful',
  failed: 'failed',
  exception: 'exception',
  timeout: 'timeout',
  canceled: 'canceled',
  skipped: 'skipped',
} as const;
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** What `lastTaskState` holds for a task run that never ran before. */
export const NEVER = 'never' as const;
export type LastTaskState = TaskState | typeof NEVER;

/** Every request status, in the order a request goes through them. */
export const REQUEST_STATUSES: readonly RequestStatus[] = Object.values(RequestStatus);
/** Every task state, in the order a task goes through them. */
export const TASK_STATES: readonly TaskState[] = Object.values(TaskState);

// Sets of plain strings: the CLI and the web UI ask with the text of an API answer.
const ENDED_REQUEST: ReadonlySet<string> = new Set<RequestStatus>(['successful', 'failed', 'canceled']);
const ACTIVE_TASK: ReadonlySet<string> = new Set<TaskState>(['created', 'running', 'waiting']);
const ENDED_TASK: ReadonlySet<string> = new Set<TaskState>([
  'successful',
  'failed',
  'exception',
  'timeout',
  'canceled',
  'skipped',
]);

/** Request statuses from which each status may be entered. */
export const REQUEST_TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  scheduled: [],
  pending: ['scheduled', 'successful', 'failed', 'canceled'],
  running: ['pending', 'scheduled'],
  canceling: ['scheduled', 'pending', 'running'],
  successful: ['running', 'pending'],
  failed: ['running', 'pending', 'canceling'],
  canceled: ['scheduled', 'pending', 'running', 'canceling'],
};

/**
 * The trace id of a request submitted without one: it starts its own trace, named by its uuid
 * without dashes (a store may find such a trace by the uuid instead of indexing it).
 */
export function ownTraceId(requestUuid: string): string {
  return requestUuid.replaceAll('-', '');
}

/** True when a request has ended (successful, failed or canceled): nothing changes until a retry or revise. */
export function isRequestEnded(status: string): boolean {
  return ENDED_REQUEST.has(status);
}

/** True when a task run has ended, whatever the outcome. */
export function isTaskEnded(state: string): boolean {
  return ENDED_TASK.has(state);
}

/** True while a task run is doing work (created, running or waiting). */
export function isTaskActive(state: string): boolean {
  return ACTIVE_TASK.has(state);
}

/** True when a task state is one of the §5.3 states. */
export function isTaskState(value: unknown): value is TaskState {
  return typeof value === 'string' && Object.hasOwn(TaskState, value);
}

/** One request: a template plus the caller's variables, run as one or more revisions. */
export interface RequestRecord {
  uuid: string;
  /** The caller's unique reference (`workflow.meta.ref`). */
  ref: string;
  traceId: string;
  name: string | null;
  description: string | null;
  templateRef: string;
  templateVersion: number;
  /** Hash of the canonical submitted payload: a repeated ref with the same hash is the same request. */
  payloadHash: string;
  status: RequestStatus;
  /** The current (latest) revision. */
  revision: number;
  /** When a scheduled request is due; null to run now. */
  scheduledAt: number | null;
  createdAt: number;
  updatedAt: number;
  endedAt: number | null;
  /** Why the request failed or was canceled, naming the task. */
  error: string | null;
  /** The node that owns the request's execution, and until when (a lease). */
  owner: string | null;
  leaseExpiresAt: number | null;
  /** Compare-and-set version: every save writes version v over a stored v - 1. */
  version: number;
}

/** Why a revision exists. */
export type RevisionReason = 'submit' | 'retry' | 'revise';

/** One run of a request, with the payload and template it ran with (kept for audit). */
export interface RevisionRecord {
  requestUuid: string;
  revision: number;
  reason: RevisionReason;
  /** The request payload of this revision (secret values already sealed by the engine). */
  payload: unknown;
  /** The template document this revision runs, so a later change of the template file cannot alter it. */
  template: unknown;
  status: RequestStatus;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  error: string | null;
  /** Unused request variables, as `{path, message}` warnings. */
  warnings: { path: string; message: string }[];
  version: number;
}

/** A persisted, named value of a task run. */
export interface StateAttribute {
  value: unknown;
  /** Public attributes appear in API answers as outputs; private ones only feed tasks. */
  public: boolean;
}

/** One task of one revision. */
export interface TaskRunRecord {
  uuid: string;
  requestUuid: string;
  revision: number;
  taskRef: string;
  className: string;
  state: TaskState;
  /** The state at the end of the previous instance of this task run (`never` if none). */
  lastTaskState: LastTaskState;
  /** 1 for the first attempt; a retry after failure adds one. */
  attempt: number;
  /** The inputs as resolved when the task started (null until then). */
  inputs: Record<string, unknown> | null;
  attributes: Record<string, StateAttribute>;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  version: number;
}

/** Where a log line comes from: the engine, a task's system log (`slog`) or its task log (`flog`). */
export type LogSource = 'engine' | 'system' | 'task';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One timestamped log line of a request, tagged with the task run when it has one. */
export interface LogLine {
  requestUuid: string;
  taskUuid: string | null;
  ts: number;
  level: LogLevel;
  source: LogSource;
  message: string;
}

/** A stored log line with its position, for paging and following. */
export interface StoredLogLine extends LogLine {
  seq: number;
}

/**
 * A template registered over the API, kept so that every node and every restart has it. Stored
 * once per (refName, version) and never changed: a new document needs a new version.
 */
export interface TemplateRecord {
  refName: string;
  version: number;
  /** The template document as registered (plain JSON). */
  document: unknown;
  createdAt: number;
}

/** The outcome of an idempotent template save: the record already stored under its ref+version, if any. */
export type SaveTemplateResult = { saved: true } | { saved: false; existing: TemplateRecord };

/**
 * The order of listTemplates in every store: by refName (code-unit order, as JavaScript sorts
 * strings, so that all three stores agree whatever their collation), then version.
 */
export function compareTemplateRecords(a: TemplateRecord, b: TemplateRecord): number {
  return a.refName < b.refName ? -1 : a.refName > b.refName ? 1 : a.version - b.version;
}
