/**
 * Every answer of the REST API (§10), declared once: the server's presenting functions return
 * these types, and the CLI and the web UI read them, so a field one side drops or retypes is a
 * compile error on the other. Types only, importing no runtime code, so that the UI (a browser
 * bundle with its own tsconfig) can import it too. Times are ISO-8601 text; secrets are `***`.
 */
import type { ErrorCode, ErrorDetail } from '../errors.js';
import type { RequestStatus, TaskState } from '../store/records.js';

export type { ErrorCode, ErrorDetail, RequestStatus, TaskState };

/** What `last_task_state` holds for a task run that never ran before. */
export type LastTaskState = TaskState | 'never';

/** Why a revision exists. */
export type RevisionReason = 'submit' | 'retry' | 'revise';

/** A template as requests name it. */
export interface TemplateRef {
  ref_name: string;
  schema_version: number;
}

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetail[] };
}

/** A request in a list. */
export interface RequestSummary {
  uuid: string;
  ref: string;
  trace_id: string;
  name: string | null;
  template: TemplateRef;
  status: RequestStatus;
  revision: number;
  scheduled_at: string | null;
  created_at: string;
  updated_at: string;
  ended_at: string | null;
  /** Why the request failed or was canceled, naming the task. */
  error: string | null;
}

/** `GET /workflow`: a page of requests, newest first. */
export interface RequestPage {
  items: RequestSummary[];
  /** Null on the last page. */
  next_cursor: string | null;
}

/** A task run: state, times, resolved inputs (secrets masked) and public outputs. */
export interface TaskRunView {
  ref_name: string;
  name: string;
  class: string;
  uuid: string;
  state: TaskState;
  last_task_state: LastTaskState;
  attempt: number;
  optional: boolean;
  always_run: boolean;
  depends_on: string[];
  started_at: string | null;
  ended_at: string | null;
  /** Null until the run has both started and ended. */
  duration_ms: number | null;
  /** Null until the task has started. */
  inputs: Record<string, unknown> | null;
  outputs: Record<string, unknown>;
  error: string | null;
}

/** One revision in a request's history. */
export interface RevisionView {
  revision: number;
  reason: RevisionReason;
  status: RequestStatus;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  error: string | null;
}

/** `GET /workflow/{uuid}`: a request with its current revision's tasks and every revision. */
export interface RequestDetail extends RequestSummary {
  description: string | null;
  /** Request variables no template key uses. */
  warnings: ErrorDetail[];
  tasks: TaskRunView[];
  revisions: RevisionView[];
}

/** `GET /workflow/{uuid}/revisions/{n}`: one revision with its tasks, as it ran (for audit). */
export interface RevisionDetail extends RevisionView {
  warnings: ErrorDetail[];
  template: TemplateRef;
  tasks: TaskRunView[];
}

/** A task's part of a `state` event. */
export type LiveTaskState = Pick<
  TaskRunView,
  'ref_name' | 'state' | 'attempt' | 'started_at' | 'ended_at' | 'error'
>;

/** The `state` event of a followed request: sent again whenever the request or a task changes. */
export interface LiveState {
  uuid: string;
  status: RequestStatus;
  revision: number;
  error: string | null;
  tasks: LiveTaskState[];
}

/** The `end` event of a followed request, the last one of the stream. */
export interface StreamEnd {
  status: RequestStatus;
}

/** The server-sent events of `GET /workflow/{uuid}/logs?follow=1`, by event name. */
export interface FollowEvents {
  log: LogLine;
  state: LiveState;
  end: StreamEnd;
}

/** A line of a request's log: a line of a log page, and the `log` event of a followed request. */
export interface LogLine {
  seq: number;
  ts: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  /** The engine, a task's system log, or its task log. */
  source: 'engine' | 'system' | 'task';
  /** The task's ref_name, when the line is a task's. */
  task: string | null;
  task_uuid: string | null;
  message: string;
}

/** `GET /workflow/{uuid}/logs`: a page of log lines. */
export interface LogPage {
  lines: LogLine[];
  /** The `after` that reads the next page. */
  next_after: number;
}

