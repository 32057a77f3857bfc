/** Placing the API's validation problems (JSON pointers into the payload) at the form fields they are about. */
import type { ErrorDetail } from '../../../src/api/answers.js';

/** Problems by field key (`ref`, `input:delay`, `schedule`, …), and those that belong to no field. */
export interface PlacedErrors {
  fields: Map<string, string[]>;
  general: ErrorDetail[];
}

const META_FIELDS = new Set(['ref', 'name', 'description', 'trace_id', 'template']);

/** The pointer's segments, unescaped (`~1` is `/`, `~0` is `~`). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The form field a pointer names, or null when it is about the request as a whole. */
export function fieldOfPointer(pointer: string, inputNames: ReadonlySet<string>): string | null {
  const [first, second, third, fourth, fifth] = pointerSegments(pointer);
  if (first === 'workflow' && second === 'meta' && third !== undefined && META_FIELDS.has(third))
    return third;
  if (first === 'workflow' && second === 'schedule') return 'schedule';
  if (first === 'workflow' && second === 'vars' && fourth === 'input' && fifth !== undefined) {
    return inputNames.has(fifth) ? `input:${fifth}` : null;
  }
  if (first === 'tasks' && third === 'vars' && fourth === 'input' && fifth !== undefined) {
    return inputNames.has(fifth) ? `input:${fifth}` : null;
  }
  return null;
}

/**
 * The input a problem is about when its pointer names only the task: a missing variable is reported
 * at `/tasks/T` (or `/tasks`) with a sentence naming the `${workflow.input.V}` it needs.
 */
export function inputNamedIn(message: string, inputNames: ReadonlySet<string>): string | null {
  const named = new Set([...message.matchAll(/\$\{workflow\.input\.([A-Za-z0-9_-]+)\}/g)].map((m) => m[1]));
  const known = [...named].filter((name): name is string => name !== undefined && inputNames.has(name));
  return known.length === 1 ? `input:${known[0]}` : null;
}

/** Sorts problems to their fields; the same sentence twice at one field is shown once. */
export function placeErrors(details: readonly ErrorDetail[], inputNames: ReadonlySet<string>): PlacedErrors {
  const fields = new Map<string, string[]>();
  const general: ErrorDetail[] = [];
  for (const detail of details) {
    const field =
      fieldOfPointer(detail.path, inputNames) ??
      (detail.path.startsWith('/tasks') ? inputNamedIn(detail.message, inputNames) : null);
    if (field === null) {
      general.push(detail);
      continue;
    }
    const messages = fields.get(field) ?? [];
    if (!messages.includes(detail.message)) messages.push(detail.message);
    fields.set(field, messages);
  }
  return { fields, general };
}
