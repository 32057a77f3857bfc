/**
 * validateRequest (§4): checks a request payload against the schema, its template, the task
 * classes' declared input types and its schedule, reporting every problem at once with a JSON
 * pointer into the payload. A valid request comes back with its plan (levels, resolved inputs,
 * secrets masked) for validate-only answers and for the engine to store.
 */
import { hash } from 'node:crypto';
import { clip, type ErrorDetail } from '../errors.js';
import { isSecretInput, type TaskClassLookup, type TaskClassMeta } from '../task/meta.js';
import { MASK } from '../task/secret-inputs.js';
import { describeInputType, describeJsonType, matchesInputType } from '../template/compile-template.js';
import { MAX_VALUE_DEPTH, jsonDepth, references } from '../template/expressions.js';
import { jsonPointer } from '../template/schema.js';
import type { TemplateRegistry } from '../template/template-registry.js';
import type { CompiledTask, CompiledTemplate } from '../template/types.js';
import { payloadSchemaErrors, type RequestPayload } from './payload.js';
import { resolveTaskInputsDetailed, unusedRequestVariables } from './resolve-inputs.js';

/** What a validate-only answer shows: the DAG in levels and each task's inputs (outputs as text, secrets masked). */
export interface RequestPlan {
  template: { ref_name: string; schema_version: number };
  levels: string[][];
  /** By task ref_name, in template order; `depends_on` lists every dependency, implicit and explicit. */
  tasks: Record<string, { class: string; depends_on: string[]; inputs: Record<string, unknown> }>;
}

/** The outcome of validateRequest: the payload, template and plan, or every error found. */
export type RequestValidation =
  | {
      valid: true;
      payload: RequestPayload;
      template: CompiledTemplate;
      warnings: ErrorDetail[];
      plan: RequestPlan;
    }
  | { valid: false; errors: ErrorDetail[]; warnings: ErrorDetail[] };

/** What validateRequest reads besides the body; `now` is epoch milliseconds from the injected clock. */
export interface ValidateRequestDeps {
  templates: TemplateRegistry;
  lookupClass: TaskClassLookup;
  now: number;
}

/** How far in the past an `at` schedule may start (a clock skew or a slow client, not a typo of the year). */
export const MAX_SCHEDULE_LATENESS_MS = 24 * 60 * 60 * 1000;

/** Validates a request body; never throws for a bad body. */
export function validateRequest(body: unknown, deps: ValidateRequestDeps): RequestValidation {
  if (jsonDepth(body, MAX_VALUE_DEPTH) > MAX_VALUE_DEPTH) {
    const message = `the payload is nested more than ${MAX_VALUE_DEPTH} levels deep`;
    return { valid: false, errors: [{ path: '', message }], warnings: [] };
  }
  const errors = payloadSchemaErrors(body);
  const warnings: ErrorDetail[] = [];
  const payload = readablePayload(body);
  checkSchedule(body, deps.now, errors, warnings);
  const template = findTemplate(body, deps.templates, errors);
  if (template === undefined) return { valid: false, errors, warnings };
  checkTaskKeys(template, payload, errors);
  const tasks: RequestPlan['tasks'] = {};
  const secrets = new Set<string>();
  for (const task of template.tasks)
    tasks[task.refName] = planTask(template, task, payload, deps, errors, secrets);
  maskEmbeddedSecrets(tasks, secrets);
  warnings.push(...unusedRequestVariables(template, payload));
  if (errors.length > 0) return { valid: false, errors, warnings };
  const plan: RequestPlan = {
    template: { ref_name: template.refName, schema_version: template.version },
    levels: template.levels.map((level) => [...level]),
    tasks,
  };
  return { valid: true, payload: body as RequestPayload, template, warnings, plan };
}

/** sha256 (hex) of the payload as canonical JSON (keys sorted), to tell a repeated `ref` from a different one. */
export function payloadHash(payload: unknown): string {
  // The one-shot hash: a Hash object per request cost more than the hashing (1.4 against 0.6 µs).
  return hash('sha256', canonicalJson(payload));
}

