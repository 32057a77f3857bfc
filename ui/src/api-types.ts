/**
 * The shapes of the API answers the UI reads (§10, src/api/present.ts), declared here so the UI
 * states the contract it relies on; fields it does not read are left out.
 */

/** One problem the API reports, at a JSON pointer into what was sent. */
export interface ErrorDetail {
  path: string;
  message: string;
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

/** A page of requests. */
export interface RequestPage {
  items: RequestSummary[];
  next_cursor: string | null;
}

/** A task run with its resolved inputs (secrets already masked by the API) and public outputs. */
export interface TaskRunView {
  ref_name: string;
  name: string;
  class: string;
  uuid: string;
  state: string;
  last_task_state: string;
  attempt: number;
  optional: boolean;
  always_run: boolean;
  depends_on: string[];
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
  inputs: Record<string, unknown> | null;
  outputs: Record<string, unknown>;
  error: string | null;
}

/** One revision in a request's history. */
export interface RevisionView {
  revision: number;
  reason: string;
  status: string;
  created_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  error: string | null;
}

/** A request with its current revision's tasks and its revisions. */
export interface RequestDetail extends RequestSummary {
  description: string | null;
  warnings: ErrorDetail[];
  tasks: TaskRunView[];
  revisions: RevisionView[];
}

/** One revision with its tasks (`GET /workflow/{uuid}/revisions/{n}`). */
export interface RevisionDetail extends RevisionView {
  warnings: ErrorDetail[];
  template: { ref_name: string; schema_version: number };
  tasks: TaskRunView[];
}

/** A task's live state in a `state` event. */
export interface LiveTaskState {
  ref_name: string;
  state: string;
  attempt: number;
  started_at: string | null;
  ended_at: string | null;
  error: string | null;
}

/** The `state` event of a followed request. */
export interface LiveState {
  uuid: string;
  status: string;
  revision: number;
  error: string | null;
  tasks: LiveTaskState[];
}

/** The `log` event of a followed request, and a line of a log page. */
export interface LogLine {
  seq: number;
  ts: string;
  level: string;
  source: string;
  task: string | null;
  task_uuid: string | null;
  message: string;
}

/** A template in the list. */
export interface TemplateSummary {
  ref_name: string;
  schema_version: number;
  name: string;
  description: string;
  tasks: number;
}

/** A task of a template. */
export interface TemplateTask {
  ref_name: string;
  name: string;
  description: string;
  class: string;
  depends_on: string[];
  always_run: boolean;
  optional: boolean;
}

/** The template document as registered (the article's format). */
export interface TemplateDocument {
  name?: string;
  ref_name: string;
  schema_version: number;
  workflow?: { input?: { global?: Record<string, unknown> } };
  tasks: { ref_name: string; class: string; input?: Record<string, unknown> }[];
}

/** A template with its DAG. */
export interface TemplateDetail extends Omit<TemplateSummary, 'tasks'> {
  versions: number[];
  dag: { levels: string[][]; edges: { from: string; to: string }[] };
  tasks: TemplateTask[];
  document: TemplateDocument;
}

/** A declared input of a task class. */
export interface TaskInputSpec {
  type?: string;
  required?: boolean;
  secret?: boolean;
  description?: string;
}

/** A task class in the catalogue. */
export interface TaskClass {
  name: string;
  description: string;
  inputs: Record<string, TaskInputSpec>;
  outputs: Record<string, { description?: string }>;
  ping_interval_seconds: number | null;
}

/** The plan of a valid request. */
export interface Plan {
  levels: string[][];
  tasks: Record<string, { class: string; depends_on: string[]; inputs: Record<string, unknown> }>;
}

/** A validate answer, valid or not. */
export interface ValidateAnswer {
  valid: boolean;
  errors?: ErrorDetail[];
  warnings?: ErrorDetail[];
  plan?: Plan;
}

/** The answer to submit. */
export interface SubmitAnswer {
  uuid: string;
  ref: string;
  revision: number;
  status: string;
  created?: boolean;
  warnings?: ErrorDetail[];
}
