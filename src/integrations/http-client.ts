/**
 * The HTTP client of the built-in integrations (AWX, TFE): JSON in and out, a timeout on every
 * attempt, the task's abort signal, and retries with exponential backoff for 429 (honouring
 * Retry-After and X-RateLimit-Reset), 5xx and network errors. A 4xx fails with a sentence that
 * says which (see http-failure.ts).
 *
 * Built on node:http/https rather than the global fetch because Node 20's fetch cannot be given a
 * CA file, and one code path for both is easier to trust than two.
 *
 * Calls that create something (a job launch) are not idempotent: they are repeated only when the
 * system surely did not act (a 429, a refused connection). Any other failure of such a call is an
 * unknown outcome, and the caller must look the result up before trying again (SPEC §7).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskFailure } from '../task/task-failure.js';
import {
  answerDetail,
  outcomeUnknown,
  refusal,
  statusText,
  tlsRefusal,
  unavailable,
  type CallDescription,
} from './http-failure.js';
import type { TlsSettings } from './tls.js';

/** How often and how patiently a call is retried. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After (or rate-limit reset) honoured; longer waits are cut to this. */
  maxRetryAfterMs: number;
}

/** The settings of one client: one external system, one token, one TLS configuration. */
export interface HttpClientOptions {
  /** Names the system in every message: "AWX", "TFE". */
  service: string;
  baseUrl: string;
  /** Sent as a Bearer token, and only to the origin of baseUrl. */
  token?: string;
  /** The input holding the token, named when the token is refused. */
  tokenInput?: string;
  tls: TlsSettings;
  /** Time allowed for one attempt, answer included. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Told about every retry (for the task log). */
  onRetry?: (message: string) => void;
}

/** One call. */
export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** A path under baseUrl, or an absolute URL. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  body?: Buffer;
  headers?: Record<string, string>;
  /** The call as a verb phrase, for messages: "launch job template 42". */
  what: string;
  /** The resource a 404 names: "job template 42". */
  target?: string;
  /** Whether repeating the call is harmless; default true for GET, PUT and DELETE. */
  idempotent?: boolean;
  /** Statuses handed back to the caller instead of failing (e.g. 405, 409). */
  accept?: readonly number[];
  /** Send the token (default true); false for pre-signed URLs and other hosts. */
  auth?: boolean;
  signal?: AbortSignal;
  maxBytes?: number;
  /** A better reason for a refused call than the body's own, e.g. AWX's variables_needed_to_start. */
  explain?: (status: number, body: unknown) => string | undefined;
}

