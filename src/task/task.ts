/**
 * The task contract (SPEC §5). A task class is a drop-in module whose default export extends
 * `Task` and implements the article's four methods:
 *   taskInit() — first call on every new instance (the constructor's place);
 *   run()      — start the work and record what is needed to follow it;
 *   ping()     — report progress as a task state; called after run, then every ping interval;
 *   cancel()   — stop the external work.
 * State attributes live in `this.state`: inputs arrive there before taskInit, and whatever the task
 * puts there is persisted when each method returns, before the engine acts on the result.
 * `await this.checkpoint({ jobId })` persists at once — use it right after launching external work,
 * so a crash cannot lose the id. Plain properties of the instance are not persisted.
 */
import type { LastTaskState, StateAttribute, TaskState } from '../store/records.js';
import type { TaskClassMetaInput } from './meta.js';

/** A task's log: lines are stored with the request, tagged with the task run, secrets masked. */
export interface TaskLogger {
  log(message: string): void;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

/** What the engine gives each task instance. */
export interface TaskContext {
  name: string;
  refName: string;
  uuid: string;
  requestUuid: string;
  traceId: string;
  revision: number;
  attempt: number;
  alwaysRun: boolean;
  taskState: TaskState;
  lastTaskState: LastTaskState;
  attributes: Record<string, StateAttribute>;
  /** The whole request's variables, read-only. */
  requestVars: unknown;
  flog: TaskLogger;
  slog: TaskLogger;
  /** The run's abort signal (made on first call: most tasks never read it). */
  signal: () => AbortSignal;
  now: () => number;
  checkpoint: () => Promise<void>;
}

const context = Symbol('o3.task.context');
const publicNames = Symbol('o3.task.public');
const pingHint = Symbol('o3.task.pingHint');

/** Options of a state attribute. */
export interface StateAttrOptions {
  public?: boolean;
}

/** The base class of every task. `S` types the state attributes. */
export abstract class Task<S extends object = Record<string, unknown>> {
  /** Optional metadata: name, description, inputs (types, required, secret), outputs, ping interval. */
  static meta?: TaskClassMetaInput;

  /** The task's display name from the template. */
  name = '';
  /** The task's ref_name in the template. */
  refName = '';
  /** The task run's UUID. */
  uuid = '';
  requestUuid = '';
  traceId = '';
  revision = 0;
  attempt = 0;
  alwaysRun = false;
  /** The current state; set it in run/ping/cancel to report progress. */
  taskState: TaskState = 'created';
  /** The state at the end of the previous instance of this task run (`never` if none). */
  lastTaskState: LastTaskState = 'never';
  /** State attributes: persisted when each method returns and on `checkpoint()`. */
  state = {} as S;
  /** The whole request's variables (read-only). */
  requestVars: unknown = undefined;
  /** The task log, stored with the request (the article's `flog`). */
  flog!: TaskLogger;
  /** The system log (the article's `slog`): goes to the process log and the request log. */
  slog!: TaskLogger;
  /** Fires when the task is canceled or times out. */
  get signal(): AbortSignal {
    return this.requireContext().signal();
  }

  private [context]?: TaskContext;
  private [publicNames] = new Set<string>();
  private [pingHint]: number | undefined;

  /** First call on every new instance; inputs and restored state attributes are already set. */
  abstract taskInit(): void | Promise<void>;
  /** Starts the work. A state left at `created` becomes `running`. */
  abstract run(): void | Promise<void>;
  /** Reports progress: returns (or sets) the task state. */
  abstract ping(): TaskState | undefined | void | Promise<TaskState | undefined | void>;
  /** Stops the external work. */
  abstract cancel(): void | Promise<void>;

  /** Creates a state attribute with an initial value, unless it exists (e.g. restored after a restart). */
  createStateAttr<K extends keyof S & string>(name: K, initial: S[K], options: StateAttrOptions = {}): void {
    if (!Object.hasOwn(this.state, name)) this.state[name] = initial;
    if (options.public) this[publicNames].add(name);
  }

  /** Creates a state attribute or sets its value. */
  createOrUpdateStateAttr<K extends keyof S & string>(
    name: K,
    value: S[K],
    options: StateAttrOptions = {},
  ): void {
    this.state[name] = value;
    if (options.public) this[publicNames].add(name);
  }

  /** Persists the task state and state attributes now (after applying `patch`), before going on. */
  async checkpoint(patch: Partial<S> = {}): Promise<void> {
    Object.assign(this.state, patch);
    await this.requireContext().checkpoint();
  }

  /** Asks for the next ping sooner or later than the ping interval (e.g. when a delay ends). */
  pingAgainIn(milliseconds: number): void {
    this[pingHint] = Math.max(0, milliseconds);
  }

  /** The engine's clock, in epoch milliseconds (tests control it). */
  now(): number {
    return this[context]?.now() ?? Date.now();
  }

  private requireContext(): TaskContext {
    const ctx = this[context];
    if (!ctx) throw new Error('this task is not attached to an engine');
    return ctx;
  }

  /** @internal Wires an instance to the engine; called once, before taskInit. */
  static attach(task: Task<object>, ctx: TaskContext): void {
    task[context] = ctx;
    task.name = ctx.name;
    task.refName = ctx.refName;
    task.uuid = ctx.uuid;
    task.requestUuid = ctx.requestUuid;
    task.traceId = ctx.traceId;
    task.revision = ctx.revision;
    task.attempt = ctx.attempt;
    task.alwaysRun = ctx.alwaysRun;
    task.taskState = ctx.taskState;
    task.lastTaskState = ctx.lastTaskState;
    task.requestVars = ctx.requestVars;
    task.flog = ctx.flog;
    task.slog = ctx.slog;
    const state: Record<string, unknown> = {};
    for (const [name, attribute] of Object.entries(ctx.attributes)) {
      // A copy of object values (the task may change them in place); primitives need none.
      const { value } = attribute;
      state[name] = typeof value === 'object' && value !== null ? structuredClone(value) : value;
      if (attribute.public) task[publicNames].add(name);
    }
    task.state = state;
  }

  /** @internal The state attributes as stored: values plus their visibility. */
  static attributesOf(task: Task<object>): Record<string, StateAttribute> {
    const out: Record<string, StateAttribute> = {};
    for (const [name, value] of Object.entries(task.state)) {
      if (value !== undefined) out[name] = { value, public: task[publicNames].has(name) };
    }
    return out;
  }

  /** @internal Takes the ping hint set by the last method, if any. */
  static takePingHint(task: Task<object>): number | undefined {
    const hint = task[pingHint];
    task[pingHint] = undefined;
    return hint;
  }
}

/** A class that can be registered as a task. */
export type TaskClass = (new () => Task<object>) & { meta?: TaskClassMetaInput };
