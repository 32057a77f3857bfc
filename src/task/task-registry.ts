/** The registered task classes, by name. */
import { notFound } from '../errors.js';
import type { TaskClassMeta } from './meta.js';
import type { TaskClass } from './task.js';

/** One registered class with its completed metadata. */
export interface RegisteredTask {
  meta: TaskClassMeta;
  TaskClass: TaskClass;
}

/** Task classes by name; later registrations of a name replace earlier ones (drop-ins override built-ins). */
export class TaskRegistry {
  private readonly byName = new Map<string, RegisteredTask>();

  /** Registers a class under its metadata name. */
  add(entry: RegisteredTask): void {
    this.byName.set(entry.meta.name, entry);
  }

  /** The class registered under `name`, or undefined. */
  find(name: string): RegisteredTask | undefined {
    return this.byName.get(name);
  }

  /** The class registered under `name`; a 404 when there is none. */
  get(name: string): RegisteredTask {
    const entry = this.byName.get(name);
    if (!entry) throw notFound(`task class '${name}' is not registered`);
    return entry;
  }

  /** The metadata of `name` (the lookup the template compiler takes). */
  readonly lookupMeta = (name: string): TaskClassMeta | undefined => this.byName.get(name)?.meta;

  /** Every registered class, sorted by name. */
  list(): RegisteredTask[] {
    return [...this.byName.values()].sort((a, b) => a.meta.name.localeCompare(b.meta.name));
  }
}
