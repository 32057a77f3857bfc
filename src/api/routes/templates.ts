/** Registered templates, one with its DAG. */
import type { FastifyPluginAsync } from 'fastify';
import { O3Error, notFound } from '../../errors.js';
import type { CompiledTemplate } from '../../template/types.js';
import type { AppDeps } from '../build-app.js';

/** A template's summary. */
export function presentTemplateSummary(template: CompiledTemplate) {
  return {
    ref_name: template.refName,
    schema_version: template.version,
    name: template.name,
    description: template.description,
    tasks: template.tasks.length,
  };
}

/** A template with its tasks and DAG. */
export function presentTemplate(template: CompiledTemplate) {
  return {
    ...presentTemplateSummary(template),
    versions: undefined as number[] | undefined,
    dag: {
      levels: template.levels,
      edges: template.tasks.flatMap((task) => task.dependencies.map((from) => ({ from, to: task.refName }))),
    },
    tasks: template.tasks.map((task) => ({
      ref_name: task.refName,
      name: task.name,
      description: task.description,
      class: task.className,
      depends_on: task.dependencies,
      always_run: task.alwaysRun,
      optional: task.optional,
    })),
    document: template.document,
  };
}

/** `GET /templates`, `GET /templates/{ref_name}`. */
export function templateRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/templates', async () => ({ templates: deps.templates.list().map(presentTemplateSummary) }));
    app.get<{ Params: { ref: string }; Querystring: { version?: string | string[] } }>(
      '/templates/:ref',
      async (request) => {
        const version = templateVersion(request.query.version);
        const template = deps.templates.get(request.params.ref, version);
        if (!template)
          throw notFound(
            `no template '${request.params.ref}'${version === undefined ? '' : ` version ${version}`}`,
          );
        return { ...presentTemplate(template), versions: deps.templates.versions(template.refName) };
      },
    );
  };
}

/** `?version=N`: a whole number from 1, else a 400 at the query (not a 404 for "version NaN"). */
function templateVersion(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  // A repeated parameter arrives as an array.
  const version = typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isInteger(version) || version < 1) {
    throw new O3Error('bad_request', 'version must be a whole number from 1', {
      details: [{ path: '/querystring/version', message: `'${String(value)}' is not a schema_version` }],
    });
  }
  return version;
}
