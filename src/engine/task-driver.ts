/**
 * Drives one task run through the contract: instantiate → taskInit → run → ping every interval
 * until a terminal state. After each method returns, the task state and every changed state
 * attribute are stored before the engine acts on them. A resumed run (stored as running or
 * waiting) is pinged, never run again.
 */
import { errorMessage } from '../errors.js';
import {
  isTaskEnded,
  isTaskState,
  type LogLevel,
  type TaskRunRecord,
  type TaskState,
} from '../store/records.js';
import type { CompiledTask } from '../template/types.js';
import type { RegisteredTask } from '../task/task-registry.js';
import { Task, type TaskLogger } from '../task/task.js';
import { TaskFailure } from '../task/task-failure.js';

/** What a driver needs from the request it belongs to. */
export interface DriverHost {
  now(): number;
  readonly requestUuid: string;
  readonly traceId: string;
  readonly requestVars: unknown;
  /** Stores the record (group commit) and resolves once it is durable. */
  saveTaskRun(record: TaskRunRecord): Promise<void>;
  /** Writes a line to the request log, tagged with the task run (secrets masked by the host). */
  log(taskUuid: string | null, level: LogLevel, source: 'system' | 'task', message: string): void;
  /** False once the request is failing or canceling: no retry starts then. */
  mayRetry(): boolean;
  /** Called once when the run has reached its final state. */
  onEnded(driver: TaskDriver): void;
}

/** How the first method call of a new instance goes. */
export type StartMode = 'run' | 'resume';

const DEFAULT_PING_INTERVAL_MS = 2000;
const PING_ERROR_RETRIES = 5;
const MAX_PING_BACKOFF_MS = 60_000;
const CANCEL_GRACE_MS = 30_000;

/** One task run in flight. */
export class TaskDriver {
  private instance: Task<object> | null = null;
  /** Why the run was aborted (canceled or timed out); null while it was not. */
  private abortReason: Error | null = null;
  /** Made when the task first reads its signal: most runs never do, and a controller costs microseconds. */
  private abort: AbortController | undefined;
  private pingTimer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private pingErrors = 0;
  private finished = false;
  private stopped = false;

  constructor(
    private readonly host: DriverHost,
    readonly record: TaskRunRecord,
    readonly task: CompiledTask,
    private readonly registered: RegisteredTask,
  ) {}

  /** The task's ref_name. */
  get ref(): string {
    return this.record.taskRef;
  }

  /** True once the run reached its final state. */
  get ended(): boolean {
    return this.finished;
  }

  /** Starts a new instance: `run` for a fresh (or created) run, `resume` to ping a running one. */
  async start(mode: StartMode): Promise<void> {
    this.armTimeout();
    this.instance = this.instantiate();
    if (!(await this.call('taskInit'))) return;
    if (mode === 'run' && !(await this.call('run', false))) return;
    const hint = Task.takePingHint(this.instance);
    if (hint !== undefined && hint > 0) {
      this.schedulePing(hint);
      return;
    }
    // The first ping follows at once, in this turn: what run() reported and what the ping reports
    // are then written by one commit (the write queue flushes on the next turn).
    if (await this.call('ping')) this.afterMethod(this.pingIntervalMs());
  }

  /** Cancels the run: aborts its signal, calls `cancel()`, and ends it as `canceled` (or `timeout`). */
  async cancel(finalState: 'canceled' | 'timeout' = 'canceled', reason?: string): Promise<void> {
    if (this.finished || this.stopped) return;
    this.clearTimers();
    this.abortReason = new Error(reason ?? finalState);
    this.abort?.abort(this.abortReason);
    const instance = this.instance;
    if (instance) {
      try {
        await withTimeout(
          Promise.resolve(instance.cancel()),
          CANCEL_GRACE_MS,
          'cancel() did not return in time',
        );
      } catch (error) {
        this.log('warn', 'system', `cancel() failed: ${errorMessage(error)}`);
      }
      instance.taskState = finalState;
    }
    await this.finish(finalState, reason ?? null);
  }

