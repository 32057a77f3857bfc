/**
 * Following a request live (`GET /workflow/{uuid}/logs?follow=1`) as server-sent events: `log`
 * for each new line, `state` whenever the request or a task changes, `end` once it has ended.
 * Woken by the engine's commits (no polling delay on this node); a slow timer also catches changes
 * written by other nodes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isRequestEnded } from '../../store/records.js';
import type { FollowEvents } from '../answers.js';
import type { AppDeps } from '../build-app.js';
import { presentLogLine } from '../present.js';
import { loadRequest, requestState } from '../request-views.js';

const BATCH = 500;
const FALLBACK_REFRESH_MS = 1000;
const HEARTBEAT_MS = 15_000;

/** What to follow. */
export interface FollowOptions {
  uuid: string;
  taskUuid?: string;
  afterSeq: number;
}

/** Streams a request's log and state until it ends or the client goes away. */
export function followRequest(
  deps: AppDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  options: FollowOptions,
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let afterSeq = options.afterSeq;
  let lastState = '';
  let closed = false;
  let busy = false;
  let again = false;
  const write = (event: keyof FollowEvents, json: string, id?: number) => {
    res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${json}\n\n`);
  };
  const send = <E extends keyof FollowEvents>(event: E, data: FollowEvents[E], id?: number) =>
    write(event, JSON.stringify(data), id);

  const pump = async (): Promise<void> => {
    const loaded = await loadRequest(deps, options.uuid);
    const refByUuid = new Map(loaded.runs.map((run) => [run.uuid, run.taskRef]));
    for (;;) {
      const lines = await deps.store.readLogs(options.uuid, {
        taskUuid: options.taskUuid,
        afterSeq,
        limit: BATCH,
      });
      for (const line of lines) send('log', presentLogLine(line, refByUuid), line.seq);
      afterSeq = lines.at(-1)?.seq ?? afterSeq;
      if (lines.length < BATCH) break;
    }
    const state = JSON.stringify(requestState(loaded));
    if (state !== lastState) {
      lastState = state;
      write('state', state);
    }
    if (isRequestEnded(loaded.record.status)) {
      send('end', { status: loaded.record.status });
      close();
    }
  };

  const wake = (): void => {
    if (closed) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    pump()
      .catch((error: unknown) => {
        request.log.warn({ err: error, request: options.uuid }, 'log stream refresh failed');
      })
      .finally(() => {
        busy = false;
        if (again) {
          again = false;
          wake();
        }
      });
  };

  const onCommitted = (changes: {
    requests: { uuid: string }[];
    taskRuns: { requestUuid: string }[];
    logs: { requestUuid: string }[];
  }) => {
    const touches =
      changes.logs.some((l) => l.requestUuid === options.uuid) ||
      changes.taskRuns.some((t) => t.requestUuid === options.uuid) ||
      changes.requests.some((r) => r.uuid === options.uuid);
    if (touches) wake();
  };
  const refresh = setInterval(wake, FALLBACK_REFRESH_MS);
  const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  function close(): void {
    if (closed) return;
    closed = true;
    clearInterval(refresh);
    clearInterval(heartbeat);
    deps.engine.events.off('committed', onCommitted);
    res.end();
  }
  deps.engine.events.on('committed', onCommitted);
  request.raw.on('close', close);
  wake();
}
