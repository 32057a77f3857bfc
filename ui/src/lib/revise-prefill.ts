/**
 * A starting body for `revise` ({vars, tasks, schedule}), rebuilt from what the API shows: each
 * task's resolved inputs read back through the template's `${workflow.input.V}` expressions. The
 * API never shows a request's payload (it may hold secrets), so this is the closest honest copy;
 * masked values are left out rather than sent back as a literal `***`.
 */
import type { TaskRunView, TemplateDocument } from '../../../src/api/answers.js';
import { exactWorkflowInput, hasExpression } from './expressions.js';
import { MASK } from '../../../src/task/secret-inputs.js';
import { stableJson } from './revision-diff.js';

/** A revise body and the variables it could not show. */
export interface RevisePrefill {
  body: {
    vars: { workflow: { input: Record<string, unknown> } };
    tasks: Record<string, { vars: { input: Record<string, unknown> } }>;
    schedule: { when: 'now'; start: '' };
  };
  /** Variables whose value is masked (or not known because no task using them has run yet). */
  omitted: string[];
}

/** Rebuilds the variables a request was run with from its tasks' resolved inputs. */
export function revisePrefill(document: TemplateDocument, runs: readonly TaskRunView[]): RevisePrefill {
  const globals = document.workflow?.input?.global ?? {};
  const runByRef = new Map(runs.map((run) => [run.ref_name, run]));
  const values = new Map<string, Map<string, unknown>>();
  const masked = new Set<string>();
  const unknown = new Set<string>();
  const record = (variable: string, task: string, value: unknown) => {
    if (containsMask(value)) masked.add(variable);
    else (values.get(variable) ?? values.set(variable, new Map()).get(variable))?.set(task, value);
  };

  for (const task of document.tasks) {
    const inputs = runByRef.get(task.ref_name)?.inputs;
    for (const [attribute, expression] of Object.entries(task.input ?? {})) {
      const variable = exactWorkflowInput(expression);
      if (variable === undefined) continue;
      if (inputs && Object.hasOwn(inputs, attribute)) record(variable, task.ref_name, inputs[attribute]);
      else unknown.add(variable);
    }
    for (const [key, fallback] of Object.entries(globals)) {
      if (Object.hasOwn(task.input ?? {}, key) || !inputs || !Object.hasOwn(inputs, key)) continue;
      // A value equal to a literal default needs no variable; one from an expression is kept as resolved.
      if (!hasExpression(fallback) && stableJson(fallback) === stableJson(inputs[key])) continue;
      record(key, task.ref_name, inputs[key]);
    }
  }

  const common: Record<string, unknown> = {};
  const perTask: RevisePrefill['body']['tasks'] = {};
  for (const [variable, byTask] of values) {
    if (masked.has(variable)) continue;
    const distinct = new Set([...byTask.values()].map(stableJson));
    if (distinct.size === 1) {
      common[variable] = byTask.values().next().value;
      continue;
    }
    for (const [task, value] of byTask) {
      const input = (perTask[task] ??= { vars: { input: {} } }).vars.input;
      input[variable] = value;
    }
  }
  const omitted = [...new Set([...masked, ...[...unknown].filter((name) => !values.has(name))])].sort();
  return {
    body: { vars: { workflow: { input: common } }, tasks: perTask, schedule: { when: 'now', start: '' } },
    omitted,
  };
}

/** True when a value holds the mask anywhere (the API also masks secrets inside longer text). */
export function containsMask(value: unknown): boolean {
  return JSON.stringify(value ?? null).includes(MASK);
}