  /** Stops following the run without touching it (SIGTERM): it resumes on the next start. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
  }

  /** The run's abort signal, made on first use (aborted at once when the run was aborted before). */
  private get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.abortReason) this.abort.abort(this.abortReason);
    }
    return this.abort.signal;
  }

  private instantiate(): Task<object> {
    const instance = new this.registered.TaskClass();
    const r = this.record;
    // Methods, not arrow functions: tsx names every arrow kept in a property (Object.defineProperty,
    // per call), which cost 1 % of W1's main thread here. Methods need `this` under another name.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const driver = this;
    Task.attach(instance, {
      name: this.task.name,
      refName: r.taskRef,
      uuid: r.uuid,
      requestUuid: r.requestUuid,
      traceId: this.host.traceId,
      revision: r.revision,
      attempt: r.attempt,
      alwaysRun: this.task.alwaysRun,
      taskState: r.state,
      lastTaskState: r.lastTaskState,
      attributes: r.attributes,
      requestVars: this.host.requestVars,
      flog: this.logger('task'),
      slog: this.logger('system'),
      signal() {
        return driver.signal;
      },
      now() {
        return driver.host.now();
      },
      checkpoint() {
        return driver.persist();
      },
    });
    return instance;
  }

  /**
   * Calls one contract method; returns false when the run ended (or stopped) because of it. With
   * `awaitWrite` false, a non-terminal result is stored without waiting, so that the first ping can
   * follow run() at once and both land in one commit: if O3 dies before that commit, the run is
   * still stored `created` and run() is called again (§7) — what the task recorded with
   * `checkpoint()` inside run() is durable either way.
   */
  private async call(method: 'taskInit' | 'run' | 'ping', awaitWrite = true): Promise<boolean> {
    const instance = this.instance;
    if (!instance || this.finished || this.stopped) return false;
    try {
      const result: unknown = await instance[method]();
      // Canceled or timed out meanwhile: that path owns the run's end now.
      if (this.finished || this.stopped || this.abortReason) return false;
      if (method === 'ping' && result !== undefined) instance.taskState = result as TaskState;
      if (method === 'run' && instance.taskState === 'created') instance.taskState = 'running';
      if (
        !isTaskState(instance.taskState) ||
        instance.taskState === 'pending' ||
        instance.taskState === 'skipped'
      ) {
        throw new Error(
          `${method}() set the task state to '${String(instance.taskState)}', which a task cannot report`,
        );
      }
      if (method === 'ping') this.pingErrors = 0;
    } catch (error) {
      if (this.finished || this.stopped || this.abortReason) return false;
      return this.onMethodError(method, error);
    }
    if (isTaskEnded(instance.taskState)) {
      await this.finish(instance.taskState, null);
      return false;
    }
    if (awaitWrite) await this.persist();
    else void this.persist().catch(() => undefined);
    return true;
  }

  private async onMethodError(method: string, error: unknown): Promise<boolean> {
    const message = errorMessage(error);
    const retryablePing = method === 'ping' && !(error instanceof TaskFailure && !error.retryable);
    if (retryablePing && this.pingErrors < PING_ERROR_RETRIES) {
      this.pingErrors += 1;
      const delay = Math.min(this.pingIntervalMs() * 2 ** this.pingErrors, MAX_PING_BACKOFF_MS);
      this.log(
        'warn',
        'system',
        `ping() failed (${this.pingErrors}/${PING_ERROR_RETRIES}), retrying in ${delay} ms: ${message}`,
      );
      this.schedulePing(delay);
      return false;
    }
    // A TaskFailure is the task saying "this failed" (a 401, a missing variable): the task fails
    // with its sentence. Anything else thrown is unexpected: `exception`, with the stack in the log.
    if (error instanceof TaskFailure) {
      this.log('error', 'task', message);
      if (this.instance) this.instance.taskState = 'failed';
      await this.finish('failed', message, error.retryable);
      return false;
    }
    this.log(
      'error',
      'task',
      `${method}() threw: ${error instanceof Error && error.stack ? error.stack : message}`,
    );
    if (this.instance) this.instance.taskState = 'exception';
    await this.finish('exception', `${method}() threw: ${message}`);
    return false;
  }

  /** After run or ping: ping again (now, or after the interval / the task's hint). */
  private afterMethod(defaultDelayMs: number): void {
    if (this.finished || this.stopped || !this.instance) return;
    const hint = Task.takePingHint(this.instance);
    this.schedulePing(hint ?? defaultDelayMs);
  }

  private schedulePing(delayMs: number): void {
    if (this.finished || this.stopped) return;
    const ping = (): void => {
      this.pingTimer = null;
      void this.call('ping').then((goOn) => {
        if (goOn) this.afterMethod(this.pingIntervalMs());
      });
    };
    // setImmediate, not setTimeout(0): a timer costs a millisecond, which a chain of tasks would feel.
    this.pingTimer = delayMs <= 0 ? setImmediate(ping) : setTimeout(ping, delayMs);
  }

  private pingIntervalMs(): number {
    const classSeconds = this.registered.meta.pingIntervalSeconds;
    return (
      this.task.pingIntervalMs ?? (classSeconds !== null ? classSeconds * 1000 : DEFAULT_PING_INTERVAL_MS)
    );
  }

  private armTimeout(): void {
    if (this.task.timeoutMs === null) return;
    const startedAt = this.record.startedAt ?? this.host.now();
    const remaining = Math.max(0, startedAt + this.task.timeoutMs - this.host.now());
    this.timeoutTimer = setTimeout(() => {
      void this.cancel('timeout', `timed out after ${this.task.timeoutMs! / 1000} s`);
    }, remaining);
  }

  /** Stores the instance's state and changed attributes (a new attributes object: records are never mutated in place). */
  private async persist(error?: string): Promise<void> {
    const instance = this.instance;
    if (!instance || this.stopped) return;
    const r = this.record;
    const attributes = Task.attributesOf(instance);
    const changed =
      r.state !== instance.taskState ||
      (error !== undefined && r.error !== error) ||
      !sameAttributes(attributes, r.attributes);
    if (!changed) return;
    r.state = instance.taskState;
    // A copy of object values: a task that later changes one in place must show up as a change.
    r.attributes = snapshot(attributes);
    if (error !== undefined) r.error = error;
    await this.host.saveTaskRun(r);
  }

  /** Ends the run, or starts its next attempt when the retry policy allows (and `mayRetry`). */
  private async finish(state: TaskState, error: string | null, mayRetry = true): Promise<void> {
    if (this.finished) return;
    this.clearTimers();
    if (mayRetry && this.retryDue(state)) return this.retry(state);
    this.finished = true;
    const r = this.record;
    r.state = state;
    if (error !== null) r.error = error;
    r.endedAt = this.host.now();
    if (this.instance) r.attributes = Task.attributesOf(this.instance);
    // Queued, then the host told at once: what it does next (dependents' `created`, the request's
    // end) is queued behind this write, so it lands in the same commit or a later one — never
    // before it — and a chain of tasks costs one commit per link, not two. Nothing here waits for
    // that commit (what must follow it waits for its own write), so the run's frames are freed at
    // its end, not kept until the commit lands.
    void this.host.saveTaskRun(r);
    this.host.onEnded(this);
  }

  private retryDue(state: TaskState): boolean {
    return (
      (state === 'failed' || state === 'exception') &&
      this.record.attempt < this.task.retry.maxAttempts &&
      this.host.mayRetry()
    );
  }

  /** A new instance after a failure, with its state attributes kept (§6.2). */
  private async retry(state: TaskState): Promise<void> {
    const r = this.record;
    const delay = this.task.retry.delayMs * this.task.retry.backoff ** (r.attempt - 1);
    this.log('warn', 'system', `attempt ${r.attempt} ended ${state}; retrying in ${delay} ms`);
    if (this.instance) r.attributes = Task.attributesOf(this.instance);
    r.lastTaskState = state;
    r.state = 'created';
    r.attempt += 1;
    r.error = null;
    await this.host.saveTaskRun(r);
    this.abort = undefined;
    this.abortReason = null;
    this.pingErrors = 0;
    this.pingTimer = setTimeout(() => {
      this.pingTimer = null;
      if (!this.host.mayRetry()) {
        void this.finish(state, r.error);
        return;
      }
      void this.start('run');
    }, delay);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearTimer(this.pingTimer);
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    this.pingTimer = null;
    this.timeoutTimer = null;
  }

  private log(level: LogLevel, source: 'system' | 'task', message: string): void {
    this.host.log(this.record.uuid, level, source, message);
  }

  private logger(source: 'system' | 'task'): TaskLogger {
    return new DriverLog(this.host, this.record.uuid, source);
  }
}

