/**
 * A request followed live: its detail from `GET /workflow/{uuid}`, then the SSE stream's `state`
 * events recolour the tasks at once and its `log` events extend the request log. Inputs and outputs
 * are not in the stream, so each change of state fetches the detail again (once per burst).
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { API, ApiError, apiGet, seg } from '../../api.js';
import type { LiveState, LogLine, RequestDetail, TaskRunView } from '../../../../src/api/answers.js';
import { isRequestEnded } from '../../../../src/store/records.js';
import { follow, type Connection } from '../../sse.js';

const MAX_LINES = 3000;
const RELOAD_DELAY_MS = 150;

/** The followed request. */
export interface FollowedRequest {
  detail: RequestDetail | undefined;
  /** The detail's tasks with the stream's newer states laid over them. */
  tasks: TaskRunView[];
  status: string | undefined;
  error: unknown;
  logs: LogLine[];
  connection: Connection;
  /** Fetches the detail again and, when the request runs again (retry, revise), follows it again. */
  refresh: () => void;
}

/** Follows one request for as long as the page shows it. */
export function useFollowedRequest(uuid: string): FollowedRequest {
  const [detail, setDetail] = useState<RequestDetail>();
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState<LiveState>();
  const [logs, setLogs] = useState<LogLine[]>([]);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [epoch, setEpoch] = useState(0);
  // No such request: nothing to follow, so the stream is not retried forever.
  const [gone, setGone] = useState(false);
  const lastSeq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);

  const load = useCallback(async () => {
    try {
      setDetail(await apiGet<RequestDetail>(`/workflow/${seg(uuid)}`));
      setError(undefined);
    } catch (failure) {
      setError(failure);
      if (failure instanceof ApiError && failure.status === 404) setGone(true);
    }
  }, [uuid]);
  const reloadSoon = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => void load(), RELOAD_DELAY_MS);
  }, [load]);

  useEffect(() => {
    void load();
    return () => clearTimeout(timer.current);
  }, [load]);

  useEffect(() => {
    if (gone) return;
    const stop = follow(
      `${API}/workflow/${seg(uuid)}/logs?follow=1`,
      {
        onLog: (line) => {
          lastSeq.current = line.seq;
          setLogs((old) => (old.length >= MAX_LINES ? [...old.slice(-MAX_LINES + 1), line] : [...old, line]));
        },
        onState: (state) => {
          setLive(state);
          reloadSoon();
        },
        onEnd: reloadSoon,
        onConnection: setConnection,
      },
      lastSeq.current,
    );
    return stop;
  }, [uuid, epoch, reloadSoon, gone]);

  // The stream ends with the request; a retry or revise run from elsewhere shows in the detail.
  const status = live && detail && live.revision >= detail.revision ? live.status : detail?.status;
  useEffect(() => {
    if (connection === 'ended' && status !== undefined && !isRequestEnded(status)) setEpoch((n) => n + 1);
  }, [connection, status]);

  const liveByRef = new Map(
    live && detail && live.revision === detail.revision
      ? live.tasks.map((task) => [task.ref_name, task])
      : [],
  );
  const tasks = (detail?.tasks ?? []).map((task) => {
    const newer = liveByRef.get(task.ref_name);
    return newer ? { ...task, ...newer } : task;
  });

  return {
    detail,
    tasks,
    status,
    error,
    logs,
    connection,
    refresh: () => {
      void load();
      setEpoch((n) => n + 1);
    },
  };
}
