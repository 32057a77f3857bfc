/** Labelled form fields that show their problems under them (tied with aria-describedby). */
import type { ComponentChildren } from 'preact';
import { cloneElement, isValidElement } from 'preact';
import type { TemplateInput } from '../../lib/template-inputs.js';

/** A field: label, the control, a hint, and its problems. */
export function Field(props: {
  id: string;
  label: string;
  required?: boolean;
  hint?: ComponentChildren;
  errors: string[];
  hidden?: boolean;
  /** Takes a whole row of the form grid. */
  wide?: boolean;
  children: ComponentChildren;
}) {
  const { id, errors } = props;
  const described = [props.hint ? `${id}-hint` : '', errors.length ? `${id}-errors` : '']
    .filter(Boolean)
    .join(' ');
  const control = isValidElement(props.children)
    ? cloneElement(props.children, {
        'aria-invalid': errors.length > 0 ? 'true' : undefined,
        'aria-describedby': described || undefined,
        'aria-required': props.required ? 'true' : undefined,
      })
    : props.children;
  return (
    <div
      class={`field${errors.length ? ' has-error' : ''}${props.wide ? ' field-wide' : ''}`}
      hidden={props.hidden}
      data-field={id}
    >
      <label for={id}>
        {props.label}
        {props.required && (
          <span class="required" aria-hidden="true">
            {' '}
            *
          </span>
        )}
      </label>
      {control}
      {props.hint && (
        <p id={`${id}-hint`} class="hint">
          {props.hint}
        </p>
      )}
      {errors.length > 0 && (
        <ul id={`${id}-errors`} class="field-errors">
          {errors.map((message, index) => (
            <li key={index}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The field of one workflow input, its control chosen by type; secret inputs are password fields. */
export function InputField(props: {
  input: TemplateInput;
  value: string;
  errors: string[];
  onChange: (text: string) => void;
}) {
  const { input, value, onChange } = props;
  const id = `field-input-${input.name}`;
  const placeholder =
    input.defaultValue === undefined
      ? undefined
      : `default: ${typeof input.defaultValue === 'string' ? input.defaultValue : JSON.stringify(input.defaultValue)}`;
  const hint = (
    <>
      {input.description && <>{input.description} </>}
      <span class="muted">
        {input.type}
        {input.secret && ' · secret'} · {describeUses(input.uses)}
      </span>
    </>
  );
  let control;
  if (input.type === 'boolean') {
    control = (
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">{placeholder ?? '(not set)'}</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else if (input.type === 'object' || input.type === 'array') {
    control = (
      <textarea
        id={id}
        class="code-input"
        rows={3}
        spellcheck={false}
        value={value}
        placeholder={placeholder}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  } else if (input.secret) {
    control = (
      <input
        id={id}
        type="password"
        autocomplete="new-password"
        value={value}
        placeholder={placeholder}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  } else if (input.type === 'number' || input.type === 'integer') {
    control = (
      <input
        id={id}
        type="number"
        step={input.type === 'integer' ? 1 : 'any'}
        value={value}
        placeholder={placeholder}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  } else {
    control = (
      <input
        id={id}
        type="text"
        autocomplete="off"
        spellcheck={false}
        value={value}
        placeholder={placeholder}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
    );
  }
  return (
    <Field id={id} label={input.name} required={input.required} hint={hint} errors={props.errors}>
      {control}
    </Field>
  );
}

/** `sets runtime_delay of 3 tasks; needed by the default of expires` (the template page lists each task). */
function describeUses(uses: string[]): string {
  const tasksByAttribute = new Map<string, string[]>();
  const defaults: string[] = [];
  for (const use of uses) {
    if (use.startsWith('default of ')) {
      defaults.push(use.slice('default of '.length));
      continue;
    }
    const [task = '', attribute = ''] = use.split('.');
    tasksByAttribute.set(attribute, [...(tasksByAttribute.get(attribute) ?? []), task]);
  }
  const sets = [...tasksByAttribute].map(([attribute, tasks]) =>
    tasks.length === 1 ? `${tasks[0]}.${attribute}` : `${attribute} of ${tasks.length} tasks`,
  );
  return [
    sets.length ? `sets ${sets.join(', ')}` : '',
    defaults.length ? `needed by the default of ${defaults.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}
