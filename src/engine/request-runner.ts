/**
 * One request in execution on this node: readiness, fail-fast, cancel and the end of the request.
 * Event-driven: when a task ends, its dependents start in the same turn — there is no tick.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { resolveTaskInputs } from '../request/resolve-inputs.js';
import type { RequestPayload } from '../request/payload.js';
import { canonicalJson } from '../request/validate-request.js';
import {
  isTaskEnded,
  type LogLevel,
  type RequestRecord,
  type RequestStatus,
  type RevisionRecord,
  type TaskRunRecord,
} from '../store/records.js';
import { isSecretInput } from '../task/meta.js';
import type { TaskRegistry } from '../task/task-registry.js';
import type { CompiledTask, CompiledTemplate } from '../template/types.js';
import type { Clock } from './clock.js';
import { Redactor } from './redactor.js';
import type { LogFiles } from './log-files.js';
import type { SecretBox } from './secret-box.js';
import { addSecretStrings, collectRequestSecrets } from './secrets.js';
import type { Semaphore } from './semaphore.js';
import { TaskDriver, type DriverHost, type StartMode } from './task-driver.js';
import type { WriteQueue } from './write-queue.js';

/** What a runner needs from the engine. */
export interface RunnerDeps {
  queue: WriteQueue;
  tasks: TaskRegistry;
  clock: Clock;
  logger: Logger;
  slots: Semaphore;
  /** Encrypts secrets at rest; absent in tests that do not care. */
  secrets?: SecretBox;
  /** Also writes the logs to files (O3_LOG_DIR). */
  logFiles?: LogFiles;
  /** Called once when the request has ended (or was abandoned) on this node. */
  onDone(runner: RequestRunner): void;
}

/** A request's records as loaded or just created. */
export interface RunnerState {
  request: RequestRecord;
  revision: RevisionRecord;
  template: CompiledTemplate;
  taskRuns: TaskRunRecord[];
  /** The task runs of the previous revision, to skip tasks that succeeded with the same inputs (§6.5). */
  previousRuns?: TaskRunRecord[];
}

/** The in-memory executor of one request. */
export class RequestRunner implements DriverHost {
  readonly request: RequestRecord;
  readonly revision: RevisionRecord;
  readonly template: CompiledTemplate;
  readonly payload: RequestPayload;
  readonly redactor = new Redactor();
  private readonly runs = new Map<string, TaskRunRecord>();
  private readonly drivers = new Map<string, TaskDriver>();
  private readonly previousRuns = new Map<string, TaskRunRecord>();
  private readonly refByUuid = new Map<string, string>();
  /** Task runs not started yet: kept as a set so that a task's end costs its dependents, not the template. */
  private readonly waiting = new Set<string>();
  /** Drivers that hold one of the global slots (O3_MAX_CONCURRENT_TASKS). */
  private readonly slotHolders = new Set<TaskDriver>();
  /** Tasks waiting for a global slot, so that a finish check does not end the request under them. */
  private starting = 0;
  private failure: string | null = null;
  private done = false;
  private stopped = false;

  constructor(
    state: RunnerState,
    private readonly deps: RunnerDeps,
  ) {
    this.request = state.request;
    this.revision = state.revision;
    this.template = state.template;
    this.payload = state.revision.payload as RequestPayload;
    for (const run of state.taskRuns) {
      this.runs.set(run.taskRef, run);
      if (run.state === 'pending') this.waiting.add(run.taskRef);
    }
    for (const run of state.previousRuns ?? []) this.previousRuns.set(run.taskRef, run);
    for (const run of state.taskRuns) this.refByUuid.set(run.uuid, run.taskRef);
    collectRequestSecrets(this.payload, this.template, deps.tasks, this.redactor);
  }

  get uuid(): string {
    return this.request.uuid;
  }

  get requestUuid(): string {
    return this.request.uuid;
  }

  get traceId(): string {
    return this.request.traceId;
  }

  get requestVars(): unknown {
    return this.payload;
  }

  now(): number {
    return this.deps.clock.now();
  }

  /** Starts a new request or resumes one after a restart or takeover (§7). */
  async start(): Promise<void> {
    if (this.request.status === 'canceling') {
      this.resumeDrivers();
      await this.cancel();
      return;
    }
    // Not awaited: the status rides in the same group commit as the first tasks' `created`, which
    // each task awaits before its run() — so it is durable before anything external happens.
    if (this.request.status !== 'running') void this.setStatus('running');
    this.resumeDrivers();
    this.startReadyTasks();
    await this.finishIfDone();
  }

