/** The task catalogue: every registered task class with its inputs (secret ones marked) and outputs. */
import { useEffect } from 'preact/hooks';
import { apiGet } from '../api.js';
import type { TaskClassView } from '../../../src/api/answers.js';
import { EmptyState } from '../components/empty-state.js';
import { ErrorBox } from '../components/error-box.js';
import { useLoad, useTitle } from '../hooks.js';
import { WELL_KNOWN_SECRET_INPUTS } from '../../../src/task/secret-inputs.js';

/** The page. */
export function TasksPage() {
  useTitle('Task catalogue');
  const loaded = useLoad((signal) => apiGet<{ tasks: TaskClassView[] }>('/tasks', signal), 'tasks');
  const tasks = loaded.data?.tasks ?? [];
  // The catalogue loads after the page, so a link to `/tasks#task-noop` scrolls once it is there.
  useEffect(() => {
    if (tasks.length > 0 && window.location.hash)
      document.getElementById(decodeURIComponent(window.location.hash.slice(1)))?.scrollIntoView();
  }, [tasks.length]);

  return (
    <>
      <div class="page-head">
        <div>
          <h1>Task catalogue</h1>
          <p class="muted">The task classes templates can use, with the inputs they declare.</p>
        </div>
      </div>
      {loaded.error !== undefined && (
        <ErrorBox error={loaded.error} title="The task catalogue could not be loaded" />
      )}
      {!loaded.data && loaded.error === undefined && <p class="muted loading">Loading…</p>}
      {loaded.data && tasks.length === 0 && (
        <EmptyState title="No task classes registered">
          <p>
            Drop task modules into <code>./tasks</code> (or a folder of <code>O3_TASK_DIRS</code>) and
            restart.
          </p>
        </EmptyState>
      )}
      {tasks.map((task) => (
        <section
          key={task.name}
          class="card"
          id={`task-${task.name}`}
          aria-labelledby={`task-${task.name}-title`}
        >
          <div class="card-head">
            <h2 id={`task-${task.name}-title`}>
              <code>{task.name}</code>
            </h2>
            {task.ping_interval_seconds !== null && (
              <span class="muted small">pings every {task.ping_interval_seconds} s</span>
            )}
          </div>
          {task.description && <p>{task.description}</p>}
          <div class="two-columns">
            <div>
              <h3>Inputs</h3>
              {Object.keys(task.inputs).length === 0 ? (
                <p class="muted small">No declared inputs.</p>
              ) : (
                <table class="table table-compact" aria-label={`Inputs of ${task.name}`}>
                  <tbody>
                    {Object.entries(task.inputs).map(([name, spec]) => (
                      <tr key={name}>
                        <th scope="row">
                          <code>{name}</code>
                          {spec.required && <span class="tag tag-required">required</span>}
                          {(spec.secret || WELL_KNOWN_SECRET_INPUTS.has(name)) && (
                            <span class="tag tag-secret">secret</span>
                          )}
                        </th>
                        <td>{spec.type ?? 'any'}</td>
                        <td class="muted small wrap">{spec.description}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
            <div>
              <h3>Outputs</h3>
              {Object.keys(task.outputs).length === 0 ? (
                <p class="muted small">No declared outputs.</p>
              ) : (
                <table class="table table-compact" aria-label={`Outputs of ${task.name}`}>
                  <tbody>
                    {Object.entries(task.outputs).map(([name, spec]) => (
                      <tr key={name}>
                        <th scope="row">
                          <code>{name}</code>
                        </th>
                        <td class="muted small wrap">{spec.description}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          </div>
        </section>
      ))}
    </>
  );
}