/** An answer that was a success (2xx) or one of the accepted statuses. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8000,
  maxRetryAfterMs: 60_000,
};
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** Network errors after which the server surely never saw the request. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** A client for one external system. */
export class HttpClient {
  readonly service: string;
  readonly baseUrl: URL;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: HttpClientOptions) {
    this.service = options.service;
    this.baseUrl = parseBaseUrl(options.service, options.baseUrl);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** Makes the call, retrying what may be retried; throws TaskFailure (or the abort reason). */
  async call(call: CallOptions): Promise<HttpAnswer> {
    const method = call.method ?? 'GET';
    const url = this.urlOf(call);
    const described: CallDescription = {
      service: this.service,
      what: call.what,
      target: call.target,
      tokenInput: this.options.tokenInput,
      path: url.pathname,
    };
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.attempt(method, url, call, described);
      if ('answer' in outcome) return outcome.answer;
      if (attempt >= this.retry.attempts) throw unavailable(described, attempt, outcome.retry);
      await this.pause(attempt, outcome, method, call.signal, described);
    }
  }

  /** One attempt: the answer, or why it may be tried again; anything else throws. */
  private async attempt(
    method: string,
    url: URL,
    call: CallOptions,
    described: CallDescription,
  ): Promise<{ answer: HttpAnswer } | Retry> {
    const idempotent = call.idempotent ?? (method === 'GET' || method === 'PUT' || method === 'DELETE');
    let raw: RawAnswer;
    try {
      raw = await this.once(method, url, call);
    } catch (error) {
      if (call.signal?.aborted) throw call.signal.reason ?? error;
      const reason = networkReason(error);
      if (isTlsError(error)) throw tlsRefusal(described, reason);
      if (!idempotent && !NOT_SENT.has(errorCode(error))) throw outcomeUnknown(described, reason);
      return { retry: reason };
    }
    if ((raw.status >= 200 && raw.status < 300) || call.accept?.includes(raw.status)) {
      return { answer: answer(raw) };
    }
    if (raw.status === 429 || raw.status >= 500) {
      // A 429 is a refusal before any work; a 5xx may come after the work was done.
      if (raw.status !== 429 && !idempotent) throw outcomeUnknown(described, statusText(raw.status));
      return { retry: statusText(raw.status), headers: raw.headers };
    }
    throw refusal(described, raw.status, this.detail(raw, call));
  }

  /** GET a JSON document. */
  async getJson<T>(call: Omit<CallOptions, 'method'>): Promise<T> {
    return (await this.call({ ...call, method: 'GET' })).json<T>();
  }

  private urlOf(call: CallOptions): URL {
    const url = new URL(call.path, this.baseUrl);
    for (const [key, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  private detail(raw: RawAnswer, call: CallOptions): string | undefined {
    if (call.explain) {
      try {
        const explained = call.explain(raw.status, JSON.parse(raw.body.toString('utf8')) as unknown);
        if (explained) return explained;
      } catch {
        // Not JSON: the generic reading below still gives the text.
      }
    }
    return answerDetail(raw.body, headerValue(raw.headers['content-type']));
  }

  private async pause(
    attempt: number,
    retry: Retry,
    method: string,
    signal: AbortSignal | undefined,
    described: CallDescription,
  ): Promise<void> {
    const asked = retry.headers ? serverDelayMs(retry.headers) : undefined;
    const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    const delay =
      asked !== undefined
        ? Math.min(asked, this.retry.maxRetryAfterMs)
        : Math.round(backoff * (0.5 + Math.random() / 2));
    this.options.onRetry?.(
      `${method} ${described.path} to ${described.service}: ${retry.retry}; ` +
        `retrying in ${delay} ms (attempt ${attempt + 1} of ${this.retry.attempts})`,
    );
    try {
      await sleep(delay, undefined, { signal });
    } catch (error) {
      throw signal?.reason ?? error;
    }
  }

  private once(method: string, url: URL, call: CallOptions): Promise<RawAnswer> {
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    let body = call.body;
    if (call.json !== undefined) {
      body = Buffer.from(JSON.stringify(call.json));
      headers['content-type'] ??= 'application/json';
    }
    if (body) headers['content-length'] = String(body.length);
    if (this.options.token && call.auth !== false && url.origin === this.baseUrl.origin) {
      headers.authorization = `Bearer ${this.options.token}`;
    }
    return requestOnce({
      url,
      method,
      headers,
      body,
      tls: this.options.tls,
      timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal: call.signal,
      maxBytes: call.maxBytes ?? DEFAULT_MAX_BYTES,
    });
  }
}

/** Why an attempt may be tried again, and the answer's headers (for Retry-After). */
interface Retry {
  retry: string;
  headers?: IncomingHttpHeaders;
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface OnceOptions {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  tls: TlsSettings;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  maxBytes: number;
}

/** One HTTP exchange on a fresh connection (no keep-alive: a stale pooled socket must never turn a launch into an unknown outcome). */
function requestOnce(o: OnceOptions): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const secure = o.url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: o.method,
      headers: o.headers,
      agent: false,
      signal: o.signal,
      ...(secure ? { ca: o.tls.ca, rejectUnauthorized: o.tls.rejectUnauthorized } : {}),
    };
    const request = (secure ? https : http).request(o.url, options, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > o.maxBytes) request.destroy(new Error(`the answer is larger than ${o.maxBytes} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
      response.on('close', () => {
        if (!response.complete) reject(new Error('the connection closed before the answer was complete'));
      });
    });
    const timer = setTimeout(
      () =>
        request.destroy(
          Object.assign(new Error(`no answer within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
        ),
      o.timeoutMs,
    );
    request.on('close', () => clearTimeout(timer));
    request.on('error', reject);
    request.end(o.body);
  });
}

function answer(raw: RawAnswer): HttpAnswer {
  return {
    ...raw,
    text: () => raw.body.toString('utf8'),
    json: <T>() => {
      try {
        return JSON.parse(raw.body.toString('utf8')) as T;
      } catch (error) {
        throw TaskFailure.retryable(`the answer (${raw.status}) is not JSON`, error);
      }
    },
  };
}

/** The wait the server asked for: Retry-After (seconds or a date) or X-RateLimit-Reset (seconds, or an epoch). */
export function serverDelayMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const retryAfter = headerValue(headers['retry-after']);
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = Number(headerValue(headers['x-ratelimit-reset']));
  if (Number.isFinite(reset) && reset > 0) {
    // Epoch seconds (GitHub style) are large; TFE sends the seconds left until the reset.
    return reset > 1e9 ? Math.max(0, reset * 1000 - now) : reset * 1000;
  }
  return undefined;
}

function parseBaseUrl(service: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw TaskFailure.nonRetryable(`the ${service} address '${value}' is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw TaskFailure.nonRetryable(`the ${service} address '${value}' is not an http(s) URL`);
  }
  // Paths are resolved against it: keep a trailing slash so a base path is not dropped.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? '';
}

function networkReason(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function isTlsError(error: unknown): boolean {
  const code = errorCode(error);
  return (
    code.startsWith('CERT_') ||
    code.startsWith('ERR_TLS_CERT') ||
    code.includes('SELF_SIGNED') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'HOSTNAME_MISMATCH'
  );
}
