/** Workflow requests: submit, validate, list, detail, revisions, cancel, retry, revise, logs (§10). */
import type { FastifyPluginAsync } from 'fastify';
import { O3Error, notFound } from '../../errors.js';
import type { RequestPayload } from '../../request/payload.js';
import { validateRequest, type RequestValidation } from '../../request/validate-request.js';
import { RequestStatus, type RequestFilter } from '../../store/store.js';
import type { AppDeps } from '../build-app.js';
import { presentLogLine, presentRequestSummary } from '../present.js';
import { loadRequest, requestDetail, revisionDetail } from '../request-views.js';
import { followRequest } from './log-stream.js';

const MAX_PAGE = 1000;

/** The workflow routes. */
export function workflowRoutes(deps: AppDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const validate = (body: unknown): RequestValidation =>
    validateRequest(body, { templates: deps.templates, lookupClass: deps.tasks.lookupMeta, now: now() });

  return async (app) => {
    app.post('/workflow/submit', async (request, reply) => {
      const validation = validate(request.body);
      if (!validation.valid) throw invalidRequest(validation.errors);
      const result = await deps.engine.submit(validation);
      const r = result.request;
      return reply.status(result.created ? 201 : 200).send({
        uuid: r.uuid,
        ref: r.ref,
        trace_id: r.traceId,
        revision: r.revision,
        status: r.status,
        created: result.created,
        warnings: validation.warnings,
      });
    });

    app.post('/workflow/validate', async (request, reply) => {
      const validation = validate(request.body);
      if (!validation.valid) {
        const error = invalidRequest(validation.errors);
        return reply.status(422).send({
          valid: false,
          errors: validation.errors,
          warnings: validation.warnings,
          error: { code: error.code, message: error.message, details: error.details },
        });
      }
      return { valid: true, warnings: validation.warnings, plan: validation.plan };
    });

    app.get<{ Querystring: Record<string, string | undefined> }>('/workflow', async (request) => {
      const query = request.query;
      const limit = pageLimit(query.limit);
      const filter = listFilter(query);
      const page = await deps.store.listRequests(filter, { limit, cursor: query.cursor ?? null });
      return { items: page.items.map(presentRequestSummary), next_cursor: page.nextCursor };
    });

    app.get<{ Params: { uuid: string } }>('/workflow/:uuid', async (request) =>
      requestDetail(deps, await loadRequest(deps, request.params.uuid)),
    );

    app.get<{ Params: { uuid: string; revision: string } }>(
      '/workflow/:uuid/revisions/:revision',
      async (request) => {
        const number = nonNegative(request.params.revision, 'revision', '/params');
        return revisionDetail(deps, await loadRequest(deps, request.params.uuid, number));
      },
    );

    app.post<{ Params: { uuid: string } }>('/workflow/:uuid/cancel', async (request, reply) => {
      const record = await deps.engine.cancel(request.params.uuid);
      return reply.status(202).send({ uuid: record.uuid, status: record.status });
    });

    app.post<{ Params: { uuid: string } }>('/workflow/:uuid/retry', async (request, reply) => {
      const record = await deps.engine.addRevision(request.params.uuid, 'retry');
      return reply.status(202).send({ uuid: record.uuid, revision: record.revision, status: record.status });
    });

    app.post<{ Params: { uuid: string } }>('/workflow/:uuid/revise', async (request, reply) => {
      const { current, record } = await loadRequest(deps, request.params.uuid);
      const merged = revisedPayload(current.payload as RequestPayload, request.body, record.templateVersion);
      const validation = validate(merged);
      if (!validation.valid) throw invalidRequest(validation.errors.map(toRevisePointer));
      const updated = await deps.engine.addRevision(record.uuid, 'revise', validation);
      return reply
        .status(202)
        .send({
          uuid: updated.uuid,
          revision: updated.revision,
          status: updated.status,
          warnings: validation.warnings,
        });
    });

    app.get<{ Params: { uuid: string }; Querystring: Record<string, string | undefined> }>(
      '/workflow/:uuid/logs',
      async (request, reply) => {
        const { record, runs } = await loadRequest(deps, request.params.uuid);
        const refByUuid = new Map(runs.map((run) => [run.uuid, run.taskRef]));
        let taskUuid: string | undefined;
        if (request.query.task !== undefined) {
          taskUuid = runs.find((run) => run.taskRef === request.query.task)?.uuid;
          if (!taskUuid) throw notFound(`request ${record.uuid} has no task '${request.query.task}'`);
        }
        const afterSeq = request.query.after === undefined ? 0 : nonNegative(request.query.after, 'after');
        if (isTrue(request.query.follow)) {
          followRequest(deps, request, reply, { uuid: record.uuid, taskUuid, afterSeq });
          return reply;
        }
        const lines = await deps.store.readLogs(record.uuid, {
          taskUuid,
          afterSeq,
          limit: pageLimit(request.query.limit),
        });
        return {
          lines: lines.map((line) => presentLogLine(line, refByUuid)),
          next_after: lines.at(-1)?.seq ?? afterSeq,
        };
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
        details: unknown.map((key) => ({ path: `/${key}`, message: 'unknown field' })),
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
function toRevisePointer(detail: { path: string; message: string }): { path: string; message: string } {
  const path = detail.path.replace(/^\/workflow\/(vars|schedule)/, '/$1');
  return { path, message: detail.message };
}

function isTrue(value: string | undefined): boolean {
  return value === '1' || value === 'true' || value === '';
}

function invalidRequest(errors: { path: string; message: string }[]): O3Error {
  const first = errors[0];
  const summary = first ? `${first.path || '/'}: ${first.message}` : 'the request is invalid';
  const more =
    errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : '';
  return new O3Error('invalid_request', `the workflow request is invalid: ${summary}${more}`, {
    details: errors,
  });
}

function listFilter(query: Record<string, string | undefined>): RequestFilter {
  const filter: RequestFilter = {};
  if (query.status !== undefined) {
    if (!Object.hasOwn(RequestStatus, query.status)) {
      throw new O3Error('bad_request', `status must be one of ${Object.keys(RequestStatus).join(', ')}`, {
        details: [{ path: '/querystring/status', message: `'${query.status}' is not a request status` }],
      });
    }
    filter.status = query.status as RequestFilter['status'];
  }
  if (query.template !== undefined) filter.template = query.template;
  if (query.ref !== undefined) filter.ref = query.ref;
  if (query.trace_id !== undefined) filter.traceId = query.trace_id;
  return filter;
}

function pageLimit(value: string | undefined): number {
  if (value === undefined) return 100;
  const limit = nonNegative(value, 'limit');
  if (limit < 1 || limit > MAX_PAGE) {
    throw new O3Error('bad_request', `limit must be from 1 to ${MAX_PAGE}`, {
      details: [{ path: '/querystring/limit', message: `${value} is out of range` }],
    });
  }
  return limit;
}

function nonNegative(value: string, name: string, where = '/querystring'): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw new O3Error('bad_request', `${name} must be a whole number`, {
      details: [{ path: `${where}/${name}`, message: `'${value}' is not a whole number` }],
    });
  }
  return parsed;
}
