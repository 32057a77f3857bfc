/**
 * The one error handler: every error becomes `{error: {code, message, details}}` with the status of
 * its code. Fastify's own errors (bad JSON, too large, wrong media type, schema) keep their 4xx; an
 * unknown error is logged with its stack and answered as a plain 500 without it.
 */
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchemaValidationError,
} from 'fastify';
import { ERROR_CODES, O3Error, type ErrorCode, type ErrorDetail } from '../errors.js';
import type { ErrorBody } from './answers.js';

/** Builds an error body. */
export function errorBody(code: ErrorCode, message: string, details: ErrorDetail[] = []): ErrorBody {
  return { error: { code, message, details } };
}

/** Installs the error and not-found handlers on an app. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | O3Error, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toAnswer(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}

/** Maps any thrown error to a status and an error body. */
export function toAnswer(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof O3Error) {
    return { status: error.status, body: errorBody(error.code, error.message, error.details) };
  }
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const context = fastifyError.validationContext ?? 'request';
    const prefix = context === 'body' ? '' : `/${context}`;
    const details = validationDetails(fastifyError.validation, prefix);
    const first = details[0];
    const label = CONTEXT_LABELS[context] ?? context;
    const summary = first ? `: ${fieldName(first.path, prefix, label)} ${first.message}` : '';
    return { status: 400, body: errorBody('bad_request', `the ${label} is invalid${summary}`, details) };
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 413)
    return { status, body: errorBody('payload_too_large', fastifyError.message ?? 'the body is too large') };
  if (status === 415) {
    return {
      status,
      body: errorBody('unsupported_media_type', 'the body must be JSON (Content-Type: application/json)'),
    };
  }
  if (status >= 400 && status < 500) {
    const code: ErrorCode = status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'bad_request';
    return {
      status: status === 404 || status === 409 ? status : 400,
      body: errorBody(code, readableMessage(fastifyError)),
    };
  }
  return { status: 500, body: errorBody('internal', ERROR_CODES.internal.meaning) };
}

/**
 * Fastify's own errors that never reach the error handler (a bad %-escape in the URL, a path
 * parameter over the router's length limit), answered in the same shape. Pass it as the
 * `frameworkErrors` option of Fastify.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const path = clip(request.url.split('?')[0] ?? '');
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    // Nothing O3 names (a UUID, a ref_name) is that long, so there is nothing there.
    void reply.status(404).send(errorBody('not_found', `nothing at ${path}: a path segment is too long`));
    return;
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    void reply.status(400).send(errorBody('bad_request', `the URL ${path} is not valid (a bad %-escape?)`));
    return;
  }
  const { status, body } = toAnswer(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  void reply.status(status).send(body);
}

const CONTEXT_LABELS: Record<string, string> = {
  querystring: 'query string',
  params: 'path',
  body: 'body',
  headers: 'headers',
};

/**
 * One detail per invalid field, in words: Ajv reports a value outside a union of constants once per
 * constant plus once for the union, which would read as eight problems instead of one.
 */
function validationDetails(errors: FastifySchemaValidationError[], prefix: string): ErrorDetail[] {
  const byPath = new Map<string, { allowed: unknown[]; messages: string[] }>();
  for (const error of errors) {
    let path = `${prefix}${error.instancePath}`;
    const missing = error.params.missingProperty ?? error.params.additionalProperty;
    if (typeof missing === 'string') path += `/${missing.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    const entry = byPath.get(path) ?? { allowed: [], messages: [] };
    byPath.set(path, entry);
    if (error.keyword === 'const' || error.keyword === 'enum') {
      const allowed = error.params.allowedValue ?? error.params.allowedValues;
      entry.allowed.push(...(Array.isArray(allowed) ? (allowed as unknown[]) : [allowed]));
    } else if (error.keyword === 'required') {
      entry.messages.push('is required');
    } else if (error.keyword === 'additionalProperties') {
      entry.messages.push('is not a known field');
    } else {
      entry.messages.push(error.message ?? 'is invalid');
    }
  }
  return [...byPath].map(([path, { allowed, messages }]) => ({
    path,
    message:
      allowed.length > 0
        ? `must be one of ${allowed.map((value) => String(value)).join(', ')}`
        : [...new Set(messages.filter((m) => !/match a schema in anyOf/.test(m)))].join('; ') || 'is invalid',
  }));
}

/** The field a detail is about, for the summary: `status` for `/querystring/status`. */
function fieldName(path: string, prefix: string, label: string): string {
  const rest = path.slice(prefix.length);
  if (rest === '') return label;
  return rest
    .slice(rest.lastIndexOf('/') + 1)
    .replaceAll('~1', '/')
    .replaceAll('~0', '~');
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function readableMessage(error: Partial<FastifyError>): string {
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'the body is empty; send a JSON document';
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return `the body is not valid JSON: ${error.message ?? ''}`.trim();
  }
  return error.message ?? 'bad request';
}
