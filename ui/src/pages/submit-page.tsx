/**
 * Submitting a request (`/submit?template=REF`): a form generated from the template's inputs, or an
 * advanced tab taking a whole JSON payload. Both validate with the API first, show its problems at
 * the fields they are about (the rest above the form) and its warnings, then submit and open the
 * new request's page, which follows it live.
 */
import { apiGet, seg } from '../api.js';
import type { TaskClassView, TemplateDetail, TemplateSummary } from '../../../src/api/answers.js';
import { EmptyState } from '../components/empty-state.js';
import { ErrorBox } from '../components/error-box.js';
import { useLoad, useTitle } from '../hooks.js';
import { templateInputs } from '../lib/template-inputs.js';
import { navigate } from '../router.js';
import { SubmitForm } from './submit/submit-form.js';

/** The page. */
export function SubmitPage({ query }: { query: URLSearchParams }) {
  useTitle('New request');
  const ref = query.get('template') ?? '';
  const version = query.get('version') ?? '';
  const list = useLoad(
    (signal) => apiGet<{ templates: TemplateSummary[] }>('/templates', signal),
    'templates',
  );
  const chosen = useLoad(async (signal) => {
    if (!ref) return null;
    const [template, catalogue] = await Promise.all([
      apiGet<TemplateDetail>(
        `/templates/${seg(ref)}${version ? `?version=${encodeURIComponent(version)}` : ''}`,
        signal,
      ),
      apiGet<{ tasks: TaskClassView[] }>('/tasks', signal),
    ]);
    return {
      template,
      inputs: templateInputs(template.document, new Map(catalogue.tasks.map((t) => [t.name, t]))),
    };
  }, `${ref}|${version}`);
  const templates = list.data?.templates ?? [];

  return (
    <>
      <div class="page-head">
        <div>
          <h1>New request</h1>
          <p class="muted">
            Run a template: fill in its inputs, validate, submit, and follow the request live.
          </p>
        </div>
      </div>
      <div class="field template-picker">
        <label for="field-template">Template</label>
        <select
          id="field-template"
          value={ref}
          onChange={(event) =>
            navigate(`/submit?template=${encodeURIComponent(event.currentTarget.value)}`, { replace: true })
          }
        >
          <option value="" disabled>
            Choose a template…
          </option>
          {[...new Set(templates.map((t) => t.ref_name))].map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
          {ref && !templates.some((t) => t.ref_name === ref) && <option value={ref}>{ref}</option>}
        </select>
      </div>
      {list.error !== undefined && <ErrorBox error={list.error} title="The templates could not be loaded" />}
      {list.data && templates.length === 0 && (
        <EmptyState title="No templates registered">
          <p>
            A request runs a template; register one first (see <a href="/templates">Templates</a>).
          </p>
        </EmptyState>
      )}
      {chosen.error !== undefined && (
        <ErrorBox error={chosen.error} title={`The template ${ref} could not be loaded`} />
      )}
      {ref && !chosen.data && chosen.error === undefined && (
        <p class="muted loading">Loading the template…</p>
      )}
      {chosen.data && (
        <SubmitForm
          key={`${chosen.data.template.ref_name}@${chosen.data.template.schema_version}`}
          template={chosen.data.template}
          inputs={chosen.data.inputs}
        />
      )}
    </>
  );
}
