/**
 * Following a request live over the API's server-sent events. The browser's own EventSource retry
 * would replay the log from the start, so a dropped stream is reopened here with `after=` the last
 * line seen, backing off while the server is away.
 */
import type { LiveState, LogLine, StreamEnd } from '../../src/api/answers.js';

/** What a follower hears. */
export interface FollowHandlers {
  onLog?: (line: LogLine) => void;
  onState?: (state: LiveState) => void;
  onEnd?: (status: string) => void;
  /** `live` while connected, `reconnecting` after a drop, `ended` once the request has ended. */
  onConnection?: (connection: Connection) => void;
}

/** The state of a follow stream. */
export type Connection = 'connecting' | 'live' | 'reconnecting' | 'ended';

/** Follows `url` (a `…/logs?follow=1` address) from log line `afterSeq`; returns a function that stops it. */
export function follow(url: string, handlers: FollowHandlers, afterSeq = 0): () => void {
  let lastSeq = afterSeq;
  let source: EventSource | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let failures = 0;

  const open = () => {
    if (stopped) return;
    const separator = url.includes('?') ? '&' : '?';
    source = new EventSource(lastSeq > 0 ? `${url}${separator}after=${lastSeq}` : url);
    source.onopen = () => {
      failures = 0;
      handlers.onConnection?.('live');
    };
    source.addEventListener('log', (event) => {
      const line = JSON.parse((event as MessageEvent<string>).data) as LogLine;
      if (line.seq <= lastSeq) return;
      lastSeq = line.seq;
      handlers.onLog?.(line);
    });
    source.addEventListener('state', (event) => {
      handlers.onState?.(JSON.parse((event as MessageEvent<string>).data) as LiveState);
    });
    source.addEventListener('end', (event) => {
      close();
      handlers.onConnection?.('ended');
      handlers.onEnd?.((JSON.parse((event as MessageEvent<string>).data) as StreamEnd).status);
    });
    source.onerror = () => {
      close();
      if (stopped) return;
      handlers.onConnection?.('reconnecting');
      failures += 1;
      timer = setTimeout(open, Math.min(1000 * 2 ** failures, 15_000));
    };
  };
  const close = () => {
    source?.close();
    source = undefined;
  };

  handlers.onConnection?.('connecting');
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    close();
  };
}
