/** The submit form of one template, with its advanced (whole JSON payload) tab. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { apiPost } from '../../api.js';
import type {
  ErrorDetail,
  Plan,
  SubmitAnswer,
  TemplateDetail,
  ValidateAnswer,
} from '../../../../src/api/answers.js';
import { ErrorBox } from '../../components/error-box.js';
import { buildPayload, type SubmitValues } from '../../lib/build-payload.js';
import { placeErrors } from '../../lib/error-fields.js';
import { randomRef } from '../../lib/schedule.js';
import type { TemplateInput } from '../../lib/template-inputs.js';
import { navigate } from '../../router.js';
import { Field, InputField } from './fields.js';

interface Outcome {
  /** Problems by field key; with `general`, those that belong to no field. */
  fields: Map<string, string[]>;
  general: ErrorDetail[];
  warnings: ErrorDetail[];
  plan?: Plan;
  failure?: unknown;
}

const NO_OUTCOME: Outcome = { fields: new Map(), general: [], warnings: [] };

/** The form. */
export function SubmitForm({ template, inputs }: { template: TemplateDetail; inputs: TemplateInput[] }) {
  const [values, setValues] = useState<SubmitValues>(() => ({
    template: template.ref_name,
    version: template.schema_version,
    ref: randomRef(),
    name: '',
    description: '',
    traceId: '',
    inputs: {},
    when: 'now',
    at: '',
  }));
  const [tab, setTab] = useState<'form' | 'json'>('form');
  const [json, setJson] = useState('');
  const [outcome, setOutcome] = useState<Outcome>(NO_OUTCOME);
  const [busy, setBusy] = useState<'validate' | 'submit' | null>(null);
  const inputNames = new Set(inputs.map((input) => input.name));
  const set = (change: Partial<SubmitValues>) => setValues((old) => ({ ...old, ...change }));

  const payloadOrProblems = (): Record<string, unknown> | null => {
    if (tab === 'json') {
      try {
        return JSON.parse(json) as Record<string, unknown>;
      } catch (error) {
        const message = `The payload is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
        setOutcome({ ...NO_OUTCOME, general: [{ path: '', message }] });
        return null;
      }
    }
    const built = buildPayload(values, inputs);
    if (built.problems.size > 0) {
      setOutcome({ ...NO_OUTCOME, fields: built.problems });
      return null;
    }
    return built.payload;
  };

  const run = async (submit: boolean) => {
    const payload = payloadOrProblems();
    if (payload === null) return;
    setBusy(submit ? 'submit' : 'validate');
    try {
      const validation = (await apiPost<ValidateAnswer>('/workflow/validate', payload, [422])).body;
      const problems = validation.valid ? [] : validation.errors;
      const placed = placeErrors(problems, tab === 'form' ? inputNames : new Set());
      if (!validation.valid || !submit) {
        const { warnings } = validation;
        const plan = validation.valid ? validation.plan : undefined;
        setOutcome({ fields: placed.fields, general: placed.general, warnings, plan });
        return;
      }
      const answer = await apiPost<SubmitAnswer>('/workflow/submit', payload);
      navigate(`/requests/${encodeURIComponent(answer.body.uuid)}`);
    } catch (failure) {
      setOutcome({ ...NO_OUTCOME, failure });
    } finally {
      setBusy(null);
    }
  };

  const showJson = () => {
    if (!json) {
      const built = buildPayload(values, inputs, { leaveOutSecrets: true });
      setJson(JSON.stringify(built.payload, null, 2));
    }
    setOutcome(NO_OUTCOME);
    setTab('json');
  };
  const errorsOf = (field: string) => outcome.fields.get(field) ?? [];
  const problemCount =
    outcome.general.length + [...outcome.fields.values()].reduce((n, list) => n + list.length, 0);

  return (
    <form
      class="submit-form"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        void run(true);
      }}
    >
      <div class="tabs" role="tablist" aria-label="How to write the request">
        <button
          type="button"
          role="tab"
          id="tab-form"
          aria-selected={tab === 'form'}
          aria-controls="panel-form"
          class="tab"
          onClick={() => setTab('form')}
        >
          Form
        </button>
        <button
          type="button"
          role="tab"
          id="tab-json"
          aria-selected={tab === 'json'}
          aria-controls="panel-json"
          class="tab"
          onClick={showJson}
        >
          Advanced (JSON)
        </button>
      </div>
      <Outcomes outcome={outcome} problemCount={problemCount} />
      {tab === 'form' ? (
        <div id="panel-form" role="tabpanel" aria-labelledby="tab-form">
          <fieldset class="card form-card">
            <legend>Request</legend>
            <div class="form-grid">
              <Field
                id="field-ref"
                label="Ref"
                required
                hint="Your unique reference: submitting it again returns the same request."
                errors={errorsOf('ref')}
              >
                <input
                  id="field-ref"
                  value={values.ref}
                  spellcheck={false}
                  onInput={(e) => set({ ref: e.currentTarget.value })}
                />
              </Field>
              <Field
                id="field-trace_id"
                label="Trace ID"
                hint="Generated when left empty."
                errors={errorsOf('trace_id')}
              >
                <input
                  id="field-trace_id"
                  value={values.traceId}
                  spellcheck={false}
                  onInput={(e) => set({ traceId: e.currentTarget.value })}
                />
              </Field>
              <Field id="field-name" label="Name" errors={errorsOf('name')}>
                <input
                  id="field-name"
                  value={values.name}
                  onInput={(e) => set({ name: e.currentTarget.value })}
                />
              </Field>
              <Field id="field-description" label="Description" errors={errorsOf('description')} wide>
                <input
                  id="field-description"
                  value={values.description}
                  onInput={(e) => set({ description: e.currentTarget.value })}
                />
              </Field>
            </div>
          </fieldset>
          <fieldset class="card form-card">
            <legend>Inputs</legend>
            {inputs.length === 0 ? (
              <p class="muted">This template takes no inputs.</p>
            ) : (
              <div class="form-grid">
                {inputs.map((input) => (
                  <InputField
                    key={input.name}
                    input={input}
                    value={values.inputs[input.name] ?? ''}
                    errors={errorsOf(`input:${input.name}`)}
                    onChange={(text) => set({ inputs: { ...values.inputs, [input.name]: text } })}
                  />
                ))}
              </div>
            )}
          </fieldset>
          <fieldset class="card form-card">
            <legend>Schedule</legend>
            <ScheduleField values={values} set={set} errors={errorsOf('schedule')} />
          </fieldset>
        </div>
      ) : (
        <div id="panel-json" role="tabpanel" aria-labelledby="tab-json" class="card form-card">
          <Field
            id="field-json"
            label="Request payload (JSON)"
            hint="The whole payload as POST /api/v1/workflow/submit takes it (schema_version 2). Secret inputs typed in the form are not copied here."
            errors={[]}
          >
            <textarea
              id="field-json"
              class="code-input"
              rows={22}
              spellcheck={false}
              value={json}
              onInput={(e) => setJson(e.currentTarget.value)}
            />
          </Field>
        </div>
      )}
      <div class="form-actions">
        <button type="button" class="button" disabled={busy !== null} onClick={() => void run(false)}>
          {busy === 'validate' ? 'Validating…' : 'Validate'}
        </button>
        <button type="submit" class="button button-primary" disabled={busy !== null}>
          {busy === 'submit' ? 'Submitting…' : 'Submit request'}
        </button>
      </div>
    </form>
  );
}

function ScheduleField({
  values,
  set,
  errors,
}: {
  values: SubmitValues;
  set: (change: Partial<SubmitValues>) => void;
  errors: string[];
}) {
  return (
    <div class="schedule">
      <label class="radio">
        <input
          type="radio"
          name="when"
          value="now"
          checked={values.when === 'now'}
          onChange={() => set({ when: 'now' })}
        />{' '}
        Start now
      </label>
      <label class="radio">
        <input
          type="radio"
          name="when"
          value="at"
          checked={values.when === 'at'}
          onChange={() => set({ when: 'at' })}
        />{' '}
        Start at
      </label>
      <Field
        id="field-schedule-at"
        label="Start time (your local time)"
        errors={errors}
        hidden={values.when !== 'at'}
      >
        <input
          id="field-schedule-at"
          type="datetime-local"
          value={values.at}
          onInput={(e) => set({ at: e.currentTarget.value })}
        />
      </Field>
    </div>
  );
}

function Outcomes({ outcome, problemCount }: { outcome: Outcome; problemCount: number }) {
  return (
    <div aria-live="polite">
      {outcome.failure !== undefined && (
        <ErrorBox error={outcome.failure} title="The request could not be sent" />
      )}
      {problemCount > 0 && (
        <div class="callout callout-error" role="alert">
          <p class="callout-title">
            The request is not valid: {problemCount} problem{problemCount === 1 ? '' : 's'}
            {outcome.fields.size > 0 && ', shown at the fields below'}
          </p>
          {outcome.general.length > 0 && (
            <ul class="problem-list">
              {outcome.general.map((detail, index) => (
                <li key={index}>
                  {detail.path && <code class="problem-path">{detail.path}</code>} {detail.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {outcome.warnings.length > 0 && (
        <Note tone="warning" title="Warnings">
          <ul class="problem-list">
            {outcome.warnings.map((detail, index) => (
              <li key={index}>
                <code class="problem-path">{detail.path}</code> {detail.message}
              </li>
            ))}
          </ul>
        </Note>
      )}
      {outcome.plan && problemCount === 0 && (
        <Note tone="success" title="Valid: this is the plan">
          <ol class="plan" aria-label="Tasks in the order they start">
            {outcome.plan.levels.map((level, index) => (
              <li key={index}>
                <span class="plan-level">{index === 0 ? 'First' : 'Then'}</span>
                {level.map((task) => (
                  <code key={task}>{task}</code>
                ))}
              </li>
            ))}
          </ol>
        </Note>
      )}
    </div>
  );
}

function Note({
  tone,
  title,
  children,
}: {
  tone: 'warning' | 'success';
  title: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`callout callout-${tone}`}>
      <p class="callout-title">{title}</p>
      {children}
    </div>
  );
}
