/**
 * The one error handler: every error becomes `{error: {code, message, details}}` with the status of
 * its code. Fastify's own errors (bad JSON, too large, wrong media type, schema) keep their 4xx; an
 * unknown error is logged with its stack and answered as a plain 500 without it.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, O3Error, type ErrorCode, type ErrorDetail } from '../errors.js';

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetail[] };
}

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
    const details = fastifyError.validation.map((v) => ({
      path: `${fastifyError.validationContext === 'body' ? '' : `/${fastifyError.validationContext ?? ''}`}${v.instancePath}`,
      message: v.message ?? 'is invalid',
    }));
    return {
      status: 400,
      body: errorBody(
        'bad_request',
        `the ${fastifyError.validationContext ?? 'request'} is invalid`,
        details,
      ),
    };
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

function readableMessage(error: Partial<FastifyError>): string {
  if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'the body is empty; send a JSON document';
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return `the body is not valid JSON: ${error.message ?? ''}`.trim();
  }
  return error.message ?? 'bad request';
}