  /** Cancels the request (§6.4): running tasks are canceled, pending ones marked canceled. */
  async cancel(): Promise<void> {
    if (this.done) return;
    if (this.request.status !== 'canceling') {
      this.log(null, 'info', 'engine', 'cancel requested');
      await this.setStatus('canceling');
    }
    await Promise.all(
      [...this.drivers.values()].map((driver) => driver.cancel('canceled', 'the request was canceled')),
    );
    await this.finishIfDone();
  }

  private resolveLost!: (lost: 'lost') => void;
  /** Resolves (with 'lost') when this node loses the request: its pending writes will never complete. */
  readonly lost: Promise<'lost'> = new Promise((resolve) => {
    this.resolveLost = resolve;
  });

  /** Marks the request as lost to this node (another owner has it). */
  markLost(): void {
    this.resolveLost('lost');
  }

  /** A cancel another node stored for this request: take its record (status and version), then cancel. */
  async acceptCancel(stored: RequestRecord): Promise<void> {
    if (this.done) return;
    this.request.version = stored.version;
    this.request.status = 'canceling';
    this.request.updatedAt = stored.updatedAt;
    this.revision.status = 'canceling';
    await this.cancel();
  }

  /** Stops following the request without changing it (SIGTERM or a lost lease). */
  stop(): void {
    this.stopped = true;
    for (const driver of this.drivers.values()) driver.stop();
  }

  saveTaskRun(record: TaskRunRecord): Promise<void> {
    this.touch();
    if (record.error !== null) record.error = this.redactor.text(record.error);
    return this.deps.queue.saveTaskRun(record);
  }

  /** The record as stored: every string holding a secret sealed (§9). */
  sealTaskRun(record: TaskRunRecord): TaskRunRecord {
    const box = this.deps.secrets;
    if (!box || this.redactor.empty) return record;
    const isSecret = (text: string) => this.redactor.holdsSecret(text);
    return {
      ...record,
      inputs: box.sealDeep(record.inputs, isSecret),
      attributes: box.sealDeep(record.attributes, isSecret),
    };
  }

  /** The revision as stored: secrets in its payload sealed. */
  sealRevision(record: RevisionRecord): RevisionRecord {
    const box = this.deps.secrets;
    // Only an insert stores the payload: later saves of a revision write its status and times.
    if (!box || this.redactor.empty || record.version > 1) return record;
    return { ...record, payload: box.sealDeep(record.payload, (text) => this.redactor.holdsSecret(text)) };
  }

  log(taskUuid: string | null, level: LogLevel, source: 'engine' | 'system' | 'task', message: string): void {
    const text = this.redactor.text(message);
    const line = { requestUuid: this.uuid, taskUuid, ts: this.now(), level, source, message: text };
    this.deps.queue.appendLog(line);
    this.deps.logFiles?.write(line, taskUuid === null ? null : (this.refByUuid.get(taskUuid) ?? null));
    if (source === 'system') this.deps.logger[level]({ request: this.uuid, task: taskUuid }, text);
  }

  mayRetry(): boolean {
    return this.failure === null && this.request.status === 'running' && !this.stopped;
  }

  onEnded(driver: TaskDriver): void {
    const run = driver.record;
    const level = run.state === 'successful' ? 'info' : 'warn';
    this.log(run.uuid, level, 'engine', `task ${run.taskRef} ended ${run.state}`);
    this.settle(driver);
  }

  /** A task run is over: free its slot, note a failure, start what became ready, maybe end the request. */
  private settle(driver: TaskDriver): void {
    this.drivers.delete(driver.ref);
    this.releaseSlot(driver);
    const run = driver.record;
    const succeeded =
      run.state === 'successful' || (run.state === 'skipped' && run.lastTaskState === 'successful');
    if (!succeeded && !driver.task.optional && this.failure === null && this.request.status === 'running') {
      this.failure = `task ${run.taskRef} ended ${run.state}${run.error ? `: ${run.error}` : ''}`;
      this.log(null, 'error', 'engine', `${this.failure}; no new task starts`);
    }
    this.startReadyTasks(driver.task.dependents);
    void this.finishIfDone();
  }

  private resumeDrivers(): void {
    for (const run of this.runs.values()) {
      if (run.state === 'running' || run.state === 'waiting') this.launch(run, 'resume');
      else if (run.state === 'created') this.launch(run, 'run');
    }
  }