/** JSON with object keys sorted at every level, so equal payloads give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i] ?? null);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of sortedKeys(record)) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${out.length === 1 ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

/**
 * An object's keys in UTF-16 code unit order (the default sort's, like comparing them with `<`).
 * Most payload objects have their keys in order already, or one key: then no sort, which copies
 * the list into a work area of its own.
 */
function sortedKeys(record: object): string[] {
  const keys = Object.keys(record);
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort();
  return keys;
}

/**
 * Epoch milliseconds of an ISO-8601 date-time with a `Z` or `±hh:mm` offset, or undefined.
 * Stricter than Date.parse, which accepts dates without an offset (local time) and rolls 30 February over.
 */
export function parseDateTime(text: string): number | undefined {
  const match = DATE_TIME.exec(text);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s = '0', fraction = '', zone = 'Z'] = match;
  // The regex makes every group but the optional ones present; Number('') would be 0 anyway.
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map((part) => Number(part ?? '0'));
  if (year === undefined || month === undefined || day === undefined) return undefined;
  if (hour === undefined || minute === undefined || second === undefined) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offset = offsetMinutes(zone);
  if (offset === undefined) return undefined;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000;
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:?\d{2})$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function offsetMinutes(zone: string): number | undefined {
  if (zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (hours > 23 || minutes > 59) return undefined;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * The variables of a body that may not match the schema, with the unreadable parts left out,
 * so resolution problems are reported together with schema errors instead of after a resubmit.
 */
function readablePayload(body: unknown): RequestPayload {
  const root = asRecord(body) ?? {};
  const workflow = asRecord(root.workflow) ?? {};
  const vars = asRecord(workflow.vars) ?? {};
  const tasks = Object.entries(asRecord(root.tasks) ?? {}).map(([ref, item]) => [
    ref,
    { vars: { input: inputOf(asRecord(item)?.vars) } },
  ]);
  return {
    workflow: {
      meta: { ref: '', template: '' },
      vars: { global: { input: inputOf(vars.global) }, workflow: { input: inputOf(vars.workflow) } },
    },
    tasks: Object.fromEntries(tasks) as RequestPayload['tasks'],
  };
}

/** The `input` object of a `{ input }` wrapper, or an empty one. */
function inputOf(wrapper: unknown): Record<string, unknown> {
  return asRecord(asRecord(wrapper)?.input) ?? {};
}

/** The template and version the request names, or an error at the field that names it. */
function findTemplate(
  body: unknown,
  templates: TemplateRegistry,
  errors: ErrorDetail[],
): CompiledTemplate | undefined {
  const meta = asRecord(asRecord(asRecord(body)?.workflow)?.meta);
  const ref = meta?.template;
  if (typeof ref !== 'string' || ref === '') return undefined; // the schema error says it already
  const rawVersion = meta?.template_schema_version;
  const version = typeof rawVersion === 'number' && Number.isInteger(rawVersion) ? rawVersion : undefined;
  const known = templates.versions(ref);
  if (known.length === 0) {
    errors.push({ path: '/workflow/meta/template', message: `no template '${clip(ref)}' is registered` });
    return undefined;
  }
  const template = templates.get(ref, version);
  if (template === undefined) {
    errors.push({
      path: '/workflow/meta/template_schema_version',
      message: `template '${clip(ref)}' has no schema_version ${String(rawVersion)} (registered: ${known.join(', ')})`,
    });
  }
  return template;
}

/** A `tasks.X` key that names no task of the template is an error, not a silently ignored variable set. */
function checkTaskKeys(template: CompiledTemplate, payload: RequestPayload, errors: ErrorDetail[]): void {
  for (const ref of Object.keys(payload.tasks ?? {})) {
    if (template.taskByRef.has(ref)) continue;
    const names = template.tasks.map((t) => t.refName).join(', ');
    errors.push({
      path: jsonPointer('tasks', ref),
      message: `'${clip(ref)}' is not a task of template ${template.refName} (its tasks: ${names})`,
    });
  }
}

/** One task's plan entry: resolved inputs checked against the class's declared types, secrets masked. */
function planTask(
  template: CompiledTemplate,
  task: CompiledTask,
  payload: RequestPayload,
  deps: ValidateRequestDeps,
  errors: ErrorDetail[],
  secrets: Set<string>,
): RequestPlan['tasks'][string] {
  const resolved = resolveTaskInputsDetailed(template, task.refName, payload);
  errors.push(...resolved.problems);
  const meta = deps.lookupClass(task.className);
  if (meta === undefined) {
    const message = `task ${task.refName} uses class '${task.className}', which is no longer registered`;
    errors.push({ path: '/workflow/meta/template', message });
  }
  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resolved.inputs)) {
    if (!readsOutputs(task, key)) checkType(task, meta, key, value, resolved.sources[key], errors);
    const secret = isSecretInput(meta, key);
    if (secret && typeof value === 'string' && value.length >= MIN_EMBEDDED_SECRET_LENGTH) secrets.add(value);
    inputs[key] = secret ? MASK : value;
  }
  return { class: task.className, depends_on: [...task.dependencies], inputs };
}