/** A task's `flog` or `slog`: every line goes to the request log, tagged with the task run. */
class DriverLog implements TaskLogger {
  constructor(
    private readonly host: DriverHost,
    private readonly taskUuid: string,
    private readonly source: 'system' | 'task',
  ) {}

  log(message: string): void {
    this.line('info', message);
  }

  debug(message: string): void {
    this.line('debug', message);
  }

  info(message: string): void {
    this.line('info', message);
  }

  warn(message: string): void {
    this.line('warn', message);
  }

  warning(message: string): void {
    this.line('warn', message);
  }

  error(message: string): void {
    this.line('error', message);
  }

  private line(level: LogLevel, message: string): void {
    this.host.log(this.taskUuid, level, this.source, String(message));
  }
}

/** True when two sets of state attributes hold the same values with the same visibility. */
function sameAttributes(a: TaskRunRecord['attributes'], b: TaskRunRecord['attributes']): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  for (const name of names) {
    const x = a[name]!;
    const y = b[name];
    if (y === undefined || x.public !== y.public) return false;
    if (x.value === y.value) continue;
    // Only values that are objects need a deep look (a task may change one in place).
    if (typeof x.value !== 'object' || JSON.stringify(x.value) !== JSON.stringify(y.value)) return false;
  }
  return true;
}

/** The attributes with every object value deep-copied. */
function snapshot(attributes: TaskRunRecord['attributes']): TaskRunRecord['attributes'] {
  for (const attribute of Object.values(attributes)) {
    if (typeof attribute.value === 'object' && attribute.value !== null) {
      attribute.value = structuredClone(attribute.value);
    }
  }
  return attributes;
}

function clearTimer(timer: NodeJS.Timeout | NodeJS.Immediate): void {
  if ('hasRef' in timer && 'refresh' in timer) clearTimeout(timer);
  else clearImmediate(timer);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
