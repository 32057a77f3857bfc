/**
 * compileTemplate: turns a loose template document (§2) into a CompiledTemplate, or throws one
 * TemplateError listing every problem found. The checks after the schema read the document
 * defensively, so a schema error does not hide an unregistered class or a cycle elsewhere.
 */
import { TemplateError, type ErrorDetail } from '../errors.js';
import { findCycles, invert, levels, type Graph } from '../dag/graph.js';
import type { InputType, TaskClassLookup, TaskClassMeta } from '../task/meta.js';
import {
  MAX_VALUE_DEPTH,
  cloneJson,
  jsonDepth,
  parseValueDetailed,
  references,
  type CompiledValue,
} from './expressions.js';
import { jsonPointer, templateSchemaErrors } from './schema.js';
import type { CompiledTask, CompiledTemplate, RetryPolicy, TemplateDocument } from './types.js';

/** What compileTemplate needs besides the document. */
export interface CompileTemplateOptions {
  lookupClass: TaskClassLookup;
  /** The file the document came from, named in every message; null or absent over the API. */
  source?: string | null;
}

/** The retry policy of a task that declares none. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 1,
  delayMs: 5000,
  backoff: 2,
});

/** Validates and compiles a template document; throws a TemplateError naming every problem. */
export function compileTemplate(doc: unknown, options: CompileTemplateOptions): CompiledTemplate {
  const source = options.source ?? null;
  if (jsonDepth(doc, MAX_VALUE_DEPTH) > MAX_VALUE_DEPTH) {
    const detail = { path: '', message: `the document is nested more than ${MAX_VALUE_DEPTH} levels deep` };
    throw templateError(source, undefined, [detail]);
  }
  const document = deepFreeze(cloneJson(doc));
  const problems = templateSchemaErrors(document);
  const tasks = readTasks(document);
  const globals = parseGlobals(document, problems);
  parseInputs(tasks, problems);
  checkRefNames(tasks, problems);
  const metas = checkClasses(tasks, options.lookupClass, problems);
  const graph = buildGraph(tasks, problems);
  checkCycles(graph, tasks, problems);
  checkInputTypes(tasks, metas, problems);
  checkGlobalTypes(tasks, metas, globals, problems);
  checkRequiredInputs(tasks, metas, globals, problems);
  const refName = asRecord(document)?.ref_name;
  if (problems.length > 0) {
    throw templateError(source, typeof refName === 'string' ? refName : undefined, problems);
  }
  return assemble(document as TemplateDocument, source, globals, tasks, graph);
}

/** True when `value` has the declared JSON type of a task input. */
export function matchesInputType(value: unknown, type: InputType): boolean {
  switch (type) {
    case 'any':
      return true;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'string':
    case 'boolean':
      return typeof value === type;
    default:
      // A JavaScript task module may declare a type O3 does not know; it checks that itself.
      return true;
  }
}

/** "a string", "an object", "null": the JSON type of a value, for messages (never the value itself). */
export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** "a number", "an integer": a declared input type, for messages. */
export function describeInputType(type: InputType): string {
  if (type === 'any') return 'any value';
  return ['integer', 'object', 'array'].includes(type) ? `an ${type}` : `a ${type}`;
}

