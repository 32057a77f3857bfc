/**
 * O3Error and the catalogue of error codes. Every error a caller can see has a code from here, and
 * the code fixes its HTTP status; docs/errors.md lists the same codes (a test keeps them in step).
 */

/** One problem found in a document, located by a JSON pointer into it. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** The error codes O3 answers with, each with its HTTP status and a one-line meaning. */
export const ERROR_CODES = {
  bad_request: { status: 400, meaning: 'The request could not be read (malformed JSON, bad query).' },
  not_found: { status: 404, meaning: 'No such request, template, task class or route.' },
  conflict: {
    status: 409,
    meaning: 'The request is in a state that does not allow this, or its ref is taken.',
  },
  payload_too_large: { status: 413, meaning: 'The body is larger than the configured limit.' },
  unsupported_media_type: {
    status: 415,
    meaning: 'The body is not application/json (or YAML where allowed).',
  },
  invalid_request: { status: 422, meaning: 'The workflow request is invalid; details name each problem.' },
  invalid_template: { status: 422, meaning: 'The template is invalid; details name each problem.' },
  invalid_task_class: { status: 422, meaning: 'A task module does not satisfy the task contract.' },
  expression_error: { status: 422, meaning: 'An expression cannot be parsed or resolved.' },
  stale_write: { status: 409, meaning: 'A newer write of the same record exists (lost lease or race).' },
  store_unavailable: { status: 503, meaning: 'The store cannot be reached; try again.' },
  internal: { status: 500, meaning: 'An unexpected error; it is logged with its stack.' },
} as const;

/** A code of the catalogue. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error type of O3: a code, a message a person can act on, and the problems in detail. */
export class O3Error extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[];

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetail[]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'O3Error';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = options.details ?? [];
  }
}

/** A template that failed its checks; details hold every problem with its JSON pointer. */
export class TemplateError extends O3Error {
  readonly file: string | undefined;

  constructor(message: string, details: ErrorDetail[], file?: string) {
    super('invalid_template', message, { details });
    this.name = 'TemplateError';
    this.file = file;
  }
}

/** An expression that does not parse or cannot be resolved. `offset` is where in the text it went wrong. */
export class ExpressionError extends O3Error {
  readonly offset: number;

  constructor(message: string, offset = 0) {
    super('expression_error', message);
    this.name = 'ExpressionError';
    this.offset = offset;
  }
}

/** A compare-and-set save that found a newer version, or a request owned by another node. */
export class StaleWriteError extends O3Error {
  constructor(message: string) {
    super('stale_write', message);
    this.name = 'StaleWriteError';
  }
}

/** The store could not be reached; the operation may be retried. */
export class StoreUnavailableError extends O3Error {
  constructor(message: string, cause?: unknown) {
    super('store_unavailable', message, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Shorthand for a 404. */
export function notFound(message: string): O3Error {
  return new O3Error('not_found', message);
}

/** Shorthand for a 409. */
export function conflict(message: string): O3Error {
  return new O3Error('conflict', message);
}

/** The message of anything thrown, for logs and task errors. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : JSON.stringify(error);
}

/** Text as quoted in a message: a value sent by a caller is cut, so an oversized one cannot bloat the answer. */
export function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
