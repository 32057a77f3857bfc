/** Talking to the O3 REST API from the browser: JSON in and out, errors as `ApiError`. */
import type { ErrorDetail } from '../../src/api/answers.js';

/** The API's base path (the UI is served by the same server). */
export const API = '/api/v1';

/** An error answer (`{error: {code, message, details}}`), or the server not answering at all. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
  }
}

/** An answer with its HTTP status, for the calls whose status means something (200 vs 201, 422). */
export interface Answer<T> {
  status: number;
  body: T;
}

/** GETs a JSON answer; anything but a 2xx throws an ApiError. */
export async function apiGet<T>(path: string, signal?: AbortSignal): Promise<T> {
  const answer = await call<T>('GET', path, undefined, signal);
  return answer.body;
}

/** POSTs JSON (or nothing); anything but a 2xx throws an ApiError unless `accept` lists its status. */
export async function apiPost<T>(path: string, body?: unknown, accept: number[] = []): Promise<Answer<T>> {
  return call<T>('POST', path, body, undefined, accept);
}

async function call<T>(
  method: string,
  path: string,
  body: unknown,
  signal: AbortSignal | undefined,
  accept: number[] = [],
): Promise<Answer<T>> {
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      signal,
      headers: {
        accept: 'application/json',
        // Fastify refuses an empty body declared as JSON, so cancel and retry send no type at all.
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(
      0,
      'unreachable',
      'The O3 server did not answer. Check that it is running and reachable.',
    );
  }
  const parsed = await parseBody(response);
  if (response.ok || accept.includes(response.status)) return { status: response.status, body: parsed as T };
  throw toApiError(response.status, parsed);
}

async function parseBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Reads an error answer, whatever shape a proxy in between may have given it. */
export function toApiError(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error && typeof error.message === 'string') {
    const details = Array.isArray(error.details) ? (error.details as ErrorDetail[]) : [];
    return new ApiError(
      status,
      typeof error.code === 'string' ? error.code : `http_${status}`,
      error.message,
      details,
    );
  }
  const text = typeof body === 'string' && body.length < 300 ? `: ${body}` : '';
  return new ApiError(status, `http_${status}`, `The server answered HTTP ${status}${text}`);
}

/** Encodes one path segment. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
