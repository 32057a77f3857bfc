/** Reading a request for an answer: its records, the template it ran, and views with secrets masked. */
import { notFound } from '../errors.js';
import type { Redactor } from '../engine/redactor.js';
import { requestRedactor } from '../engine/secrets.js';
import type { RequestPayload } from '../request/payload.js';
import type { RequestRecord, RevisionRecord, TaskRunRecord } from '../store/records.js';
import { compileTemplate } from '../template/compile-template.js';
import type { CompiledTemplate, TemplateDocument } from '../template/types.js';
import type { LiveState, LiveTaskState, RequestDetail, RevisionDetail } from './answers.js';
import type { AppDeps } from './build-app.js';
import { isoTime, presentRequestSummary, presentRevision, presentTaskRun } from './present.js';

/** A request with its revisions, the current one, its task runs and what is needed to present them. */
export interface LoadedRequest {
  record: RequestRecord;
  revisions: RevisionRecord[];
  current: RevisionRecord;
  runs: TaskRunRecord[];
  template: CompiledTemplate;
  redactor: Redactor;
}

/** Loads a request for presentation; a 404 when there is none. */
export async function loadRequest(
  deps: AppDeps,
  uuid: string,
  revisionNumber?: number,
): Promise<LoadedRequest> {
  const record = await deps.store.getRequest(uuid);
  if (!record) throw notFound(`no request ${uuid}`);
  const revisions = await deps.store.getRevisions(uuid);
  const wanted = revisionNumber ?? record.revision;
  const current = revisions.find((revision) => revision.revision === wanted);
  if (!current) throw notFound(`request ${uuid} has no revision ${wanted}`);
  const runs = await deps.store.getTaskRuns(uuid, current.revision);
  const template = templateOf(deps, current);
  const redactor = requestRedactor(current.payload as RequestPayload, template, deps.tasks, runs);
  return { record, revisions, current, runs, template, redactor };
}

/** The compiled template a revision ran with (the registered one when it is the same document). */
export function templateOf(deps: AppDeps, revision: RevisionRecord): CompiledTemplate {
  const document = revision.template as TemplateDocument;
  const registered = deps.templates.get(document.ref_name, document.schema_version);
  if (registered && JSON.stringify(registered.document) === JSON.stringify(document)) return registered;
  return compileTemplate(document, { lookupClass: deps.tasks.lookupMeta });
}

/** The full detail of a request (§10): summary, warnings, tasks of the current revision, revisions. */
export function requestDetail(deps: AppDeps, loaded: LoadedRequest): RequestDetail {
  const { record, revisions, current, runs, template, redactor } = loaded;
  return {
    ...presentRequestSummary(record),
    description: record.description,
    warnings: current.warnings,
    tasks: runs.map((run) => presentTaskRun(run, template, deps.tasks, redactor)),
    revisions: revisions.map((revision) => presentRevision(revision, redactor)),
  };
}

/** One revision of a request with its tasks, for audit. */
export function revisionDetail(deps: AppDeps, loaded: LoadedRequest): RevisionDetail {
  const { current, runs, template, redactor } = loaded;
  return {
    ...presentRevision(current, redactor),
    warnings: current.warnings,
    template: { ref_name: template.refName, schema_version: template.version },
    tasks: runs.map((run) => presentTaskRun(run, template, deps.tasks, redactor)),
  };
}

/** The compact live state of a request: its status and each task's state (the `state` event). */
export function requestState(loaded: LoadedRequest): LiveState {
  const { record, runs, redactor } = loaded;
  return {
    uuid: record.uuid,
    status: record.status,
    revision: record.revision,
    error: record.error === null ? null : redactor.text(record.error),
    tasks: runs.map((run) => liveTaskState(run, redactor)),
  };
}

/** A task's part of the `state` event. */
function liveTaskState(run: TaskRunRecord, redactor: Redactor): LiveTaskState {
  return {
    ref_name: run.taskRef,
    state: run.state,
    attempt: run.attempt,
    started_at: isoTime(run.startedAt),
    ended_at: isoTime(run.endedAt),
    error: run.error === null ? null : redactor.text(run.error),
  };
}
