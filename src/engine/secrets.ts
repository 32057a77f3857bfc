/** Finding the secret values of a request, so that the redactor can mask them everywhere (§9). */
import type { RequestPayload } from '../request/payload.js';
import { isSecretInput } from '../task/meta.js';
import { WELL_KNOWN_SECRET_INPUTS } from '../task/secret-inputs.js';
import type { TaskRegistry } from '../task/task-registry.js';
import { references } from '../template/expressions.js';
import type { CompiledTemplate } from '../template/types.js';
import type { TaskRunRecord } from '../store/records.js';
import { Redactor } from './redactor.js';

/** Adds every string inside a value to the redactor. */
export function addSecretStrings(redactor: Redactor, value: unknown): void {
  if (typeof value === 'string' || typeof value === 'number') redactor.add(value);
  else if (Array.isArray(value)) value.forEach((item) => addSecretStrings(redactor, item));
  else if (value !== null && typeof value === 'object')
    Object.values(value).forEach((v) => addSecretStrings(redactor, v));
}

/**
 * Secrets known before any task starts: request variables that feed a secret input of a task, or
 * that are named like one.
 */
export function collectRequestSecrets(
  payload: RequestPayload,
  template: CompiledTemplate,
  tasks: TaskRegistry,
  redactor: Redactor,
): void {
  addSecretsUnder(payload, secretVariableNames(template, tasks), redactor);
}

const namesByTemplate = new WeakMap<CompiledTemplate, { tasks: TaskRegistry; names: ReadonlySet<string> }>();

/**
 * The names collectRequestSecrets looks for, worked out once per compiled template (which never
 * changes) and task registry, not once per request.
 */
function secretVariableNames(template: CompiledTemplate, tasks: TaskRegistry): ReadonlySet<string> {
  const known = namesByTemplate.get(template);
  if (known?.tasks === tasks) return known.names;
  const names = new Set<string>();
  for (const task of template.tasks) {
    const meta = tasks.find(task.className)?.meta;
    for (const [name, value] of Object.entries(task.input)) {
      if (!isSecretInput(meta, name)) continue;
      names.add(name);
      for (const ref of references(value)) if (ref.kind === 'workflow_input') names.add(ref.name);
    }
    for (const [name, spec] of Object.entries(meta?.inputs ?? {})) if (spec.secret) names.add(name);
  }
  for (const name of WELL_KNOWN_SECRET_INPUTS) names.add(name);
  namesByTemplate.set(template, { tasks, names });
  return names;
}

/** Adds to the redactor the strings under every key of `value` (at any depth) named in `secretNames`. */
function addSecretsUnder(value: unknown, secretNames: ReadonlySet<string>, redactor: Redactor): void {
  if (Array.isArray(value)) {
    for (const item of value) addSecretsUnder(item, secretNames, redactor);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (secretNames.has(key)) addSecretStrings(redactor, inner);
      else addSecretsUnder(inner, secretNames, redactor);
    }
  }
}

/** A redactor for everything known of a request: its variables and the resolved inputs of its task runs. */
export function requestRedactor(
  payload: RequestPayload,
  template: CompiledTemplate,
  tasks: TaskRegistry,
  taskRuns: TaskRunRecord[],
): Redactor {
  const redactor = new Redactor();
  collectRequestSecrets(payload, template, tasks, redactor);
  for (const run of taskRuns) {
    const meta = tasks.find(run.className)?.meta;
    for (const [name, value] of Object.entries(run.inputs ?? {})) {
      if (isSecretInput(meta, name)) addSecretStrings(redactor, value);
    }
  }
  return redactor;
}
