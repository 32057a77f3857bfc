/** One template: its DAG, the inputs a request gives it (with the template's defaults), and its tasks. */
import { apiGet, ApiError, seg } from '../api.js';
import type { TaskClassView, TemplateDetail } from '../../../src/api/answers.js';
import { DagGraph } from '../components/dag-graph.js';
import { EmptyState } from '../components/empty-state.js';
import { ErrorBox } from '../components/error-box.js';
import { Value } from '../components/values-table.js';
import { useLoad, useTitle } from '../hooks.js';
import { templateInputs } from '../lib/template-inputs.js';
import { navigate } from '../router.js';

/** The page. */
export function TemplatePage({ refName, query }: { refName: string; query: URLSearchParams }) {
  const version = query.get('version');
  const loaded = useLoad(async (signal) => {
    const [template, catalogue] = await Promise.all([
      apiGet<TemplateDetail>(
        `/templates/${seg(refName)}${version ? `?version=${encodeURIComponent(version)}` : ''}`,
        signal,
      ),
      apiGet<{ tasks: TaskClassView[] }>('/tasks', signal),
    ]);
    return { template, classes: new Map(catalogue.tasks.map((task) => [task.name, task])) };
  }, `${refName}|${version}`);
  useTitle(loaded.data ? loaded.data.template.name || refName : refName);

  if (loaded.error instanceof ApiError && loaded.error.status === 404) {
    return (
      <EmptyState title="No such template">
        <p>
          No template <code>{refName}</code> is registered. See the <a href="/templates">templates</a>.
        </p>
      </EmptyState>
    );
  }
  if (loaded.error) return <ErrorBox error={loaded.error} title="The template could not be loaded" />;
  if (!loaded.data) return <p class="muted loading">Loading…</p>;
  const { template, classes } = loaded.data;
  const inputs = templateInputs(template.document, classes);

  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/templates">Templates</a> <span aria-hidden="true">/</span> <span>{template.ref_name}</span>
      </nav>
      <div class="page-head">
        <div>
          <h1>{template.name || template.ref_name}</h1>
          <p class="muted">
            <code>{template.ref_name}</code> · {template.description}
          </p>
        </div>
        <div class="button-row">
          {template.versions.length > 1 && (
            <label class="inline-field">
              Version{' '}
              <select
                value={template.schema_version}
                onChange={(e) =>
                  navigate(`/templates/${encodeURIComponent(refName)}?version=${e.currentTarget.value}`, {
                    replace: true,
                  })
                }
              >
                {template.versions.map((v) => (
                  <option key={v} value={v}>
                    {v}
                  </option>
                ))}
              </select>
            </label>
          )}
          <a
            class="button button-primary"
            href={`/submit?template=${encodeURIComponent(template.ref_name)}&version=${template.schema_version}`}
          >
            New request from this template
          </a>
        </div>
      </div>
      <section class="card" aria-labelledby="dag-title">
        <div class="card-head">
          <h2 id="dag-title">Graph</h2>
          <span class="muted small">
            {template.dag.levels.length} level{template.dag.levels.length === 1 ? '' : 's'}:{' '}
            {template.dag.levels.map((level) => level.join(', ')).join(' → ')}
          </span>
        </div>
        <DagGraph
          nodes={template.tasks.map((task) => ({
            id: task.ref_name,
            title: task.ref_name,
            subtitle: task.class,
          }))}
          edges={template.dag.edges}
          label={`Task graph of template ${template.ref_name}`}
        />
      </section>
      <section class="card" aria-labelledby="inputs-title">
        <div class="card-head">
          <h2 id="inputs-title">Inputs</h2>
          <span class="muted small">
            the <code>{'${workflow.input.X}'}</code> variables its tasks use, and the global defaults
          </span>
        </div>
        {inputs.length === 0 ? (
          <p class="muted">This template takes no workflow inputs.</p>
        ) : (
          <div class="table-wrap">
            <table class="table table-compact" aria-label="Inputs">
              <thead>
                <tr>
                  <th scope="col">Variable</th>
                  <th scope="col">Type</th>
                  <th scope="col">Default</th>
                  <th scope="col">Used by</th>
                </tr>
              </thead>
              <tbody>
                {inputs.map((input) => (
                  <tr key={input.name}>
                    <th scope="row">
                      <code>{input.name}</code>
                      {input.required && <span class="tag tag-required">required</span>}
                      {input.secret && <span class="tag tag-secret">secret</span>}
                      {input.description && <div class="muted small">{input.description}</div>}
                    </th>
                    <td>{input.type}</td>
                    <td>
                      {input.defaultValue === undefined ? (
                        <span class="muted">—</span>
                      ) : (
                        <Value value={input.defaultValue} />
                      )}
                    </td>
                    <td class="small">{input.uses.join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="card" aria-labelledby="tasks-title">
        <div class="card-head">
          <h2 id="tasks-title">Tasks</h2>
        </div>
        <div class="table-wrap">
          <table class="table table-compact" aria-label="Tasks">
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Class</th>
                <th scope="col">After</th>
                <th scope="col">Flags</th>
              </tr>
            </thead>
            <tbody>
              {template.tasks.map((task) => (
                <tr key={task.ref_name}>
                  <th scope="row">
                    <code>{task.ref_name}</code>
                    <div class="muted small">{task.description || task.name}</div>
                  </th>
                  <td>
                    <a href={`/tasks#task-${encodeURIComponent(task.class)}`}>{task.class}</a>
                  </td>
                  <td>
                    {task.depends_on.length ? task.depends_on.join(', ') : <span class="muted">—</span>}
                  </td>
                  <td>
                    {task.optional && <span class="tag">optional</span>}
                    {task.always_run && <span class="tag">always runs</span>}
                    {!task.optional && !task.always_run && <span class="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
