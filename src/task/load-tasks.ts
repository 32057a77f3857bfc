/**
 * Drop-in task loading: every module in the task folders whose default export extends Task and
 * provides taskInit, run, ping and cancel is registered. A broken module is reported (file and
 * reason) and skipped; it never stops the others from loading.
 */
import { readdir } from 'node:fs/promises';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { O3Error, errorMessage } from '../errors.js';
import type { TaskClassMeta, TaskClassMetaInput } from './meta.js';
import { Task, type TaskClass } from './task.js';
import { TaskRegistry, type RegisteredTask } from './task-registry.js';

/** The four methods of the task contract, checked at load. */
export const TASK_METHODS = ['taskInit', 'run', 'ping', 'cancel'] as const;

const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A module that could not be registered, and why. */
export interface TaskLoadProblem {
  file: string;
  message: string;
}

/** The outcome of loading task folders. */
export interface LoadedTasks {
  registry: TaskRegistry;
  problems: TaskLoadProblem[];
}

/** Loads every task module of `dirs` (later folders override earlier ones by name). */
export async function loadTasks(dirs: string[]): Promise<LoadedTasks> {
  const registry = new TaskRegistry();
  const problems: TaskLoadProblem[] = [];
  for (const dir of uniqueExistingDirs(dirs)) {
    for (const file of await listModules(dir)) {
      try {
        registry.add(await loadTaskModule(file, dir));
      } catch (error) {
        problems.push({ file, message: errorMessage(error) });
      }
    }
  }
  return { registry, problems };
}

/** Imports one module and checks it against the task contract. */
export async function loadTaskModule(file: string, root: string): Promise<RegisteredTask> {
  const module = await importModule(file);
  const TaskClass = module.default;
  assertTaskClass(TaskClass, file);
  const moduleMeta = module.meta as TaskClassMetaInput | undefined;
  const declared = TaskClass.meta ?? moduleMeta ?? {};
  // A subclass inherits its parent's static meta, but not its name: it would silently replace the parent.
  const ownMeta = Object.hasOwn(TaskClass, 'meta') ? TaskClass.meta : undefined;
  const name =
    ownMeta?.name ??
    moduleMeta?.name ??
    (module.taskName as string | undefined) ??
    taskNameFromPath(file, root);
  if (!NAME_PATTERN.test(name)) {
    throw invalid(file, `the task name '${name}' is not valid (letters, digits, '_', '-', '.')`);
  }
  return { TaskClass, meta: completeMeta(declared, name, file) };
}

/** `tasks/tfe/workspace_id.ts` → `tfe.workspace_id`. */
export function taskNameFromPath(file: string, root: string): string {
  const relative = path.relative(root, file);
  const withoutExtension = relative.slice(0, relative.length - path.extname(relative).length);
  return withoutExtension.split(path.sep).join('.');
}

/** Throws unless `value` is a class extending Task with the four methods. */
export function assertTaskClass(value: unknown, file: string): asserts value is TaskClass {
  if (typeof value !== 'function') {
    throw invalid(
      file,
      'the module has no default export of a task class (export default class … extends Task)',
    );
  }
  const prototype = (value as { prototype: unknown }).prototype;
  if (!(prototype instanceof Task)) {
    throw invalid(
      file,
      `the class ${value.name || '(anonymous)'} does not extend Task (import { Task } from 'o3')`,
    );
  }
  const missing = TASK_METHODS.filter(
    (method) => typeof (prototype as unknown as Record<string, unknown>)[method] !== 'function',
  );
  if (missing.length > 0) {
    throw invalid(
      file,
      `the class ${value.name} is missing the method${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    );
  }
}

function completeMeta(declared: TaskClassMetaInput, name: string, source: string): TaskClassMeta {
  return {
    name,
    description: declared.description ?? '',
    inputs: declared.inputs ?? {},
    outputs: declared.outputs ?? {},
    pingIntervalSeconds: declared.pingIntervalSeconds ?? null,
    source,
  };
}

/** Imports a module; a failure (syntax error, missing import) becomes an error naming the file. */
async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    // Node's own words for this case ("cannot require() ES Module … in a cycle") do not say what to do.
    const hint =
      (error as { code?: unknown }).code === 'ERR_REQUIRE_CYCLE_MODULE'
        ? ` (a .ts or .js file outside a package with "type": "module" loads as CommonJS:` +
          ` name it .mts or .mjs, or put a package.json with {"type": "module"} in its folder)`
        : '';
    throw invalid(file, `cannot be loaded: ${errorMessage(error)}${hint}`);
  }
}

function invalid(file: string, reason: string): O3Error {
  return new O3Error('invalid_task_class', `${file}: ${reason}`);
}

function uniqueExistingDirs(dirs: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const real = realpathSync(dir);
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(real);
  }
  return out;
}

async function listModules(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && isTaskModuleName(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

function isTaskModuleName(name: string): boolean {
  if (name.endsWith('.d.ts') || /\.(test|spec)\.[mc]?[jt]s$/.test(name) || name.startsWith('_')) return false;
  return MODULE_EXTENSIONS.includes(path.extname(name));
}
