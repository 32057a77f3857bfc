/** Log lines as a terminal-like panel that keeps to the newest line unless the reader scrolled up. */
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { LogLine } from '../../../src/api/answers.js';
import { formatClock } from '../format.js';
import type { Connection } from '../sse.js';

/** The panel. */
export function LogView(props: {
  lines: LogLine[];
  connection?: Connection;
  empty: string;
  label: string;
  showTask?: boolean;
}) {
  const { lines, connection, empty, label, showTask } = props;
  const ref = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  useLayoutEffect(() => {
    const element = ref.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  }, [lines]);

  return (
    <div class="log-wrap">
      <div
        ref={ref}
        class="log"
        role="log"
        aria-label={label}
        tabIndex={0}
        onScroll={(event) => {
          const element = event.currentTarget;
          pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
        }}
      >
        {lines.length === 0 ? (
          <div class="log-empty">{connection === 'connecting' ? 'Connecting…' : empty}</div>
        ) : (
          lines.map((line) => (
            <div key={line.seq} class="log-line" data-level={line.level}>
              <time class="log-time" dateTime={line.ts}>
                {formatClock(line.ts)}
              </time>
              <span class="log-level">{line.level}</span>
              {showTask && <span class="log-task">{line.task ?? line.source}</span>}
              <span class="log-message">{line.message}</span>
            </div>
          ))
        )}
      </div>
      {connection && <ConnectionNote connection={connection} />}
    </div>
  );
}

/** Whether the stream is live, retrying, or done. */
export function ConnectionNote({ connection }: { connection: Connection }) {
  const text = {
    connecting: 'Connecting…',
    live: 'Following live',
    reconnecting: 'Connection lost, reconnecting…',
    ended: 'Request ended',
  }[connection];
  return (
    <p class="live-note" data-connection={connection}>
      <span class="live-dot" aria-hidden="true" />
      {text}
    </p>
  );
}
