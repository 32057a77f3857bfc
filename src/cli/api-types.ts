/**
 * The shapes of the API answers the CLI reads (§10, src/api/present.ts), declared here rather than
 * imported so the CLI states the contract it relies on; fields it does not read are left out.
 */
import type { ErrorDetail } from '../errors.js';

/** The answer to submit. */
export interface SubmitAnswer {
  uuid: string;
  ref: string;
  trace_id?: string;
  revision: number;
  status: string;
  /** False when the same `ref` and payload were submitted before (the existing request). */
  created?: boolean;
  warnings?: ErrorDetail[];
}

/** The answer to retry and revise. */
export interface RevisionAnswer {
  uuid: string;
  revision: number;
  status: string;
  /** Revise only: request variables no template key uses. */
  warnings?: ErrorDetail[];
}

/** A validate answer, valid or not. */
export interface ValidateAnswer {
  valid: boolean;
  errors?: ErrorDetail[];
  warnings?: ErrorDetail[];
  plan?: Plan;
}

/** The plan of a valid request: levels and each task's resolved inputs. */
export interface Plan {
  template: { ref_name: string; schema_version: number };
  levels: string[][];
  tasks: Record<string, { class: string; depends_on: string[]; inputs: Record<string, unknown> }>;
}

/** A request in a list. */
export interface RequestSummary {
  uuid: string;
  ref: string;
  trace_id: string;
  name: string | null;
  template: { ref_name: string; schema_version: number };
  status: string;
  revision: number;
  scheduled_at: string | null;
  created_at: string | null;
  updated_at: string | null;
  ended_at: string | null;
  error: string | null;
}

/** A task run in a request's detail. */
export interface TaskRunView {
  ref_name: string;
  class: string;
  state: string;
  attempt: number;
  optional: boolean;
  started_at: string | null;
  ended_at: string | null;
  duration_ms?: number | null;
  outputs?: Record<string, unknown>;
  error: string | null;
}

/** One revision in a request's history. */
export interface RevisionView {
  revision: number;
  reason: string;
  status: string;
  created_at: string | null;
  ended_at: string | null;
  error: string | null;
}

/** `GET /workflow/{uuid}`. */
export interface RequestDetail extends RequestSummary {
  description: string | null;
  warnings: ErrorDetail[];
  tasks: TaskRunView[];
  revisions: RevisionView[];
}

/** A page of requests. */
export interface RequestPage {
  items: RequestSummary[];
  next_cursor: string | null;
}

/** One log line. */
export interface LogLine {
  seq: number;
  ts: string | null;
  level: string;
  source?: string;
  task: string | null;
  task_uuid?: string | null;
  message: string;
}

/** A page of log lines. */
export interface LogPage {
  lines: LogLine[];
  next_after: number;
}

/** The `state` event of the stream: where a request and its tasks are. */
export interface RequestState {
  uuid: string;
  status: string;
  revision: number;
  tasks: Pick<TaskRunView, 'ref_name' | 'state' | 'attempt' | 'started_at' | 'ended_at' | 'error'>[];
}

/** A template in `GET /templates`. */
export interface TemplateSummary {
  ref_name: string;
  schema_version: number;
  name: string | null;
  description: string | null;
  tasks: number;
}

/** `GET /templates/{ref}`. */
export interface TemplateDetail extends Omit<TemplateSummary, 'tasks'> {
  versions?: number[];
  dag: { levels: string[][]; edges: { from: string; to: string }[] };
  tasks: { ref_name: string; name?: string; class: string; optional: boolean; always_run?: boolean }[];
}

/** A task class in `GET /tasks`. */
export interface TaskClassView {
  name: string;
  description: string;
  inputs: Record<string, { type?: string; required?: boolean; secret?: boolean; description?: string }>;
  outputs: Record<string, { description?: string }>;
  ping_interval_seconds: number | null;
}

/** Request statuses after which nothing changes until a retry or revise. */
export const ENDED_REQUEST_STATUSES: ReadonlySet<string> = new Set(['successful', 'failed', 'canceled']);

/** Task states that are final for a revision. */
export const ENDED_TASK_STATES: ReadonlySet<string> = new Set([
  'successful',
  'failed',
  'exception',
  'timeout',
  'canceled',
  'skipped',
]);
