/** Workflow requests: submit, validate, list, detail, revisions, cancel, retry, revise, logs (§10). */
import type { FastifyPluginAsync } from 'fastify';
import { O3Error, notFound, type ErrorDetail } from '../../errors.js';
import type { RequestPayload } from '../../request/payload.js';
import { validateRequest, type RequestValidation } from '../../request/validate-request.js';
import { findRequestTemplate } from '../../template/stored-templates.js';
import { Type, type Static } from '@sinclair/typebox';
import type { RequestFilter } from '../../store/store.js';
import type { InvalidAnswer, ReviseAnswer, ValidAnswer } from '../answers.js';
import type { AppDeps } from '../build-app.js';
import { errorBody } from '../error-handler.js';
import {
  presentCanceled,
  presentLogPage,
  presentNewRevision,
  presentRequestPage,
  presentSubmitted,
} from '../present.js';
import { loadRequest, requestDetail, revisionDetail } from '../request-views.js';
import {
  ListQuery,
  LogQuery,
  ReviseBody,
  RevisionAnswer,
  SubmitAnswer,
  UuidParams,
  ValidateAnswer,
  errors,
  ownValidation,
} from '../schemas.js';
import { anchorDetails } from './anchor-details.js';
import { acceptJsonBodiesOnly } from './json-body.js';
import { jsonPointer } from '../../template/schema.js';
import { followRequest } from './log-stream.js';

const DEFAULT_PAGE = 100;

