/** The selected task: state, times, resolved inputs (masked by the API), public outputs, error, and its log live. */
import { useEffect, useState } from 'preact/hooks';
import { API, seg } from '../../api.js';
import type { LogLine, TaskRunView } from '../../../../src/api/answers.js';
import { LogView } from '../../components/log-view.js';
import { StatusBadge } from '../../components/status-badge.js';
import { ValuesTable } from '../../components/values-table.js';
import { elapsed, formatDuration, formatShortTime } from '../../format.js';
import { follow, type Connection } from '../../sse.js';

/** The panel. */
export function TaskPanel({
  requestUuid,
  task,
  onClose,
}: {
  requestUuid: string;
  task: TaskRunView;
  onClose: () => void;
}) {
  const { lines, connection } = useTaskLog(requestUuid, task.ref_name, task.uuid);
  const duration = elapsed(task.started_at, task.ended_at);
  return (
    <section class="card task-panel" aria-labelledby="task-title" data-task-panel={task.ref_name}>
      <div class="card-head">
        <h2 id="task-title">
          {task.ref_name} <StatusBadge state={task.state} />
        </h2>
        <button type="button" class="icon-button" onClick={onClose} aria-label="Close the task details">
          ×
        </button>
      </div>
      <p class="muted small">
        {task.name !== task.ref_name && <>{task.name} · </>}
        class <a href={`/tasks#task-${encodeURIComponent(task.class)}`}>{task.class}</a> · attempt{' '}
        {task.attempt}
        {task.optional && ' · optional'}
        {task.always_run && ' · always runs'}
      </p>
      <dl class="facts facts-compact">
        <div>
          <dt>Started</dt>
          <dd>{formatShortTime(task.started_at)}</dd>
        </div>
        <div>
          <dt>Ended</dt>
          <dd>{formatShortTime(task.ended_at)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{duration === null ? '—' : formatDuration(duration)}</dd>
        </div>
        {task.depends_on.length > 0 && (
          <div>
            <dt>After</dt>
            <dd>{task.depends_on.join(', ')}</dd>
          </div>
        )}
      </dl>
      {task.error && (
        <div class="callout callout-error">
          <p class="callout-title">Error</p>
          <p class="callout-text pre-wrap">{task.error}</p>
        </div>
      )}
      <h3>Inputs</h3>
      <ValuesTable
        values={task.inputs}
        label={`Inputs of ${task.ref_name}`}
        empty={task.inputs === null ? 'Resolved when the task starts.' : 'No inputs.'}
      />
      <h3>Outputs</h3>
      <ValuesTable
        values={task.outputs}
        label={`Outputs of ${task.ref_name}`}
        empty="No public outputs yet."
      />
      <h3>Log</h3>
      <LogView
        lines={lines}
        connection={connection}
        empty="No log lines for this task yet."
        label={`Log of ${task.ref_name}`}
      />
    </section>
  );
}

/** The task's own log (`?task=REF&follow=1`); a new run of the task (another revision) starts it afresh. */
function useTaskLog(requestUuid: string, ref: string, runUuid: string) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [connection, setConnection] = useState<Connection>('connecting');
  useEffect(() => {
    setLines([]);
    return follow(`${API}/workflow/${seg(requestUuid)}/logs?task=${encodeURIComponent(ref)}&follow=1`, {
      onLog: (line) => setLines((old) => [...old, line]),
      onConnection: setConnection,
    });
  }, [requestUuid, ref, runUuid]);
  return { lines, connection };
}