/** A task of a plan. */
export interface PlannedTask {
  class: string;
  /** Every dependency, implicit and explicit. */
  depends_on: string[];
  /** Resolved inputs (outputs of other tasks as text, secrets masked). */
  inputs: Record<string, unknown>;
}

/** What a valid request would run: the DAG in levels and each task, by ref_name in template order. */
export interface Plan {
  template: TemplateRef;
  levels: string[][];
  tasks: Record<string, PlannedTask>;
}

/** `POST /workflow/validate` (200): the request is valid. */
export interface ValidAnswer {
  valid: true;
  warnings: ErrorDetail[];
  plan: Plan;
}

/** `POST /workflow/validate` (422): every problem, and the error body any 422 has. */
export interface InvalidAnswer extends ErrorBody {
  valid: false;
  errors: ErrorDetail[];
  warnings: ErrorDetail[];
}

/** A validate answer, valid or not. */
export type ValidateAnswer = ValidAnswer | InvalidAnswer;

/** `POST /workflow/submit` (201, or 200 for the same `ref` and payload sent again). */
export interface SubmitAnswer {
  uuid: string;
  ref: string;
  trace_id: string;
  revision: number;
  status: RequestStatus;
  /** False when the request existed already (the answer is the existing one). */
  created: boolean;
  warnings: ErrorDetail[];
}

/** `POST /workflow/{uuid}/cancel` (202). */
export interface CancelAnswer {
  uuid: string;
  status: RequestStatus;
}

/** `POST /workflow/{uuid}/retry` (202): the new revision. */
export interface RetryAnswer extends CancelAnswer {
  revision: number;
}

/** `POST /workflow/{uuid}/revise` (202): the new revision, and the request variables no template key uses. */
export interface ReviseAnswer extends RetryAnswer {
  warnings: ErrorDetail[];
}

/** A template in `GET /templates`. */
export interface TemplateSummary extends TemplateRef {
  name: string;
  description: string;
  /** How many tasks it has. */
  tasks: number;
}

/** `GET /templates`. */
export interface TemplateList {
  templates: TemplateSummary[];
}

/** A task of a template. */
export interface TemplateTask {
  ref_name: string;
  name: string;
  description: string;
  class: string;
  /** Every dependency, implicit and explicit. */
  depends_on: string[];
  always_run: boolean;
  optional: boolean;
}

/**
 * The template document as registered (§2), sent back unchanged. Declared only as far as clients
 * read it: its full format is the template compiler's (src/template/types.ts), not the API's.
 */
export interface TemplateDocument extends TemplateRef {
  workflow?: { input?: { global?: Record<string, unknown> } };
  tasks: { ref_name: string; class: string; input?: Record<string, unknown> }[];
}

/** `GET /templates/{ref}`, and `POST /templates` (201, or 200 when registered before): a template with its tasks, DAG and document. */
export interface TemplateDetail extends Omit<TemplateSummary, 'tasks'> {
  /** Every registered schema_version of the template. */
  versions: number[];
  dag: { levels: string[][]; edges: { from: string; to: string }[] };
  tasks: TemplateTask[];
  document: TemplateDocument;
}

/** A declared input of a task class. */
export interface TaskInputSpec {
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'any';
  required?: boolean;
  secret?: boolean;
  description?: string;
}

/** A task class in `GET /tasks` (its source file is left out: paths are the operator's business). */
export interface TaskClassView {
  name: string;
  description: string;
  inputs: Record<string, TaskInputSpec>;
  outputs: Record<string, { description?: string }>;
  ping_interval_seconds: number | null;
}

/** `GET /tasks`. */
export interface TaskClassList {
  tasks: TaskClassView[];
}

/** `GET /healthz`: the process answers. */
export interface Liveness {
  status: 'ok';
}

/** `GET /readyz` (200): the store answers too. */
export interface Readiness {
  status: 'ready';
  /** The kind of store (sqlite, postgres, redis). */
  store: string;
}
