/**
 * Input resolution (§3.2): where each `${workflow.input.V}` of a task gets its value, and which
 * request variables no template key uses. The lookup order, for task T and attribute K:
 * 1. tasks.T.vars.input.V  2. workflow.vars.workflow.input.V  3. workflow.vars.global.input.V
 * 4. the template's workflow.input.global[K] (keyed by the attribute; may itself be an expression).
 */
import { ExpressionError, O3Error, clip, type ErrorDetail } from '../errors.js';
import {
  cloneJson,
  evaluate,
  references,
  type CompiledValue,
  type Reference,
} from '../template/expressions.js';
import { jsonPointer } from '../template/schema.js';
import type { CompiledTask, CompiledTemplate } from '../template/types.js';
import type { RequestPayload } from './payload.js';

/** Reads state attribute `name` of task `task`'s run in the same revision. */
export type OutputReader = (task: string, name: string) => { found: true; value: unknown } | { found: false };

/**
 * The inputs of one task: its own, plus every template global it does not set itself.
 * Throws O3Error('invalid_request') when a variable has no value anywhere, and ExpressionError
 * when an output is missing or a path leads nowhere. An optional task that failed should be
 * given to `readOutput` as found with value null (§3.3).
 */
export function resolveTaskInputs(
  template: CompiledTemplate,
  taskRef: string,
  payload: RequestPayload,
  readOutput: OutputReader,
): Record<string, unknown> {
  const context = createContext(template, taskRef, payload, readOutput);
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of attributesOf(context)) inputs[key] = resolveAttribute(context, key, value).value;
  return inputs;
}

/** What resolveTaskInputsDetailed found: values, where request values came from, and every problem. */
export interface ResolvedInputs {
  inputs: Record<string, unknown>;
  /** For an attribute whose value is one request variable: its JSON pointer in the payload. */
  sources: Record<string, string>;
  problems: ErrorDetail[];
}

/**
 * Like resolveTaskInputs but collects a problem per attribute instead of throwing. Without
 * `readOutput` (validation, before anything ran) output references stay as their text,
 * e.g. "${noop_01.output.rand_no}".
 */
export function resolveTaskInputsDetailed(
  template: CompiledTemplate,
  taskRef: string,
  payload: RequestPayload,
  readOutput?: OutputReader,
): ResolvedInputs {
  const context = createContext(template, taskRef, payload, readOutput);
  const result: ResolvedInputs = { inputs: {}, sources: {}, problems: [] };
  for (const [key, raw] of attributesOf(context)) {
    const value = readOutput === undefined ? outputsAsText(raw) : raw;
    try {
      const resolved = resolveAttribute(context, key, value);
      result.inputs[key] = resolved.value;
      if (resolved.source !== undefined) result.sources[key] = resolved.source;
    } catch (error) {
      if (!(error instanceof O3Error)) throw error;
      result.problems.push({ path: jsonPointer('tasks', taskRef), message: error.message });
    }
  }
  return result;
}

/**
 * Request variables no template key uses (§3.2: "ignored"), as warnings with their pointers.
 * Static: a variable counts as used when some expression the task (or template) may evaluate
 * names it, or it is a global key. `tasks.X` naming no task is left to validation (an error).
 */
