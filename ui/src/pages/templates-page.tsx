/** The registered templates, each leading to its DAG and inputs. */
import { apiGet } from '../api.js';
import type { TemplateSummary } from '../../../src/api/answers.js';
import { EmptyState } from '../components/empty-state.js';
import { ErrorBox } from '../components/error-box.js';
import { useLoad, useTitle } from '../hooks.js';

/** The page. */
export function TemplatesPage() {
  useTitle('Templates');
  const loaded = useLoad(
    (signal) => apiGet<{ templates: TemplateSummary[] }>('/templates', signal),
    'templates',
  );
  const templates = loaded.data?.templates ?? [];
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Templates</h1>
          <p class="muted">The workflows a request can run: each is a DAG of tasks.</p>
        </div>
      </div>
      {loaded.error !== undefined && (
        <ErrorBox error={loaded.error} title="The templates could not be loaded" />
      )}
      {loaded.data && templates.length === 0 && (
        <EmptyState title="No templates registered">
          <p>
            Put template files in <code>./templates</code> (or a folder of <code>O3_TEMPLATE_DIRS</code>) and
            restart, or post one to <code>/api/v1/templates</code>.
          </p>
        </EmptyState>
      )}
      {!loaded.data && loaded.error === undefined && <p class="muted loading">Loading templates…</p>}
      <ul class="card-grid">
        {templates.map((template) => (
          <li key={`${template.ref_name}@${template.schema_version}`} class="card card-link">
            <h2>
              <a
                href={`/templates/${encodeURIComponent(template.ref_name)}?version=${template.schema_version}`}
              >
                {template.name || template.ref_name}
              </a>
            </h2>
            <p class="muted small">
              <code>{template.ref_name}</code> · version {template.schema_version} · {template.tasks} task
              {template.tasks === 1 ? '' : 's'}
            </p>
            {template.description && <p>{template.description}</p>}
            <a class="button button-small" href={`/submit?template=${encodeURIComponent(template.ref_name)}`}>
              New request
            </a>
          </li>
        ))}
      </ul>
    </>
  );
}
