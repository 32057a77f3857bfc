/** The REST API as the CLI sees it: JSON calls, readable errors, and the server-sent events stream. */
import type { ErrorDetail } from '../api/answers.js';
import { CliError, ExitCode } from './cli-error.js';

/** How long a plain (non-streaming) call may take before the CLI gives up. */
export const CALL_TIMEOUT_MS = 30_000;

const API_PREFIX = '/api/v1';

/** Plain words for the network error codes people meet most. */
const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'no route to the host',
};

/** An error answer of the API (`{error: {code, message, details}}`), with its HTTP status. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string, details: ErrorDetail[]) {
    // 400 and 422 say the input must change; 404, 409 and 5xx say the action failed.
    super(message, status === 400 || status === 422 ? ExitCode.usage : ExitCode.failed, details);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The server could not be reached (refused, unknown host, reset, timed out). */
export class UnreachableError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UnreachableError';
  }
}

/** A status and parsed JSON body, whatever the status. */
export interface RawAnswer {
  status: number;
  body: unknown;
}

/** A client of one O3 server. */
export class ApiClient {
  /** The server's base URL, without a trailing slash or `/api/v1`. */
  readonly server: string;

  constructor(server: string) {
    this.server = normalizeServer(server);
  }

  /**
   * Calls an endpoint and returns its JSON; a non-2xx answer throws an ApiError. The JSON is cast,
   * not checked, so readers still guard the lists they print (warnings, outputs, a plan).
   */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.raw(method, path, body);
    if (answer.status >= 300) throw toApiError(answer);
    return answer.body as T;
  }

  /** Calls an endpoint and returns status and JSON body, even for an error status. */
  async raw(method: string, path: string, body?: unknown): Promise<RawAnswer> {
    const response = await this.fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await response.text().catch((error: unknown) => {
      throw this.networkError(error);
    });
    return { status: response.status, body: parseBody(text, response) };
  }

  /**
   * Opens a `text/event-stream` endpoint. Resolves with the response when the server streams, or
   * undefined when it answered plain JSON (a server without streaming: the caller polls instead).
   */
  async openStream(path: string, signal: AbortSignal): Promise<Response | undefined> {
    const response = await this.fetch(path, { headers: { accept: 'text/event-stream' }, signal });
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && type.startsWith('text/event-stream') && response.body) return response;
    const text = await response.text().catch(() => '');
    if (!response.ok) throw toApiError({ status: response.status, body: parseBody(text, response) });
    return undefined;
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.server}${API_PREFIX}${path}`, init);
    } catch (error) {
      throw this.networkError(error);
    }
  }

  /** Turns a fetch failure into a sentence that says what to do. */
  private networkError(error: unknown): CliError {
    if (error instanceof CliError) return error;
    if (error instanceof Error && error.name === 'TimeoutError') {
      return new UnreachableError(
        `the O3 server at ${this.server} did not answer within ${CALL_TIMEOUT_MS / 1000} s`,
      );
    }
    const code = causeCode(error);
    if (code === 'ECONNREFUSED') {
      return new UnreachableError(
        `cannot reach the O3 server at ${this.server} (is it running? start it with 'npm start')`,
      );
    }
    const reason =
      (code && NETWORK_REASONS[code]) ??
      code ??
      (error instanceof Error ? (causeMessage(error) ?? error.message) : String(error));
    return new UnreachableError(`cannot reach the O3 server at ${this.server} (${reason})`);
  }
}

/** Checks and trims a `--server` value: `http(s)://host:port[/prefix]`, `/api/v1` and a trailing slash dropped. */
export function normalizeServer(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliError(
      `--server must be a URL such as http://127.0.0.1:8080, not '${server}'`,
      ExitCode.usage,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`--server must be an http:// or https:// URL, not '${server}'`, ExitCode.usage);
  }
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  return `${url.origin}${path}`;
}

function parseBody(text: string, response: Response): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A proxy's HTML page or a server that is not O3: keep the status line, drop the page.
    return {
      error: { code: 'not_json', message: `the server answered ${response.status} ${response.statusText}` },
    };
  }
}

/** The ApiError of an error answer (its `{error: {code, message, details}}`, or its status alone). */
export function toApiError(answer: RawAnswer): ApiError {
  const error = (answer.body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)
    ?.error;
  const message = typeof error?.message === 'string' ? error.message : `the server answered ${answer.status}`;
  const code = typeof error?.code === 'string' ? error.code : 'unknown';
  const details = Array.isArray(error?.details) ? error.details.filter(isDetail) : [];
  return new ApiError(answer.status, code, message, details);
}

function isDetail(value: unknown): value is ErrorDetail {
  const detail = value as Partial<ErrorDetail> | null;
  return typeof detail?.path === 'string' && typeof detail.message === 'string';
}

/** The errno-style code under a fetch TypeError (undici nests it, sometimes in an AggregateError). */
function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; errors?: { code?: unknown }[] } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  const first = cause?.errors?.[0]?.code;
  return typeof first === 'string' ? first : undefined;
}

function causeMessage(error: Error): string | undefined {
  const cause = error.cause;
  return cause instanceof Error && cause.message !== '' ? cause.message : undefined;
}
