/**
 * The sentences O3 fails a task with when an external system refuses a call or cannot be reached.
 * They say which system, what O3 was doing and what the answer means, so an operator can act on
 * them; they never contain a token (nothing here ever sees one).
 */
import { STATUS_CODES } from 'node:http';
import { TaskFailure } from '../task/task-failure.js';

/** What a failed call was about, for the sentence. */
export interface CallDescription {
  /** The system: "AWX", "TFE". */
  service: string;
  /** The call as a verb phrase: "launch job template 42". */
  what: string;
  /** The resource a 404 names: "job template 42" (default: the URL path). */
  target?: string;
  /** The input that holds the token, named in a 401 sentence: "awx_token". */
  tokenInput?: string;
  path: string;
}

const MAX_DETAIL = 400;

/** `401 Unauthorized`. */
export function statusText(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
}

/** The failure for a 4xx answer: the call was understood and refused, so repeating it cannot help. */
export function refusal(call: CallDescription, status: number, detail: string | undefined): TaskFailure {
  const s = call.service;
  const tail = detail ? `: ${detail}` : '';
  switch (status) {
    case 401:
      return TaskFailure.nonRetryable(
        `${s} refused the token (401 Unauthorized) when asked to ${call.what}` +
          (call.tokenInput ? `; check ${call.tokenInput}` : ''),
      );
    case 403:
      return TaskFailure.nonRetryable(
        `${s} denied permission to ${call.what} (403 Forbidden): the token's user lacks the rights${tail}`,
      );
    case 404:
      return TaskFailure.nonRetryable(`${s} has no ${call.target ?? call.path} (404 Not Found)`);
    case 400:
      return TaskFailure.nonRetryable(
        `${s} rejected the request to ${call.what} (400 Bad Request)${tail || ': no reason given'}`,
      );
    default:
      return TaskFailure.nonRetryable(`${s} refused to ${call.what} (${statusText(status)})${tail}`);
  }
}

/** The failure after every attempt met a 429, a 5xx or a network error: worth trying again later. */
export function unavailable(call: CallDescription, attempts: number, last: string): TaskFailure {
  return TaskFailure.retryable(
    `${call.service} could not ${call.what} after ${attempts} attempt${attempts === 1 ? '' : 's'} (last: ${last})`,
  );
}

/**
 * The failure of a call that must not be repeated blindly (a launch) when its outcome is unknown:
 * the system may have done it. Callers look the result up before trying again.
 */
export function outcomeUnknown(call: CallDescription, reason: string): TaskFailure {
  return TaskFailure.retryable(
    `${call.service} gave no usable answer when asked to ${call.what} (${reason}); it may have done it`,
  );
}

/** The failure of a TLS handshake: a certificate problem does not go away by trying again. */
export function tlsRefusal(call: CallDescription, reason: string): TaskFailure {
  return TaskFailure.nonRetryable(
    `${call.service}'s TLS certificate was not accepted when asked to ${call.what} (${reason}): ` +
      'name its CA with the ca_file input, or set tls_verify: false on purpose',
  );
}

/** The reason an error answer gives, from the usual JSON shapes (AWX `detail`, JSON:API `errors`). */
export function answerDetail(body: Buffer, contentType: string | undefined): string | undefined {
  const text = body.toString('utf8').trim();
  if (text === '') return undefined;
  if (!contentType?.includes('json')) return truncate(text);
  try {
    return truncate(detailOf(JSON.parse(text) as unknown) ?? text);
  } catch {
    return truncate(text);
  }
}

function detailOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return typeof value === 'string' ? value : undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.detail === 'string') return record.detail;
  if (typeof record.error === 'string') return record.error;
  if (Array.isArray(record.errors)) {
    return record.errors
      .map((e: unknown) => {
        const err = (e ?? {}) as Record<string, unknown>;
        return [err.title, err.detail].filter((part) => typeof part === 'string' && part).join(': ');
      })
      .filter(Boolean)
      .join('; ');
  }
  return JSON.stringify(value);
}

function truncate(text: string): string {
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}