/** The workflow routes. */
export function workflowRoutes(deps: AppDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const validate = async (body: unknown): Promise<RequestValidation> => {
    // No body and no Content-Type: say so, rather than "the document must be an object".
    if (body === undefined) throw new O3Error('bad_request', 'the body is empty; send a JSON document');
    // A template registered on another node is in the store, not yet in this node's registry.
    await findRequestTemplate(deps, body);
    const validation = validateRequest(body, {
      templates: deps.templates,
      lookupClass: deps.tasks.lookupMeta,
      now: now(),
    });
    return validation.valid ? validation : { ...validation, errors: anchorDetails(body, validation.errors) };
  };

  return async (app) => {
    acceptJsonBodiesOnly(app);
    app.post(
      '/workflow/submit',
      {
        ...ownValidation,
        schema: {
          summary: 'Validate and store a workflow request, then run it (or schedule it)',
          tags: ['workflow'],
          body: Type.Ref('RequestPayload'),
          response: { 200: SubmitAnswer, 201: SubmitAnswer, ...errors(400, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const validation = await validate(request.body);
        if (!validation.valid) throw invalidRequest(validation.errors);
        const { request: submitted, created } = await deps.engine.submit(validation);
        return reply
          .status(created ? 201 : 200)
          .send(presentSubmitted(submitted, created, validation.warnings));
      },
    );

    app.post(
      '/workflow/validate',
      {
        ...ownValidation,
        schema: {
          summary: 'Validate a workflow request without storing it; a valid answer has the plan',
          tags: ['workflow'],
          body: Type.Ref('RequestPayload'),
          response: {
            200: ValidateAnswer,
            422: Type.Intersect([ValidateAnswer, Type.Ref('ErrorBody')]),
            ...errors(400, 413, 415),
          },
        },
      },
      async (request, reply) => {
        const validation = await validate(request.body);
        if (!validation.valid) return reply.status(422).send(invalidAnswer(validation));
        return validAnswer(validation);
      },
    );

    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/workflow',
      {
        schema: {
          summary: 'List requests, newest first, with filters and cursor paging',
          tags: ['workflow'],
          querystring: ListQuery,
          response: {
            200: Type.Object({
              items: Type.Array(Type.Ref('RequestSummary')),
              next_cursor: Type.Union([Type.String(), Type.Null()]),
            }),
            ...errors(400),
          },
        },
      },
      async (request) => {
        const { status, template, ref, trace_id: traceId, limit = DEFAULT_PAGE, cursor } = request.query;
        const filter: RequestFilter = { status, template, ref, traceId };
        const page = await deps.store.listRequests(filter, { limit, cursor: cursor ?? null });
        return presentRequestPage(page);
      },
    );

    app.get<{ Params: Static<typeof UuidParams> }>(
      '/workflow/:uuid',
      {
        schema: {
          summary:
            'A request: its revisions and, per task, state, times, resolved inputs (secrets masked), outputs, error',
          tags: ['workflow'],
          params: UuidParams,
          response: { 404: Type.Ref('ErrorBody') },
        },
      },
      async (request) => requestDetail(deps, await loadRequest(deps, request.params.uuid)),
    );

    app.get<{ Params: { uuid: string; revision: number } }>(
      '/workflow/:uuid/revisions/:revision',
      {
        schema: {
          summary: 'One revision of a request, as it ran (for audit)',
          tags: ['workflow'],
          params: Type.Object({ uuid: Type.String(), revision: Type.Integer({ minimum: 1 }) }),
          response: errors(400, 404),
        },
      },
      async (request) =>
        revisionDetail(deps, await loadRequest(deps, request.params.uuid, request.params.revision)),
    );

    app.post<{ Params: Static<typeof UuidParams> }>(
      '/workflow/:uuid/cancel',
      {
        schema: {
          summary: 'Cancel a request: running tasks are canceled, pending ones marked canceled',
          tags: ['workflow'],
          params: UuidParams,
          response: { 202: RevisionAnswer, ...errors(404, 409) },
        },
      },
      async (request, reply) => {
        const record = await deps.engine.cancel(request.params.uuid);
        return reply.status(202).send(presentCanceled(record));
      },
    );

    app.post<{ Params: Static<typeof UuidParams> }>(
      '/workflow/:uuid/retry',
      {
        schema: {
          summary:
            'Run an ended request again as a new revision; tasks that succeeded with the same inputs are skipped',
          tags: ['workflow'],
          params: UuidParams,
          response: { 202: RevisionAnswer, ...errors(404, 409) },
        },
      },
      async (request, reply) => {
        const record = await deps.engine.addRevision(request.params.uuid, 'retry');
        return reply.status(202).send(presentNewRevision(record));
      },
    );

    app.post<{ Params: Static<typeof UuidParams> }>(
      '/workflow/:uuid/revise',
      {
        ...ownValidation,
        schema: {
          summary: 'Run an ended request again with new vars, tasks or schedule, as a new revision',
          tags: ['workflow'],
          params: UuidParams,
          body: ReviseBody,
          response: { 202: RevisionAnswer, ...errors(400, 404, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const { current, record } = await loadRequest(deps, request.params.uuid);
        const merged = revisedPayload(
          current.payload as RequestPayload,
          request.body,
          record.templateVersion,
        );
        const validation = await validate(merged);
        if (!validation.valid) {
          throw invalidRequest(anchorDetails(request.body, validation.errors.map(toRevisePointer)));
        }
        const updated = await deps.engine.addRevision(record.uuid, 'revise', validation);
        const answer: ReviseAnswer = { ...presentNewRevision(updated), warnings: validation.warnings };
        return reply.status(202).send(answer);
      },
    );

    app.get<{ Params: Static<typeof UuidParams>; Querystring: Static<typeof LogQuery> }>(
      '/workflow/:uuid/logs',
      {
        schema: {
          summary:
            "The request log (or one task's), paged; with follow=1 a live stream of server-sent events (log, state, end)",
          tags: ['workflow'],
          params: UuidParams,
          querystring: LogQuery,
          response: {
            200: Type.Object({ lines: Type.Array(Type.Ref('LogLine')), next_after: Type.Integer() }),
            ...errors(400, 404),
          },
        },
      },
      async (request, reply) => {
        const { record, runs } = await loadRequest(deps, request.params.uuid);
        const { task, after: afterSeq = 0, limit = DEFAULT_PAGE, follow } = request.query;
        let taskUuid: string | undefined;
        if (task !== undefined) {
          taskUuid = runs.find((run) => run.taskRef === task)?.uuid;
          if (!taskUuid) throw notFound(`request ${record.uuid} has no task '${task}'`);
        }
        if (isTrue(follow)) {
          followRequest(deps, request, reply, { uuid: record.uuid, taskUuid, afterSeq });
          return reply;
        }
        const refByUuid = new Map(runs.map((run) => [run.uuid, run.taskRef]));
        const lines = await deps.store.readLogs(record.uuid, { taskUuid, afterSeq, limit });
        return presentLogPage(lines, refByUuid, afterSeq);
      },
    );
  };
}

const REVISE_FIELDS = new Set(['vars', 'tasks', 'schedule']);

/** The payload of a revision: the current one with the body's `vars`, `tasks` and `schedule` (now, when not given). */
function revisedPayload(current: RequestPayload, body: unknown, templateVersion: number): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new O3Error('invalid_request', 'a revision is a JSON object with vars, tasks and/or schedule', {
      details: [{ path: '', message: 'must be an object' }],
    });
  }
  const unknown = Object.keys(body).filter((key) => !REVISE_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new O3Error(
      'invalid_request',
      `a revision takes only vars, tasks and schedule, not ${unknown.join(', ')}`,
      {
        details: unknown.map((key) => ({ path: jsonPointer(key), message: 'unknown field' })),
      },
    );
  }
  const changes = body as { vars?: unknown; tasks?: unknown; schedule?: unknown };
  const payload = structuredClone(current);
  const workflow: Record<string, unknown> = { ...payload.workflow };
  workflow.meta = { ...payload.workflow.meta, template_schema_version: templateVersion };
  if (changes.vars !== undefined) workflow.vars = changes.vars;
  workflow.schedule = changes.schedule ?? { when: 'now', start: '' };
  return { ...payload, workflow, tasks: changes.tasks ?? payload.tasks };
}

/** Errors of the merged payload, pointed into the revise body instead. */
function toRevisePointer(detail: ErrorDetail): ErrorDetail {
  const path = detail.path.replace(/^\/workflow\/(vars|schedule)/, '/$1');
  return { path, message: detail.message };
}

/** The answer to validating a valid request: its warnings and plan. */
function validAnswer(validation: Extract<RequestValidation, { valid: true }>): ValidAnswer {
  return { valid: true, warnings: validation.warnings, plan: validation.plan };
}

/** The 422 answer to validating an invalid request: every problem, and the error body of submit's 422. */
function invalidAnswer(validation: Extract<RequestValidation, { valid: false }>): InvalidAnswer {
  const { code, message, details } = invalidRequest(validation.errors);
  return {
    valid: false,
    errors: validation.errors,
    warnings: validation.warnings,
    ...errorBody(code, message, details),
  };
}

function isTrue(value: string | undefined): boolean {
  return value === '1' || value === 'true' || value === '';
}

function invalidRequest(errors: ErrorDetail[]): O3Error {
  const first = errors[0];
  const summary = first ? `${first.path || '/'}: ${first.message}` : 'the request is invalid';
  const more =
    errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : '';
  return new O3Error('invalid_request', `the workflow request is invalid: ${summary}${more}`, {
    details: errors,
  });
}