export function unusedRequestVariables(template: CompiledTemplate, payload: RequestPayload): ErrorDetail[] {
  const warnings: ErrorDetail[] = [];
  const { usedByTask, usedAnywhere } = templateVariables(template);
  for (const [taskRef, vars] of Object.entries(payload.tasks ?? {})) {
    const used = usedByTask.get(taskRef);
    if (used === undefined) continue;
    for (const name of Object.keys(vars?.vars?.input ?? {})) {
      if (used.has(name)) continue;
      warnings.push({
        path: jsonPointer('tasks', taskRef, 'vars', 'input', name),
        message: `variable '${clip(name)}' is not used by task ${taskRef} and is ignored`,
      });
    }
  }
  for (const level of ['workflow', 'global'] as const) {
    for (const name of Object.keys(payload.workflow.vars?.[level]?.input ?? {})) {
      if (usedAnywhere.has(name)) continue;
      warnings.push({
        path: jsonPointer('workflow', 'vars', level, 'input', name),
        message: `variable '${clip(name)}' is not used by any task of template ${template.refName} and is ignored`,
      });
    }
  }
  return warnings.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The request variables a template's tasks may read, by task and in all; see templateVariables. */
interface TemplateVariables {
  usedByTask: ReadonlyMap<string, ReadonlySet<string>>;
  usedAnywhere: ReadonlySet<string>;
}

const variablesByTemplate = new WeakMap<CompiledTemplate, TemplateVariables>();

/**
 * What a template's expressions may read, worked out once per compiled template (which never
 * changes), not once per request: a template of hundreds of tasks would otherwise be walked for
 * every submit.
 */
function templateVariables(template: CompiledTemplate): TemplateVariables {
  let found = variablesByTemplate.get(template);
  if (found === undefined) {
    const usedByTask = new Map<string, Set<string>>();
    const usedAnywhere = new Set<string>(Object.keys(template.globals));
    for (const value of Object.values(template.globals)) addWorkflowInputs(value, usedAnywhere);
    for (const task of template.tasks) {
      const used = variablesUsedBy(template, task);
      usedByTask.set(task.refName, used);
      for (const name of used) usedAnywhere.add(name);
    }
    found = { usedByTask, usedAnywhere };
    variablesByTemplate.set(template, found);
  }
  return found;
}

/** The variables a task may read: its inputs' expressions, the global keys, and the defaults it may fall back to. */
function variablesUsedBy(template: CompiledTemplate, task: CompiledTask): Set<string> {
  const used = new Set<string>(Object.keys(template.globals));
  // Attribute keys whose global default the task may evaluate (step 4, and inherited globals).
  const pending: string[] = Object.keys(template.globals).filter((key) => !(key in task.input));
  for (const [key, value] of Object.entries(task.input)) {
    const before = used.size;
    addWorkflowInputs(value, used);
    if (used.size > before || references(value).some((ref) => ref.kind === 'workflow_input'))
      pending.push(key);
  }
  const expanded = new Set<string>();
  for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
    const fallback = template.globals[key];
    if (expanded.has(key) || fallback === undefined) continue;
    expanded.add(key);
    for (const ref of references(fallback)) {
      if (ref.kind !== 'workflow_input') continue;
      used.add(ref.name);
      pending.push(ref.name); // a nested default is keyed by the variable's name
    }
  }
  return used;
}

function addWorkflowInputs(value: CompiledValue, into: Set<string>): void {
  for (const ref of references(value)) if (ref.kind === 'workflow_input') into.add(ref.name);
}

/** Everything one resolution needs; `payload` may be partial when validation reads a bad body. */
interface Context {
  template: CompiledTemplate;
  task: CompiledTask;
  payload: RequestPayload;
  readOutput: OutputReader | undefined;
}

function createContext(
  template: CompiledTemplate,
  taskRef: string,
  payload: RequestPayload,
  readOutput: OutputReader | undefined,
): Context {
  const task = template.taskByRef.get(taskRef);
  if (task === undefined) {
    throw new O3Error('not_found', `template ${template.refName} has no task '${taskRef}'`);
  }
  return { template, task, payload, readOutput };
}

/** The task's own inputs in template order, then the globals it does not set itself. */
function attributesOf(context: Context): readonly (readonly [string, CompiledValue])[] {
  const { task, template } = context;
  let attributes = attributesByTask.get(task);
  if (attributes === undefined) {
    const own = Object.entries(task.input);
    const inherited = Object.entries(template.globals).filter(([key]) => !(key in task.input));
    attributes = [...own, ...inherited];
    attributesByTask.set(task, attributes);
  }
  return attributes;
}

/** attributesOf by compiled task (of one template, and never changed): made once, not per resolution. */
const attributesByTask = new WeakMap<CompiledTask, readonly (readonly [string, CompiledValue])[]>();

/** An attribute's value; an inherited global is the request's variable G, else the template's default G. */
function resolveAttribute(
  context: Context,
  key: string,
  value: CompiledValue,
): { value: unknown; source?: string } {
  if (!(key in context.task.input)) {
    const found = lookupVariable(context, key, key, []);
    return { value: cloneJson(found.value), source: found.source };
  }
  let source: string | undefined;
  const result = evaluate(value, (ref) => {
    const found = lookupReference(context, ref, key, []);
    // Only a whole-value reference has a single source worth pointing a type error at.
    if (value.kind === 'reference') source = found.source;
    return found.value;
  });
  return { value: result, source };
}

interface Found {
  value: unknown;
  /** The payload pointer of a request variable; undefined for template defaults and outputs. */
  source?: string;
}

/** One global default being evaluated: its key, and the variable whose lookup fell back to it. */
interface DefaultStep {
  attribute: string;
  variable: string;
}