/** True when the attribute's value depends on another task's output, so its type is known only at run time. */
function readsOutputs(task: CompiledTask, key: string): boolean {
  const value = task.input[key];
  return value !== undefined && references(value).some((ref) => ref.kind === 'task_output');
}

function checkType(
  task: CompiledTask,
  meta: TaskClassMeta | undefined,
  key: string,
  value: unknown,
  source: string | undefined,
  errors: ErrorDetail[],
): void {
  const type = meta?.inputs[key]?.type;
  if (meta === undefined || type === undefined || matchesInputType(value, type)) return;
  errors.push({
    path: source ?? jsonPointer('tasks', task.refName),
    message:
      `task ${task.refName} (class ${meta.name}): input '${key}' must be ${describeInputType(type)}, ` +
      `not ${describeJsonType(value)}`,
  });
}

/** A secret embedded in a longer text (a header, a URL) is masked too; very short values would mask everything. */
function maskEmbeddedSecrets(tasks: RequestPlan['tasks'], secrets: Set<string>): void {
  if (secrets.size === 0) return;
  // Longest first, so a secret containing another is masked whole.
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  for (const entry of Object.values(tasks))
    entry.inputs = maskStrings(entry.inputs, ordered) as Record<string, unknown>;
}

const MIN_EMBEDDED_SECRET_LENGTH = 4;

function maskStrings(value: unknown, secrets: string[]): unknown {
  if (typeof value === 'string')
    return secrets.reduce((text, secret) => text.replaceAll(secret, MASK), value);
  if (Array.isArray(value)) return value.map((item) => maskStrings(item, secrets));
  const record = asRecord(value);
  if (record === undefined) return value;
  return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, maskStrings(item, secrets)]));
}

/** `when: "at"` needs a valid start no more than a day in the past; a start with `now` is ignored (a warning). */
function checkSchedule(body: unknown, now: number, errors: ErrorDetail[], warnings: ErrorDetail[]): void {
  const schedule = asRecord(asRecord(asRecord(body)?.workflow)?.schedule);
  if (schedule === undefined) return;
  const path = '/workflow/schedule/start';
  const start = schedule.start;
  if (schedule.when !== 'at') {
    if (typeof start === 'string' && start !== '') {
      warnings.push({ path, message: `start is ignored because the schedule's 'when' is not "at"` });
    }
    return;
  }
  if (typeof start !== 'string' || start === '') {
    errors.push({
      path,
      message: `a schedule with when "at" needs a start date-time such as 2026-12-01T02:00:00Z`,
    });
    return;
  }
  const at = parseDateTime(start);
  if (at === undefined) {
    errors.push({
      path,
      message:
        `start '${clip(start)}' is not an ISO-8601 date-time with an offset or Z ` +
        `(for example 2026-12-01T02:00:00Z)`,
    });
  } else if (at < now - MAX_SCHEDULE_LATENESS_MS) {
    errors.push({ path, message: `start '${clip(start)}' is more than 24 hours in the past` });
  }
}