  /** Starts the waiting tasks among `candidates` (all by default) whose dependencies are met, unless the request is failing or canceling. */
  private startReadyTasks(candidates: readonly string[] = [...this.waiting]): void {
    if (this.failure !== null || this.request.status !== 'running' || this.stopped) return;
    for (const ref of candidates) {
      const run = this.runs.get(ref);
      const task = this.template.taskByRef.get(ref);
      if (run && task && this.waiting.has(ref) && this.isReady(task)) {
        this.waiting.delete(ref);
        this.launch(run, 'run');
      }
    }
  }

  private isReady(task: CompiledTask): boolean {
    return task.dependencies.every((ref) => {
      const dep = this.runs.get(ref);
      const depTask = this.template.taskByRef.get(ref);
      if (!dep || !depTask) return false;
      if (dep.state === 'successful') return true;
      if (dep.state === 'skipped' && dep.lastTaskState === 'successful') return true;
      return depTask.optional && isTaskEnded(dep.state);
    });
  }

  /** Takes a slot and starts (or resumes) a task run. */
  private launch(run: TaskRunRecord, mode: StartMode): void {
    const task = this.template.taskByRef.get(run.taskRef);
    const registered = task ? this.deps.tasks.find(task.className) : undefined;
    if (!task || !registered) {
      void this.failWithoutRunning(run, `task class '${task?.className ?? run.className}' is not registered`);
      return;
    }
    const driver = new TaskDriver(this, run, task, registered);
    this.drivers.set(run.taskRef, driver);
    if (this.deps.slots.tryAcquire()) {
      this.slotHolders.add(driver);
      void this.begin(driver, mode);
      return;
    }
    this.starting += 1;
    void this.deps.slots.acquire().then(() => {
      this.starting -= 1;
      this.slotHolders.add(driver);
      // Canceled while it waited for its slot: nothing to start.
      if (driver.ended) {
        this.releaseSlot(driver);
        void this.finishIfDone();
        return;
      }
      return this.begin(driver, mode);
    });
  }

  /** Gives the driver's global slot back, if it holds one. */
  private releaseSlot(driver: TaskDriver): void {
    if (this.slotHolders.delete(driver)) this.deps.slots.release();
  }

  private async begin(driver: TaskDriver, mode: StartMode): Promise<void> {
    const run = driver.record;
    if (run.state === 'pending') {
      if (this.failure !== null || this.request.status !== 'running' || this.stopped) {
        this.waiting.add(run.taskRef);
        this.drivers.delete(run.taskRef);
        this.releaseSlot(driver);
        void this.finishIfDone();
        return;
      }
      if (!(await this.prepare(driver))) return;
    }
    try {
      await driver.start(mode);
    } catch (error) {
      this.log(
        run.uuid,
        'error',
        'engine',
        `task ${run.taskRef} could not be driven: ${errorMessage(error)}`,
      );
      this.deps.logger.error({ err: error, request: this.uuid, task: run.uuid }, 'task driver failed');
    }
  }

  /** Resolves the inputs and stores the run as `created` before anything is called (§7). */
  private async prepare(driver: TaskDriver): Promise<boolean> {
    const run = driver.record;
    let inputs: Record<string, unknown>;
    try {
      inputs = resolveTaskInputs(this.template, run.taskRef, this.payload, (ref, name) =>
        this.readOutput(ref, name),
      );
    } catch (error) {
      this.drivers.delete(run.taskRef);
      this.releaseSlot(driver);
      await this.failWithoutRunning(run, errorMessage(error));
      return false;
    }
    const meta = this.deps.tasks.find(run.className)?.meta;
    for (const [name, value] of Object.entries(inputs)) {
      if (isSecretInput(meta, name)) addSecretStrings(this.redactor, value);
    }
    const previous = this.previousRuns.get(run.taskRef);
    if (previous && !driver.task.alwaysRun && succeededWith(previous, inputs)) {
      await this.skipCarriedOver(driver, inputs, previous);
      return false;
    }
    markCreated(run, inputs, this.now());
    await this.saveTaskRun(run);
    return true;
  }

  /** §6.5: a task that succeeded in the previous revision with the same inputs is skipped, its outputs kept. */
  private async skipCarriedOver(
    driver: TaskDriver,
    inputs: Record<string, unknown>,
    previous: TaskRunRecord,
  ): Promise<void> {
    const run = driver.record;
    const now = this.now();
    run.state = 'skipped';
    run.lastTaskState = 'successful';
    run.inputs = inputs;
    run.attributes = previous.attributes;
    run.startedAt = now;
    run.endedAt = now;
    run.error = null;
    this.log(
      run.uuid,
      'info',
      'engine',
      `task ${run.taskRef} skipped: it succeeded in revision ${previous.revision} with the same inputs`,
    );
    await this.saveTaskRun(run);
    this.settle(driver);
  }

