/** The submit form's values as a request payload (§4, schema_version 2), with the problems found before sending. */
import { localDateTimeToIso } from './schedule.js';
import { parseFieldValue, type TemplateInput } from './template-inputs.js';

/** What the submit form holds (every field as typed). */
export interface SubmitValues {
  template: string;
  version: number | undefined;
  ref: string;
  name: string;
  description: string;
  traceId: string;
  /** Field text by workflow input variable. */
  inputs: Record<string, string>;
  when: 'now' | 'at';
  /** A `datetime-local` value. */
  at: string;
}

/** A payload and the problems by field key (`ref`, `input:NAME`, `schedule`). */
export interface BuiltPayload {
  payload: Record<string, unknown>;
  problems: Map<string, string[]>;
}

/** Builds the payload; empty inputs are left out so the template's defaults apply. */
export function buildPayload(
  values: SubmitValues,
  inputs: readonly TemplateInput[],
  options: { leaveOutSecrets?: boolean } = {},
): BuiltPayload {
  const problems = new Map<string, string[]>();
  const problem = (field: string, message: string) =>
    problems.set(field, [...(problems.get(field) ?? []), message]);
  const vars: Record<string, unknown> = {};
  for (const input of inputs) {
    if (options.leaveOutSecrets && input.secret) continue;
    const parsed = parseFieldValue(input.type, values.inputs[input.name] ?? '');
    if (parsed.error !== undefined) problem(`input:${input.name}`, `${input.name} ${parsed.error}`);
    else if (parsed.value !== undefined) vars[input.name] = parsed.value;
  }
  if (values.ref.trim() === '')
    problem('ref', 'A ref is required: it makes a repeated submission return the same request.');
  let schedule = { when: 'now', start: '' };
  if (values.when === 'at') {
    const start = localDateTimeToIso(values.at);
    if (start === null) problem('schedule', 'Pick the date and time the request should start.');
    else schedule = { when: 'at', start };
  }
  const meta: Record<string, unknown> = { ref: values.ref.trim(), template: values.template };
  if (values.version !== undefined) meta.template_schema_version = values.version;
  if (values.name.trim()) meta.name = values.name.trim();
  if (values.description.trim()) meta.description = values.description.trim();
  if (values.traceId.trim()) meta.trace_id = values.traceId.trim();
  return {
    payload: { schema_version: 2, workflow: { meta, vars: { workflow: { input: vars } }, schedule } },
    problems,
  };
}
