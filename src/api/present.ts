/** How requests, revisions, task runs and log lines look in API answers: times as ISO text, secrets masked. */
import type { Redactor } from '../engine/redactor.js';
import { MASK } from '../task/secret-inputs.js';
import { maskSealed } from '../engine/secret-box.js';
import type { Page } from '../store/store.js';
import type { RequestRecord, RevisionRecord, StoredLogLine, TaskRunRecord } from '../store/records.js';
import { isSecretInput } from '../task/meta.js';
import type { TaskRegistry } from '../task/task-registry.js';
import type { CompiledTemplate } from '../template/types.js';
import type {
  CancelAnswer,
  ErrorDetail,
  LogLine,
  LogPage,
  RequestPage,
  RequestSummary,
  RetryAnswer,
  RevisionView,
  SubmitAnswer,
  TaskRunView,
} from './answers.js';

/** Epoch milliseconds as ISO-8601 text (null stays null). */
export function isoTime(ms: number): string;
export function isoTime(ms: number | null): string | null;
export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** A request in a list. */
export function presentRequestSummary(request: RequestRecord): RequestSummary {
  return {
    uuid: request.uuid,
    ref: request.ref,
    trace_id: request.traceId,
    name: request.name,
    template: { ref_name: request.templateRef, schema_version: request.templateVersion },
    status: request.status,
    revision: request.revision,
    scheduled_at: isoTime(request.scheduledAt),
    created_at: isoTime(request.createdAt),
    updated_at: isoTime(request.updatedAt),
    ended_at: isoTime(request.endedAt),
    error: request.error,
  };
}

/** A revision in a request's history. */
export function presentRevision(revision: RevisionRecord, redactor: Redactor): RevisionView {
  return {
    revision: revision.revision,
    reason: revision.reason,
    status: revision.status,
    created_at: isoTime(revision.createdAt),
    started_at: isoTime(revision.startedAt),
    ended_at: isoTime(revision.endedAt),
    error: revision.error === null ? null : redactor.text(revision.error),
  };
}

/** A task run: state, times, resolved inputs (secrets masked), public outputs, error. */
export function presentTaskRun(
  run: TaskRunRecord,
  template: CompiledTemplate,
  tasks: TaskRegistry,
  redactor: Redactor,
): TaskRunView {
  const task = template.taskByRef.get(run.taskRef);
  const meta = tasks.find(run.className)?.meta;
  const inputs =
    run.inputs === null
      ? null
      : Object.fromEntries(
          Object.entries(run.inputs).map(([name, value]) => [
            name,
            isSecretInput(meta, name) ? MASK : redactor.value(maskSealed(value, MASK)),
          ]),
        );
  const outputs = Object.fromEntries(
    Object.entries(run.attributes)
      .filter(([name, attribute]) => attribute.public && !isSecretInput(meta, name))
      .map(([name, attribute]) => [name, redactor.value(maskSealed(attribute.value, MASK))]),
  );
  return {
    ref_name: run.taskRef,
    name: task?.name ?? run.taskRef,
    class: run.className,
    uuid: run.uuid,
    state: run.state,
    last_task_state: run.lastTaskState,
    attempt: run.attempt,
    optional: task?.optional ?? false,
    always_run: task?.alwaysRun ?? false,
    depends_on: task?.dependencies ?? [],
    started_at: isoTime(run.startedAt),
    ended_at: isoTime(run.endedAt),
    duration_ms: run.startedAt !== null && run.endedAt !== null ? run.endedAt - run.startedAt : null,
    inputs,
    outputs,
    error: run.error === null ? null : redactor.text(run.error),
  };
}

/** A log line, with its task's ref_name when it has one. */
export function presentLogLine(line: StoredLogLine, refByTaskUuid: ReadonlyMap<string, string>): LogLine {
  return {
    seq: line.seq,
    ts: isoTime(line.ts),
    level: line.level,
    source: line.source,
    task: line.taskUuid === null ? null : (refByTaskUuid.get(line.taskUuid) ?? null),
    task_uuid: line.taskUuid,
    message: line.message,
  };
}

/** A page of log lines; `afterSeq` (where this page started) is the cursor again when it is empty. */
export function presentLogPage(
  lines: StoredLogLine[],
  refByTaskUuid: ReadonlyMap<string, string>,
  afterSeq: number,
): LogPage {
  return {
    lines: lines.map((line) => presentLogLine(line, refByTaskUuid)),
    next_after: lines.at(-1)?.seq ?? afterSeq,
  };
}

/** A page of requests. */
export function presentRequestPage(page: Page<RequestRecord>): RequestPage {
  return { items: page.items.map(presentRequestSummary), next_cursor: page.nextCursor };
}

/** The answer to submit: the request as stored, and whether this call created it. */
export function presentSubmitted(
  request: RequestRecord,
  created: boolean,
  warnings: ErrorDetail[],
): SubmitAnswer {
  return {
    uuid: request.uuid,
    ref: request.ref,
    trace_id: request.traceId,
    revision: request.revision,
    status: request.status,
    created,
    warnings,
  };
}

/** The answer to cancel. */
export function presentCanceled(request: RequestRecord): CancelAnswer {
  return { uuid: request.uuid, status: request.status };
}

/** The answer to retry (revise adds its warnings): the request's new revision. */
export function presentNewRevision(request: RequestRecord): RetryAnswer {
  return { uuid: request.uuid, revision: request.revision, status: request.status };
}