  private readOutput(ref: string, name: string): { found: true; value: unknown } | { found: false } {
    const dep = this.runs.get(ref);
    const depTask = this.template.taskByRef.get(ref);
    if (dep && depTask?.optional && dep.state !== 'successful' && dep.state !== 'skipped') {
      return { found: true, value: null };
    }
    const attribute = dep?.attributes[name];
    return attribute ? { found: true, value: attribute.value } : { found: false };
  }

  private async failWithoutRunning(run: TaskRunRecord, error: string): Promise<void> {
    run.state = 'failed';
    run.error = error;
    run.startedAt ??= this.now();
    run.endedAt = this.now();
    this.log(run.uuid, 'error', 'engine', `task ${run.taskRef} failed before it ran: ${error}`);
    await this.saveTaskRun(run);
    const task = this.template.taskByRef.get(run.taskRef);
    if (!task?.optional && this.failure === null) this.failure = `task ${run.taskRef} failed: ${error}`;
    this.waiting.delete(run.taskRef);
    this.startReadyTasks(task?.dependents ?? []);
    await this.finishIfDone();
  }

  /** Ends the request once nothing runs and nothing more can start. */
  private async finishIfDone(): Promise<void> {
    if (this.done || this.stopped || this.drivers.size > 0 || this.starting > 0) return;
    const canceling = this.request.status === 'canceling';
    if (this.waiting.size > 0 && !canceling && this.failure === null) return;
    this.done = true;
    const final: RequestStatus = canceling ? 'canceled' : this.failure !== null ? 'failed' : 'successful';
    if (this.waiting.size > 0) {
      const pending = [...this.waiting].map((ref) => this.runs.get(ref)!);
      this.waiting.clear();
      await Promise.all(pending.map((run) => this.endPending(run, canceling)));
    }
    this.request.error = canceling ? 'canceled on request' : this.failure && this.redactor.text(this.failure);
    this.revision.error = this.request.error;
    const optionalFailures =
      final === 'successful'
        ? [...this.runs.values()].filter((r) => r.state !== 'successful' && r.state !== 'skipped')
        : [];
    if (optionalFailures.length > 0) {
      this.log(
        null,
        'warn',
        'engine',
        `optional tasks did not succeed: ${optionalFailures.map((r) => r.taskRef).join(', ')}`,
      );
    }
    this.log(null, final === 'successful' ? 'info' : 'warn', 'engine', `request ended ${final}`);
    // The end and the release of the lease in one commit: nothing of this request is written after it.
    await Promise.all([this.setStatus(final), this.deps.queue.releaseLease(this.uuid)]);
    this.deps.logFiles?.close(this.uuid);
    this.deps.onDone(this);
  }

  private async endPending(run: TaskRunRecord, canceling: boolean): Promise<void> {
    run.state = canceling ? 'canceled' : 'skipped';
    run.error = canceling ? 'canceled before it started' : `not run: ${this.failure ?? 'the request failed'}`;
    run.endedAt = this.now();
    await this.saveTaskRun(run);
  }

  private async setStatus(status: RequestStatus): Promise<void> {
    const now = this.now();
    this.request.status = status;
    this.revision.status = status;
    if (status === 'running') this.revision.startedAt ??= now;
    if (status === 'successful' || status === 'failed' || status === 'canceled') {
      this.request.endedAt = now;
      this.revision.endedAt = now;
    }
    this.request.updatedAt = now;
    await Promise.all([
      this.deps.queue.saveRequest(this.request),
      this.deps.queue.saveRevision(this.revision),
    ]);
  }

  /** Keeps `updatedAt` meaningful without an extra write: it rides along with the next request save. */
  private touch(): void {
    this.request.updatedAt = this.now();
  }
}

/**
 * A task run resolved and ready to run: its inputs recorded and made state attributes (over the
 * ones carried from an earlier revision), stored `created` before anything of the task is called.
 */
export function markCreated(run: TaskRunRecord, inputs: Record<string, unknown>, now: number): void {
  const attributes = { ...run.attributes };
  for (const [name, value] of Object.entries(inputs)) attributes[name] = { value, public: false };
  run.inputs = inputs;
  run.attributes = attributes;
  run.state = 'created';
  run.startedAt = now;
}

/** True when a run of an earlier revision succeeded (or was itself carried over) with these inputs. */
function succeededWith(previous: TaskRunRecord, inputs: Record<string, unknown>): boolean {
  const succeeded =
    previous.state === 'successful' ||
    (previous.state === 'skipped' && previous.lastTaskState === 'successful');
  return succeeded && canonicalJson(previous.inputs) === canonicalJson(inputs);
}