/** A task as read defensively from a document that may not match the schema. */
interface TaskView {
  index: number;
  pointer: string;
  raw: Record<string, unknown>;
  refName: string | undefined;
  className: string | undefined;
  input: Map<string, CompiledValue>;
  /** Tasks whose outputs the inputs read (self and unknown tasks excluded), in order of use. */
  implicit: string[];
  explicit: string[];
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function readTasks(document: unknown): TaskView[] {
  const list = asRecord(document)?.tasks;
  if (!Array.isArray(list)) return [];
  const views: TaskView[] = [];
  list.forEach((item: unknown, index) => {
    const raw = asRecord(item);
    if (raw === undefined) return;
    const dependsOn = Array.isArray(raw.depends_on) ? (raw.depends_on as unknown[]) : [];
    views.push({
      index,
      pointer: jsonPointer('tasks', index),
      raw,
      refName: asString(raw.ref_name),
      className: asString(raw.class),
      input: new Map(),
      implicit: [],
      explicit: dependsOn.filter((d): d is string => typeof d === 'string'),
    });
  });
  return views;
}

/** Parses `workflow.input.global`; a default may read request variables only, never task outputs. */
function parseGlobals(document: unknown, problems: ErrorDetail[]): Map<string, CompiledValue> {
  const workflow = asRecord(asRecord(document)?.workflow);
  const global = asRecord(asRecord(workflow?.input)?.global) ?? {};
  const parsed = new Map<string, CompiledValue>();
  for (const [key, raw] of Object.entries(global)) {
    const pointer = jsonPointer('workflow', 'input', 'global', key);
    const result = parseValueDetailed(raw, pointer);
    problems.push(...plain(result.problems));
    for (const ref of references(result.value)) {
      if (ref.kind === 'task_output') {
        problems.push({
          path: pointer,
          message: `a global default may use only \${workflow.input.*}, but '${key}' reads the task output ${ref.text}`,
        });
      }
    }
    parsed.set(key, result.value);
  }
  return parsed;
}

/** Details without the error objects, so TemplateError.details serialises as plain `{path, message}`. */
function plain(problems: ErrorDetail[]): ErrorDetail[] {
  return problems.map(({ path, message }) => ({ path, message }));
}

function parseInputs(tasks: TaskView[], problems: ErrorDetail[]): void {
  for (const task of tasks) {
    for (const [key, raw] of Object.entries(asRecord(task.raw.input) ?? {})) {
      const result = parseValueDetailed(raw, `${task.pointer}/input${jsonPointer(key)}`);
      problems.push(...plain(result.problems));
      task.input.set(key, result.value);
    }
  }
}

function checkRefNames(tasks: TaskView[], problems: ErrorDetail[]): void {
  const firstIndex = new Map<string, number>();
  for (const task of tasks) {
    if (task.refName === undefined) continue;
    const path = `${task.pointer}/ref_name`;
    // `workflow` would make `${workflow.input.x}` and this task's outputs ambiguous to a reader.
    if (task.refName === 'workflow') {
      problems.push({ path, message: `'workflow' is reserved and cannot be a task ref_name` });
    }
    const first = firstIndex.get(task.refName);
    if (first === undefined) {
      firstIndex.set(task.refName, task.index);
    } else {
      problems.push({ path, message: `task ref_name '${task.refName}' is already used by /tasks/${first}` });
    }
  }
}

function checkClasses(
  tasks: TaskView[],
  lookupClass: TaskClassLookup,
  problems: ErrorDetail[],
): Map<TaskView, TaskClassMeta> {
  const metas = new Map<TaskView, TaskClassMeta>();
  for (const task of tasks) {
    if (task.className === undefined || task.className === '') continue;
    const meta = lookupClass(task.className);
    if (meta === undefined) {
      problems.push({
        path: `${task.pointer}/class`,
        message: `task class '${task.className}' is not registered`,
      });
    } else {
      metas.set(task, meta);
    }
  }
  return metas;
}

/** Checks output references and depends_on, and builds the graph from the tasks that are sound. */
function buildGraph(tasks: TaskView[], problems: ErrorDetail[]): Graph {
  const known = new Set(tasks.map((t) => t.refName).filter((r): r is string => r !== undefined));
  for (const task of tasks) {
    checkOutputReferences(task, known, problems);
    task.explicit.forEach((dep, j) => {
      if (known.has(dep)) return;
      const message = `depends_on names '${dep}', which is not a task of this template`;
      problems.push({ path: `${task.pointer}/depends_on/${j}`, message });
    });
  }
  const nodes: string[] = [];
  const edges = new Map<string, string[]>();
  for (const task of tasks) {
    if (task.refName === undefined || edges.has(task.refName)) continue;
    nodes.push(task.refName);
    edges.set(task.refName, [...task.implicit, ...task.explicit.filter((d) => known.has(d))]);
  }
  return { nodes, edges };
}

function checkOutputReferences(task: TaskView, known: ReadonlySet<string>, problems: ErrorDetail[]): void {
  for (const [key, value] of task.input) {
    const path = `${task.pointer}/input${jsonPointer(key)}`;
    for (const ref of references(value)) {
      if (ref.kind !== 'task_output') continue;
      if (ref.task === task.refName) {
        problems.push({ path, message: `task '${ref.task}' cannot read its own output (${ref.text})` });
      } else if (!known.has(ref.task)) {
        problems.push({
          path,
          message: `${ref.text} names '${ref.task}', which is not a task of this template`,
        });
      } else if (!task.implicit.includes(ref.task)) {
        task.implicit.push(ref.task);
      }
    }
  }
}

function checkCycles(graph: Graph, tasks: TaskView[], problems: ErrorDetail[]): void {
  for (const cycle of findCycles(graph)) {
    const first = tasks.find((t) => t.refName === cycle[0]);
    problems.push({
      path: first?.pointer ?? '/tasks',
      message: `the dependencies form a cycle: ${cycle.join(' -> ')}`,
    });
  }
}

/** A value standing for what a compiled value will be, when its type is known before a request. */
function typeSample(value: CompiledValue): { known: true; sample: unknown } | { known: false } {
  switch (value.kind) {
    case 'literal':
      return { known: true, sample: value.value };
    case 'interpolation':
      return { known: true, sample: '' };
    case 'object':
      return { known: true, sample: {} };
    case 'array':
      return { known: true, sample: [] };
    case 'reference':
      return { known: false };
  }
}

function checkInputTypes(
  tasks: TaskView[],
  metas: Map<TaskView, TaskClassMeta>,
  problems: ErrorDetail[],
): void {
  for (const task of tasks) {
    const meta = metas.get(task);
    if (meta === undefined) continue;
    for (const [key, value] of task.input) {
      const type = meta.inputs[key]?.type;
      const typed = typeSample(value);
      if (type === undefined || !typed.known || matchesInputType(typed.sample, type)) continue;
      problems.push({
        path: `${task.pointer}/input${jsonPointer(key)}`,
        message:
          `input '${key}' of class ${meta.name} must be ${describeInputType(type)}, ` +
          `not ${describeJsonType(typed.sample)}`,
      });
    }
  }
}

/** A literal global default must suit every class that may receive it (reported once per class). */
function checkGlobalTypes(
  tasks: TaskView[],
  metas: Map<TaskView, TaskClassMeta>,
  globals: Map<string, CompiledValue>,
  problems: ErrorDetail[],
): void {
  const reported = new Set<string>();
  for (const [key, value] of globals) {
    const typed = typeSample(value);
    if (!typed.known) continue;
    for (const task of tasks) {
      const meta = metas.get(task);
      const type = meta?.inputs[key]?.type;
      if (meta === undefined || type === undefined || matchesInputType(typed.sample, type)) continue;
      if (!mayUseGlobalDefault(task, key) || reported.has(`${key}\0${meta.name}`)) continue;
      reported.add(`${key}\0${meta.name}`);
      problems.push({
        path: jsonPointer('workflow', 'input', 'global', key),
        message:
          `the default '${key}' is ${describeJsonType(typed.sample)}, ` +
          `but task '${task.refName ?? task.index}' (class ${meta.name}) needs ${describeInputType(type)}`,
      });
    }
  }
}

/**
 * A task receives global `key` as is when it does not set it, or when its own value is exactly one
 * request variable (step 4 of §3.2). Inside a longer text the default is interpolated, so any type fits.
 */
function mayUseGlobalDefault(task: TaskView, key: string): boolean {
  const own = task.input.get(key);
  return own === undefined || (own.kind === 'reference' && own.ref.kind === 'workflow_input');
}

function checkRequiredInputs(
  tasks: TaskView[],
  metas: Map<TaskView, TaskClassMeta>,
  globals: Map<string, CompiledValue>,
  problems: ErrorDetail[],
): void {
  for (const task of tasks) {
    const meta = metas.get(task);
    if (meta === undefined) continue;
    for (const [key, spec] of Object.entries(meta.inputs)) {
      if (spec.required !== true || task.input.has(key) || globals.has(key)) continue;
      problems.push({
        path: task.raw.input === undefined ? task.pointer : `${task.pointer}/input`,
        message:
          `task '${task.refName ?? task.index}' (class ${meta.name}) needs input '${key}', ` +
          `which neither its input nor workflow.input.global sets`,
      });
    }
  }
}

/** Builds the CompiledTemplate once every check passed (so the views are complete and sound). */
function assemble(
  document: TemplateDocument,
  source: string | null,
  globals: Map<string, CompiledValue>,
  views: TaskView[],
  graph: Graph,
): CompiledTemplate {
  const order = new Map(graph.nodes.map((node, i) => [node, i]));
  const byOrder = (a: string, b: string): number => (order.get(a) ?? 0) - (order.get(b) ?? 0);
  const dependents = invert(graph);
  const tasks = views.map((view) => {
    const doc = document.tasks[view.index] as TemplateTaskDocument;
    const dependencies = [...new Set([...view.implicit, ...view.explicit])].sort(byOrder);
    return compileTask(doc, view.input, dependencies, dependents.get(doc.ref_name) ?? []);
  });
  return {
    refName: document.ref_name,
    version: document.schema_version,
    name: document.name,
    description: document.description ?? '',
    document,
    source,
    globals: Object.fromEntries(globals),
    tasks,
    taskByRef: new Map(tasks.map((task) => [task.refName, task])),
    levels: levels(graph),
  };
}

type TemplateTaskDocument = TemplateDocument['tasks'][number];

function compileTask(
  doc: TemplateTaskDocument,
  input: Map<string, CompiledValue>,
  dependencies: string[],
  dependents: string[],
): CompiledTask {
  return {
    refName: doc.ref_name,
    name: doc.name,
    description: doc.description ?? '',
    className: doc.class,
    alwaysRun: doc.always_run ?? false,
    optional: doc.optional ?? false,
    dependsOn: [...new Set(doc.depends_on ?? [])],
    dependencies,
    dependents,
    input: Object.fromEntries(input),
    timeoutMs: doc.timeout_seconds === undefined ? null : doc.timeout_seconds * 1000,
    pingIntervalMs: doc.ping_interval_seconds === undefined ? null : doc.ping_interval_seconds * 1000,
    retry: {
      maxAttempts: doc.retry?.max_attempts ?? DEFAULT_RETRY.maxAttempts,
      delayMs:
        doc.retry?.delay_seconds === undefined ? DEFAULT_RETRY.delayMs : doc.retry.delay_seconds * 1000,
      backoff: doc.retry?.backoff ?? DEFAULT_RETRY.backoff,
    },
  };
}

/** The one error for a bad template: the file first, then every problem (the first few inline). */
function templateError(
  source: string | null,
  refName: string | undefined,
  problems: ErrorDetail[],
): TemplateError {
  const where = source === null ? '' : `${source}: `;
  const what = refName === undefined ? 'the template' : `template '${refName}'`;
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const shown = problems.slice(0, 5).map((p) => `${p.path === '' ? '/' : p.path}: ${p.message}`);
  const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
  return new TemplateError(
    `${where}${what} is invalid (${count}): ${shown.join('; ')}${more}`,
    problems,
    source ?? undefined,
  );
}

/** Freezes a JSON value and everything in it (its depth was checked, so recursion is safe). */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
