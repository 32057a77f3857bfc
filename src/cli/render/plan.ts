/** `validate`: valid or invalid, every error with its pointer, the warnings, and the plan. */
import type { Plan, ValidateAnswer } from '../../api/answers.js';
import { formatValue } from './format.js';
import { renderWarnings } from './request.js';

/** The whole validate report for one file. */
export function renderValidation(file: string, answer: ValidateAnswer): string {
  const parts = [`${answer.valid ? 'valid' : 'invalid'}: ${file}`];
  const errors = answer.valid ? undefined : answer.errors;
  if (errors && errors.length > 0) parts.push(renderWarnings(errors, 'errors'));
  if (answer.warnings && answer.warnings.length > 0) parts.push(renderWarnings(answer.warnings));
  if (answer.valid && answer.plan) parts.push(renderPlan(answer.plan));
  return parts.join('\n\n');
}

/** The levels, then each task with its class, what it waits for and its resolved inputs. */
function renderPlan(plan: Plan): string {
  const lines = [`plan (template ${plan.template.ref_name} v${plan.template.schema_version}):`, '  levels:'];
  plan.levels.forEach((level, index) => lines.push(`    ${index + 1}: ${level.join(', ')}`));
  lines.push('  tasks:');
  for (const [ref, task] of Object.entries(plan.tasks)) {
    const after = task.depends_on.length > 0 ? `, after ${task.depends_on.join(', ')}` : '';
    lines.push(`    ${ref} (${task.class}${after})`);
    const inputs = Object.entries(task.inputs);
    if (inputs.length === 0) lines.push('      no inputs');
    for (const [name, value] of inputs) lines.push(`      ${name} = ${formatValue(value)}`);
  }
  return lines.join('\n');
}