function lookupReference(context: Context, ref: Reference, attribute: string, chain: DefaultStep[]): Found {
  if (ref.kind === 'workflow_input') return lookupVariable(context, ref.name, attribute, chain, ref);
  if (context.readOutput === undefined) return { value: ref.text };
  const output = context.readOutput(ref.task, ref.name);
  if (!output.found) {
    throw new ExpressionError(
      `task ${ref.task} succeeded without setting output '${ref.name}' ` +
        `(needed by ${context.task.refName}.${attribute} as ${ref.text})`,
    );
  }
  return { value: output.value };
}

/**
 * Steps 1–4 for variable `name` of attribute `attribute`. `chain` holds the global defaults being
 * evaluated, so a default that leads back to itself is an error instead of endless recursion.
 */
function lookupVariable(
  context: Context,
  name: string,
  attribute: string,
  chain: DefaultStep[],
  ref?: Reference,
): Found {
  const fromRequest = requestVariable(context, name);
  if (fromRequest !== undefined) return fromRequest;
  const fallback = context.template.globals[attribute];
  if (fallback === undefined) throw missingVariable(context, name, attribute, chain, ref);
  const keys = chain.map((step) => step.attribute);
  if (keys.includes(attribute)) {
    const loop = [...keys.slice(keys.indexOf(attribute)), attribute].join(' -> ');
    const message =
      `task ${context.task.refName}: the defaults in workflow.input.global lead back to themselves ` +
      `(${loop}); the request must send '${name}'`;
    throw new O3Error('invalid_request', message, {
      details: [{ path: jsonPointer('tasks', context.task.refName), message }],
    });
  }
  const nested = [...chain, { attribute, variable: name }];
  // A nested default reads its variables with the variable's own name as the attribute key.
  const value = evaluate(fallback, (inner) => lookupReference(context, inner, inner.name, nested).value);
  return { value };
}

/** Steps 1–3: the request's own variables, most specific first. */
function requestVariable(context: Context, name: string): Found | undefined {
  const { payload, task } = context;
  const places: [unknown, string][] = [
    [payload.tasks?.[task.refName]?.vars?.input, jsonPointer('tasks', task.refName, 'vars', 'input', name)],
    [payload.workflow?.vars?.workflow?.input, jsonPointer('workflow', 'vars', 'workflow', 'input', name)],
    [payload.workflow?.vars?.global?.input, jsonPointer('workflow', 'vars', 'global', 'input', name)],
  ];
  for (const [map, pointer] of places) {
    // Own properties only: a variable called `constructor` must not find Object's prototype.
    if (isRecord(map) && Object.hasOwn(map, name)) return { value: map[name], source: pointer };
  }
  return undefined;
}

/** The error naming the task T, its attribute K and the variable V that has no value (§3.2). */
function missingVariable(
  context: Context,
  name: string,
  attribute: string,
  chain: DefaultStep[],
  ref?: Reference,
): O3Error {
  const T = context.task.refName;
  const expression = ref?.text ?? `\${workflow.input.${name}}`;
  const defaults = chain.map((step) => `'${step.attribute}'`).join(', ');
  const via = chain.length === 0 ? '' : ` (through the default${chain.length > 1 ? 's' : ''} ${defaults})`;
  // Any variable along the way would have done: name them all, so the caller sees every fix.
  const tried = [...new Set([...chain.map((step) => step.variable), name])].map((v) => `'${v}'`);
  const sends = tried.length === 1 ? `no ${tried[0]}` : `none of ${tried.join(', ')}`;
  const message =
    `task ${T}: input '${chain[0]?.attribute ?? attribute}' needs ${expression}${via}, ` +
    `but the request sends ${sends} ` +
    `(in tasks.${T}.vars.input, workflow.vars.workflow.input or workflow.vars.global.input) ` +
    `and the template has no default '${attribute}' in workflow.input.global`;
  return new O3Error('invalid_request', message, { details: [{ path: jsonPointer('tasks', T), message }] });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The value with every task output reference replaced by its source text (for plans). */
function outputsAsText(value: CompiledValue): CompiledValue {
  switch (value.kind) {
    case 'literal':
      return value;
    case 'reference':
      return value.ref.kind === 'task_output' ? { kind: 'literal', value: value.ref.text } : value;
    case 'interpolation':
      return {
        kind: 'interpolation',
        parts: value.parts.map((p) => (typeof p !== 'string' && p.kind === 'task_output' ? p.text : p)),
      };
    case 'object':
      return { kind: 'object', entries: value.entries.map(([k, v]) => [k, outputsAsText(v)]) };
    case 'array':
      return { kind: 'array', items: value.items.map(outputsAsText) };
  }
}
