/** `templates` and `tasks`: the registered templates and task classes as tables. */
import { WELL_KNOWN_SECRET_INPUTS } from '../../task/secret-inputs.js';
import type { TaskClassView, TemplateSummary } from '../../api/answers.js';
import { renderTable } from './table.js';

/** One row per template version. */
export function renderTemplates(templates: readonly TemplateSummary[]): string {
  if (templates.length === 0) return 'no templates are registered';
  return renderTable(
    ['ref_name', 'version', 'tasks', 'name', 'description'],
    templates.map((t) => [t.ref_name, t.schema_version, t.tasks, t.name, t.description]),
  );
}

/** One row per task class; inputs as `name:type`, secret ones marked `(secret)`, required ones `(required)`. */
export function renderTaskClasses(classes: readonly TaskClassView[]): string {
  if (classes.length === 0) return 'no task classes are registered';
  return renderTable(
    ['class', 'inputs', 'outputs', 'description'],
    classes.map((c) => [c.name, formatInputs(c), Object.keys(c.outputs).join(', '), c.description]),
  );
}

function formatInputs(taskClass: TaskClassView): string {
  return Object.entries(taskClass.inputs)
    .map(([name, spec]) => {
      const marks = [
        // The server masks these names whatever the class declares (§9), so the table says so too.
        spec.secret || WELL_KNOWN_SECRET_INPUTS.has(name) ? '(secret)' : '',
        spec.required ? '(required)' : '',
      ].filter(Boolean);
      return [`${name}:${spec.type ?? 'any'}`, ...marks].join(' ');
    })
    .join(', ');
}
