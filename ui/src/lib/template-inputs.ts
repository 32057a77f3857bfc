/**
 * The inputs a template asks of a request: every `${workflow.input.V}` its tasks use, and every
 * global default key a task takes as an attribute (§3.2), typed from the task classes when they
 * declare the attribute's type, with the template's default when there is one.
 */
import type { TaskClassView, TemplateDocument } from '../../../src/api/answers.js';
import { WELL_KNOWN_SECRET_INPUTS } from '../../../src/task/secret-inputs.js';
import { exactWorkflowInput, hasExpression, workflowInputsIn } from './expressions.js';

/** One workflow input variable of a template. */
export interface TemplateInput {
  name: string;
  /** The JSON type the field takes: a class's declared type, else the literal default's, else `any`. */
  type: string;
  secret: boolean;
  /** No default covers at least one of its uses. */
  required: boolean;
  /** Where it goes: `task.attribute`, or `default of G` for a variable inside a global default. */
  uses: string[];
  /** The template's default, when it has one (a literal, or an expression as text). */
  defaultValue?: unknown;
  description?: string;
}

/** The inputs of a template, in the order its tasks first use them. */
export function templateInputs(
  document: TemplateDocument,
  classes: ReadonlyMap<string, TaskClassView>,
): TemplateInput[] {
  const globals = document.workflow?.input?.global ?? {};
  const inputs = new Map<string, TemplateInput>();
  const entry = (name: string): TemplateInput => {
    let input = inputs.get(name);
    if (!input) {
      input = { name, type: '', secret: WELL_KNOWN_SECRET_INPUTS.has(name), required: false, uses: [] };
      inputs.set(name, input);
    }
    return input;
  };

  for (const task of document.tasks) {
    const spec = classes.get(task.class)?.inputs ?? {};
    for (const [attribute, value] of Object.entries(task.input ?? {})) {
      const exact = exactWorkflowInput(value);
      for (const name of workflowInputsIn(value)) {
        const input = entry(name);
        input.uses.push(`${task.ref_name}.${attribute}`);
        const declared = spec[attribute];
        if (declared?.secret || WELL_KNOWN_SECRET_INPUTS.has(attribute)) input.secret = true;
        if (exact === name && !input.type && declared?.type) input.type = declared.type;
        if (!input.description && declared?.description) input.description = declared.description;
        if (Object.hasOwn(globals, attribute)) {
          if (input.defaultValue === undefined) input.defaultValue = globals[attribute];
        } else {
          input.required = true;
        }
      }
    }
    // A global key the task does not set itself becomes its attribute, taken from the request first.
    for (const [key, value] of Object.entries(globals)) {
      if (Object.hasOwn(task.input ?? {}, key)) continue;
      const input = entry(key);
      input.uses.push(`${task.ref_name}.${key}`);
      if (input.defaultValue === undefined) input.defaultValue = value;
      const declared = spec[key];
      if (declared?.secret) input.secret = true;
      if (!input.type && declared?.type) input.type = declared.type;
      if (!input.description && declared?.description) input.description = declared.description;
    }
  }
  // Variables inside a global default are needed only when that default is: never required here.
  for (const [key, value] of Object.entries(globals)) {
    for (const name of workflowInputsIn(value)) {
      if (name === key) continue;
      const input = entry(name);
      input.uses.push(`default of ${key}`);
    }
  }
  for (const input of inputs.values()) {
    if (!input.type) input.type = typeOfDefault(input.defaultValue);
  }
  return [...inputs.values()];
}

function typeOfDefault(value: unknown): string {
  if (value === undefined || value === null || hasExpression(value)) return 'any';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** A field's text as the JSON value of its type; `undefined` for an empty field (the default applies). */
export function parseFieldValue(type: string, text: string): { value?: unknown; error?: string } {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  switch (type) {
    case 'number':
    case 'integer': {
      const number = Number(trimmed);
      if (!Number.isFinite(number)) return { error: 'must be a number' };
      if (type === 'integer' && !Number.isInteger(number)) return { error: 'must be a whole number' };
      return { value: number };
    }
    case 'boolean':
      if (trimmed === 'true' || trimmed === 'false') return { value: trimmed === 'true' };
      return { error: 'must be true or false' };
    case 'object':
    case 'array':
      return parseJson(trimmed, type);
    case 'any':
      // Text that is not JSON is taken as a string, as a person typing `hello` means.
      return parseJson(trimmed, type).error === undefined ? parseJson(trimmed, type) : { value: text };
    default:
      return { value: text };
  }
}

function parseJson(text: string, type: string): { value?: unknown; error?: string } {
  try {
    const value = JSON.parse(text) as unknown;
    if (type === 'array' && !Array.isArray(value)) return { error: 'must be a JSON array' };
    if (type === 'object' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      return { error: 'must be a JSON object' };
    }
    return { value };
  } catch {
    return {
      error: `must be JSON (${type === 'array' ? '[…]' : type === 'object' ? '{…}' : 'a JSON value'})`,
    };
  }
}
