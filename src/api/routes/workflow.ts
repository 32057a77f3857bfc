/** Workflow requests: submit, validate, list, detail, cancel, logs (§10). */
import type { FastifyPluginAsync } from 'fastify';
import { O3Error, notFound } from '../../errors.js';
import { requestRedactor } from '../../engine/secrets.js';
import type { RequestPayload } from '../../request/payload.js';
import { validateRequest, type RequestValidation } from '../../request/validate-request.js';
import {
  RequestStatus,
  type RequestFilter,
  type RequestRecord,
  type RevisionRecord,
} from '../../store/store.js';
import { compileTemplate } from '../../template/compile-template.js';
import type { CompiledTemplate, TemplateDocument } from '../../template/types.js';
import type { AppDeps } from '../build-app.js';
import { presentLogLine, presentRequestSummary, presentRevision, presentTaskRun } from '../present.js';

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

    app.get<{ Params: { uuid: string } }>('/workflow/:uuid', async (request) => {
      const { record, revisions, current } = await loadRequest(deps, request.params.uuid);
      const runs = await deps.store.getTaskRuns(record.uuid, record.revision);
      const template = templateOf(deps, current);
      const redactor = requestRedactor(current.payload as RequestPayload, template, deps.tasks, runs);
      return {
        ...presentRequestSummary(record),
        description: record.description,
        warnings: current.warnings,
        tasks: runs.map((run) => presentTaskRun(run, template, deps.tasks, redactor)),
        revisions: revisions.map((revision) => presentRevision(revision, redactor)),
      };
    });

    app.post<{ Params: { uuid: string } }>('/workflow/:uuid/cancel', async (request, reply) => {
      const record = await deps.engine.cancel(request.params.uuid);
      return reply.status(202).send({ uuid: record.uuid, status: record.status });
    });

    app.get<{ Params: { uuid: string }; Querystring: Record<string, string | undefined> }>(
      '/workflow/:uuid/logs',
      async (request) => {
        const { record } = await loadRequest(deps, request.params.uuid);
        const runs = await deps.store.getTaskRuns(record.uuid, record.revision);
        const refByUuid = new Map(runs.map((run) => [run.uuid, run.taskRef]));
        let taskUuid: string | undefined;
        if (request.query.task !== undefined) {
          taskUuid = runs.find((run) => run.taskRef === request.query.task)?.uuid;
          if (!taskUuid) throw notFound(`request ${record.uuid} has no task '${request.query.task}'`);
        }
        const afterSeq =
          request.query.after === undefined ? undefined : nonNegative(request.query.after, 'after');
        const lines = await deps.store.readLogs(record.uuid, {
          taskUuid,
          afterSeq,
          limit: pageLimit(request.query.limit),
        });
        return {
          lines: lines.map((line) => presentLogLine(line, refByUuid)),
          next_after: lines.at(-1)?.seq ?? afterSeq ?? 0,
        };
      },
    );
  };
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

async function loadRequest(
  deps: AppDeps,
  uuid: string,
): Promise<{ record: RequestRecord; revisions: RevisionRecord[]; current: RevisionRecord }> {
  const record = await deps.store.getRequest(uuid);
  if (!record) throw notFound(`no request ${uuid}`);
  const revisions = await deps.store.getRevisions(uuid);
  const current = revisions.find((revision) => revision.revision === record.revision);
  if (!current) throw notFound(`request ${uuid} has no revision ${record.revision}`);
  return { record, revisions, current };
}

/** The compiled template a revision ran with (the registered one when it is the same document). */
function templateOf(deps: AppDeps, revision: RevisionRecord): CompiledTemplate {
  const document = revision.template as TemplateDocument;
  const registered = deps.templates.get(document.ref_name, document.schema_version);
  if (registered && JSON.stringify(registered.document) === JSON.stringify(document)) return registered;
  return compileTemplate(document, { lookupClass: deps.tasks.lookupMeta });
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

function nonNegative(value: string, name: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) {
    throw new O3Error('bad_request', `${name} must be a whole number`, {
      details: [{ path: `/querystring/${name}`, message: `'${value}' is not a whole number` }],
    });
  }
  return parsed;
}
