/** Finding `${workflow.input.NAME}` in template values (§3.1), for the forms built from a template. */

// `$${` writes a literal `${`, so a `$` just before the expression means it is not one.
const WORKFLOW_INPUT = /(?<!\$)\$\{workflow\.input\.([A-Za-z0-9_-]+)[^}]*\}/g;
const EXACT_WORKFLOW_INPUT = /^\$\{workflow\.input\.([A-Za-z0-9_-]+)\}$/;

/** The workflow input variables a template value uses anywhere inside it, in order, once each. */
export function workflowInputsIn(value: unknown): string[] {
  const found = new Set<string>();
  const visit = (item: unknown): void => {
    if (typeof item === 'string') {
      for (const match of item.matchAll(WORKFLOW_INPUT)) if (match[1]) found.add(match[1]);
    } else if (Array.isArray(item)) {
      item.forEach(visit);
    } else if (item !== null && typeof item === 'object') {
      Object.values(item).forEach(visit);
    }
  };
  visit(value);
  return [...found];
}

/** The variable when the value is exactly `${workflow.input.V}` (so it keeps the JSON type of V). */
export function exactWorkflowInput(value: unknown): string | undefined {
  return typeof value === 'string' ? EXACT_WORKFLOW_INPUT.exec(value)?.[1] : undefined;
}

/** True when a value holds an expression of any kind (so it is not a literal default). */
export function hasExpression(value: unknown): boolean {
  return JSON.stringify(value ?? null)
    .replaceAll('$${', '')
    .includes('${');
}
