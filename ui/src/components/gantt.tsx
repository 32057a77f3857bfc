/** The timeline of a revision's task runs (a Gantt chart): one bar per task from its start to its end. */
import { elapsed, formatDuration } from '../format.js';
import { isTaskActive } from '../../../src/store/records.js';
import { useNow } from '../hooks.js';

/** One task on the timeline. */
export interface GanttRow {
  id: string;
  state: string;
  start: string | null;
  end: string | null;
}

const STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

/** The chart; the bars of running tasks grow every second. */
export function Gantt(props: {
  rows: GanttRow[];
  selected?: string | null;
  onSelect?: (id: string) => void;
}) {
  const { rows, selected, onSelect } = props;
  const now = useNow(rows.some((row) => row.start && !row.end && isTaskActive(row.state)));
  const starts = rows.flatMap((row) => (row.start ? [Date.parse(row.start)] : []));
  if (starts.length === 0) return <p class="muted">No task has started yet.</p>;
  const t0 = Math.min(...starts);
  const t1 = Math.max(...rows.flatMap((row) => (row.start ? [row.end ? Date.parse(row.end) : now] : [])));
  const span = Math.max(t1 - t0, 1000);
  const step = (STEPS_S.find((s) => span / (s * 1000) <= 6) ?? 86400) * 1000;
  const ticks = Array.from({ length: Math.floor(span / step) + 1 }, (_, i) => i * step);
  const percent = (ms: number) => `${Math.min(100, Math.max(0, (ms / span) * 100))}%`;

  return (
    <div class="gantt" role="table" aria-label="Task timeline">
      <div class="gantt-row gantt-axis" role="row">
        <span class="gantt-label" role="columnheader">
          Task
        </span>
        <div class="gantt-track" role="columnheader" aria-label="time since the first task started">
          {ticks.map((tick) => (
            <span key={tick} class="gantt-tick" style={{ left: percent(tick) }}>
              {tickLabel(tick)}
            </span>
          ))}
        </div>
      </div>
      {rows.map((row) => {
        const duration = elapsed(row.start, row.end, now);
        const left = row.start ? Date.parse(row.start) - t0 : 0;
        return (
          <div
            key={row.id}
            class={`gantt-row${selected === row.id ? ' is-selected' : ''}`}
            role="row"
            data-task={row.id}
          >
            <span class="gantt-label" role="rowheader">
              {onSelect ? (
                <button type="button" class="link-button" onClick={() => onSelect(row.id)}>
                  {row.id}
                </button>
              ) : (
                row.id
              )}
            </span>
            <div class="gantt-track" role="cell">
              {ticks.map((tick) => (
                <span key={tick} class="gantt-grid" style={{ left: percent(tick) }} aria-hidden="true" />
              ))}
              {duration === null ? (
                <span class="gantt-none">{row.state === 'skipped' ? 'skipped' : 'not started'}</span>
              ) : (
                <span
                  class="gantt-bar"
                  data-state={row.state}
                  style={{ left: percent(left), width: `max(3px, ${percent(duration)})` }}
                  title={`${row.id}: ${row.state}, ${formatDuration(duration)}`}
                >
                  <span class="gantt-bar-text">{formatDuration(duration)}</span>
                </span>
              )}
            </div>
          </div>
        );
      })}
    </div>
  );
}

/** An axis label: `0 s`, `+15 s`, `+1 min 30 s`, `+2 h`. */
function tickLabel(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds === 0) return '0 s';
  if (seconds < 60) return `+${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `+${minutes} min ${seconds % 60} s` : `+${minutes} min`;
  return minutes % 60 ? `+${Math.floor(minutes / 60)} h ${minutes % 60} min` : `+${minutes / 60} h`;
}
