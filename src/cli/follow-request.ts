/**
 * Follows a request until it ends, for `submit --wait` and `logs --follow`: from the server-sent
 * events stream (`GET /workflow/{uuid}/logs?follow=1`), or by polling when the server does not
 * stream or the stream breaks off before its `end` event.
 */
import type { LiveState, LogLine, LogPage, RequestDetail } from '../api/answers.js';
import { isRequestEnded } from '../store/records.js';
import { ApiError, UnreachableError, type ApiClient } from './api-client.js';
import { CliError } from './cli-error.js';
import { readSse, type SseEvent } from './sse-parser.js';

/** How often the polling fallback asks. */
export const POLL_INTERVAL_MS = 500;

/** Silence after which the stream is presumed dead (the server sends a heartbeat comment every 15 s). */
export const STREAM_IDLE_MS = 60_000;

/** How many polls in a row may fail to connect (a server restarting) before following gives up. */
const MAX_POLL_FAILURES = 60;

const LOG_PAGE = 1000;

/** What to do with what the server reports while following. */
export interface FollowHandlers {
  /** Called with the first state and then on every change of the request or a task. */
  onState?: (state: LiveState) => void;
  /** Called once per log line, in order; only asked for when set. */
  onLog?: (line: LogLine) => void;
  /** A line for the operator about the following itself (lost connection, …). */
  onNotice?: (message: string) => void;
  /** Only this task's log lines. */
  task?: string;
}

/** Follows the request until it ends and returns its final status. */
export async function followRequest(
  client: ApiClient,
  uuid: string,
  handlers: FollowHandlers,
): Promise<string> {
  const cursor = { after: undefined as number | undefined };
  const status = await followStream(client, uuid, handlers, cursor);
  return status ?? pollRequest(client, uuid, handlers, cursor);
}

/** The stream; undefined when the server does not stream or the stream ended without `end`. */
async function followStream(
  client: ApiClient,
  uuid: string,
  handlers: FollowHandlers,
  cursor: { after: number | undefined },
): Promise<string | undefined> {
  const controller = new AbortController();
  try {
    const response = await client.openStream(
      logsPath(uuid, handlers.task, cursor.after, true),
      controller.signal,
    );
    if (!response?.body) return undefined;
    for await (const event of readSse(response.body, STREAM_IDLE_MS)) {
      const ended = handleEvent(event, handlers, cursor);
      if (ended !== undefined) return ended;
    }
    handlers.onNotice?.('the event stream closed early; polling instead');
  } catch (error) {
    // A 404 or a refused connection is the answer; a stream cut mid-way is not, so poll instead.
    if (error instanceof CliError) throw error;
    handlers.onNotice?.('the event stream broke off; polling instead');
  } finally {
    controller.abort();
  }
  return undefined;
}

/** Handles one event; returns the final status on `end`. Events that do not parse are skipped. */
function handleEvent(
  event: SseEvent,
  handlers: FollowHandlers,
  cursor: { after: number | undefined },
): string | undefined {
  const data = parseData(event.data);
  if (event.event === 'state' && isLiveState(data)) handlers.onState?.(data);
  else if (event.event === 'log' && isLogLine(data)) {
    cursor.after = data.seq;
    handlers.onLog?.(data);
  } else if (event.event === 'end') {
    const status = (data as { status?: unknown } | undefined)?.status;
    return typeof status === 'string' ? status : 'ended';
  }
  return undefined;
}

/** Polls the request (and its log, when asked) until it ends. */
async function pollRequest(
  client: ApiClient,
  uuid: string,
  handlers: FollowHandlers,
  cursor: { after: number | undefined },
): Promise<string> {
  let lastState = '';
  let failures = 0;
  for (;;) {
    let detail: RequestDetail;
    try {
      detail = await client.json<RequestDetail>('GET', `/workflow/${encodeURIComponent(uuid)}`);
      failures = 0;
    } catch (error) {
      if (!isConnectionLoss(error) || ++failures > MAX_POLL_FAILURES) throw error;
      if (failures === 1) handlers.onNotice?.(`${(error as Error).message}; retrying`);
      await sleep(POLL_INTERVAL_MS);
      continue;
    }
    const state = stateOf(detail);
    const text = JSON.stringify(state);
    if (text !== lastState) handlers.onState?.(state);
    lastState = text;
    // Read the log after the detail, so the lines of an ended request are all there.
    if (handlers.onLog) await drainLogs(client, uuid, handlers, cursor);
    if (isRequestEnded(detail.status)) return detail.status;
    await sleep(POLL_INTERVAL_MS);
  }
}

async function drainLogs(
  client: ApiClient,
  uuid: string,
  handlers: FollowHandlers,
  cursor: { after: number | undefined },
): Promise<void> {
  for (;;) {
    const page = await client.json<LogPage>('GET', logsPath(uuid, handlers.task, cursor.after, false));
    for (const line of page.lines) {
      cursor.after = line.seq;
      handlers.onLog?.(line);
    }
    if (page.lines.length < LOG_PAGE) return;
  }
}

/** The logs endpoint with its query. */
export function logsPath(uuid: string, task: string | undefined, after: number | undefined, follow: boolean) {
  const query = new URLSearchParams();
  if (follow) query.set('follow', '1');
  else query.set('limit', String(LOG_PAGE));
  if (task !== undefined) query.set('task', task);
  if (after !== undefined) query.set('after', String(after));
  return `/workflow/${encodeURIComponent(uuid)}/logs?${query.toString()}`;
}

/** The stream's `state` event built from a request's detail. */
export function stateOf(detail: RequestDetail): LiveState {
  return {
    uuid: detail.uuid,
    status: detail.status,
    revision: detail.revision,
    error: detail.error,
    tasks: detail.tasks.map(({ ref_name, state, attempt, started_at, ended_at, error }) => ({
      ref_name,
      state,
      attempt,
      started_at,
      ended_at,
      error,
    })),
  };
}

function parseData(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

function isLiveState(value: unknown): value is LiveState {
  const state = value as Partial<LiveState> | null | undefined;
  return typeof state?.status === 'string' && Array.isArray(state.tasks);
}

function isLogLine(value: unknown): value is LogLine {
  const line = value as Partial<LogLine> | null | undefined;
  return typeof line?.seq === 'number' && typeof line.message === 'string';
}

/** A server restarting refuses connections, or answers 503 while it closes: worth waiting for. */
function isConnectionLoss(error: unknown): boolean {
  return error instanceof UnreachableError || (error instanceof ApiError && error.status === 503);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
