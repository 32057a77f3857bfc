/** Registered templates, one with its DAG. */
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { O3Error, clip, conflict, errorMessage, notFound } from '../../errors.js';
import { canonicalJson } from '../../request/validate-request.js';
import { compileTemplate } from '../../template/compile-template.js';
import { parseTemplateText } from '../../template/load-templates.js';
import { currentTemplates, findTemplate, templateConflict } from '../../template/stored-templates.js';
import type { CompiledTemplate } from '../../template/types.js';
import type { TemplateDetail, TemplateList, TemplateSummary } from '../answers.js';
import type { AppDeps } from '../build-app.js';
import { errors, ownValidation } from '../schemas.js';
import { acceptJsonBodiesOnly } from './json-body.js';

/** A template's summary. */
export function presentTemplateSummary(template: CompiledTemplate): TemplateSummary {
  return {
    ref_name: template.refName,
    schema_version: template.version,
    name: template.name,
    description: template.description,
    tasks: template.tasks.length,
  };
}

/** A template with every registered schema_version of it, its tasks, DAG and document. */
export function presentTemplate(template: CompiledTemplate, versions: number[]): TemplateDetail {
  return { ...presentTemplateSummary(template), versions, ...presentTemplateContents(template) };
}

/** What a template holds; its `tasks` list replaces the summary's task count. */
function presentTemplateContents(
  template: CompiledTemplate,
): Pick<TemplateDetail, 'dag' | 'tasks' | 'document'> {
  return {
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

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

/** `GET /templates`, `GET /templates/{ref_name}`, `POST /templates`. */
export function templateRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    acceptJsonBodiesOnly(app);
    app.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, parseTemplateText(body as string, 'yaml', 'the body'));
      } catch (error) {
        done(new O3Error('bad_request', errorMessage(error)), undefined);
      }
    });

    app.get(
      '/templates',
      { schema: { summary: 'The registered templates', tags: ['catalogue'] } },
      async (): Promise<TemplateList> => ({
        templates: (await currentTemplates(deps)).map(presentTemplateSummary),
      }),
    );

    app.get<{ Params: { ref: string }; Querystring: { version?: string | string[] } }>(
      '/templates/:ref',
      {
        schema: {
          summary: 'One template (the highest schema_version, or ?version=N) with its tasks and DAG',
          tags: ['catalogue'],
          params: Type.Object({ ref: Type.String() }),
          querystring: Type.Object({
            version: Type.Optional(Type.Unknown({ description: 'A schema_version' })),
          }),
          response: errors(400, 404),
        },
      },
      async (request) => {
        const version = templateVersion(request.query.version);
        const template = await findTemplate(deps, request.params.ref, version);
        if (!template) {
          const which = version === undefined ? '' : ` version ${version}`;
          throw notFound(`no template '${clip(request.params.ref)}'${which}`);
        }
        return presentTemplate(template, deps.templates.versions(template.refName));
      },
    );

    app.post(
      '/templates',
      {
        ...ownValidation,
        schema: {
          summary:
            'Register a template (JSON, or YAML with Content-Type application/yaml), validated as at load',
          tags: ['catalogue'],
          body: Type.Object({}, { additionalProperties: true, description: 'A template document (SPEC §2)' }),
          response: errors(400, 409, 413, 415, 422),
        },
      },
      async (request, reply) => {
        const template = compileTemplate(request.body, { lookupClass: deps.tasks.lookupMeta, source: null });
        // The store is the source of truth: a pair another node registered is found there.
        const existing = await findTemplate(deps, template.refName, template.version);
        if (existing) {
          if (existing.source !== null) throw fileConflict(template);
          if (canonicalJson(existing.document) !== canonicalJson(template.document)) {
            throw templateConflict(template.refName, template.version);
          }
          return reply.status(200).send(presentTemplate(existing, deps.templates.versions(existing.refName)));
        }
        // Throws the same conflict when another node stored the pair with another document meanwhile.
        await deps.onTemplateRegistered?.(template);
        deps.templates.add(template);
        return reply.status(201).send(presentTemplate(template, deps.templates.versions(template.refName)));
      },
    );
  };
}

/**
 * The 409 of a pair a template file defines: files win over the store, so the API cannot register
 * it, not even unchanged: stored, it would outlive a later edit of the file on nodes without the file.
 */
function fileConflict(template: CompiledTemplate): O3Error {
  return conflict(
    `template '${clip(template.refName)}' schema_version ${template.version} is defined by a template file ` +
      'of the server; change the file, or register a new schema_version',
  );
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
