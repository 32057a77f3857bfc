/**
 * The engine: takes validated requests, runs them, resumes unfinished ones on start (§7), fires
 * schedules, keeps its leases, and reports every committed change as an event.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { StaleWriteError, conflict, errorMessage, notFound } from '../errors.js';
import type { RequestValidation } from '../request/validate-request.js';
import { payloadHash } from '../request/validate-request.js';
import { resolveTaskInputs } from '../request/resolve-inputs.js';
import type { RequestPayload } from '../request/payload.js';
import type { CompiledTemplate } from '../template/types.js';
import {
  isRequestEnded,
  ownTraceId,
  type ChangeSet,
  type LogLine,
  type RequestRecord,
  type RequestStatus,
  type RevisionRecord,
  type Store,
  type TaskRunRecord,
} from '../store/store.js';
import type { TaskRegistry } from '../task/task-registry.js';
import { compileTemplate } from '../template/compile-template.js';
import { systemClock, type Clock } from './clock.js';
import { CreateBatcher } from './create-batcher.js';
import { uuidV7 } from './uuid-v7.js';
import { RequestRunner, markCreated, type RunnerDeps } from './request-runner.js';
import { Semaphore } from './semaphore.js';
import type { LogFiles } from './log-files.js';
import type { SecretBox } from './secret-box.js';
import { WriteQueue } from './write-queue.js';

/** A request that passed validation. */
export type ValidRequest = Extract<RequestValidation, { valid: true }>;

/** What the engine is built from. */
export interface EngineDeps {
  config: Pick<Config, 'nodeId' | 'leaseMs' | 'maxConcurrentTasks'>;
  store: Store;
  tasks: TaskRegistry;
  logger: Logger;
  clock?: Clock;
  /** Encrypts secrets at rest (§9); without it they are stored as given. */
  secrets?: SecretBox;
  /** Also writes request and task logs to files (O3_LOG_DIR). */
  logFiles?: LogFiles;
}

/** The outcome of a submit: a new request, or the existing one for a repeated ref. */
export interface SubmitResult {
  created: boolean;
  request: RequestRecord;
}

/** Events: `committed` (a ChangeSet just stored), `ended` (a request this node ran has ended, stored). */
export type EngineEvents = { committed: [Required<ChangeSet>]; ended: [RequestRecord] };

const CLAIM_BATCH = 100;
const MAX_SCHEDULE_SLEEP_MS = 30_000;
/** How soon schedules are looked at again after the store could not be read. */
const SCHEDULE_RETRY_MS = 1000;
/** How often a node looks for cancels that other nodes wrote for its requests. */
const CANCEL_WATCH_MS = 1000;

/** The workflow engine of one node. */
export class Engine {
  readonly events = new EventEmitter<EngineEvents>();
  private readonly runners = new Map<string, RequestRunner>();
  /**
   * Requests being stored (submit) or loaded (claimed), not in `runners` yet. A claim returns the
   * requests this node already owns, so without this a lease sweep that overlaps a submit, a
   * schedule firing or another sweep would start a second runner for the same request: its tasks
   * would run twice.
   */
  private readonly loading = new Set<string>();
  private readonly queue: WriteQueue;
  private readonly creates: CreateBatcher;
  /** What every runner shares. */
  private readonly runnerDeps: RunnerDeps;
  private readonly slots: Semaphore;
  private readonly clock: Clock;
  private leaseTimer: NodeJS.Timeout | null = null;
  private cancelTimer: NodeJS.Timeout | null = null;
  private scheduleTimer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly deps: EngineDeps) {
    this.clock = deps.clock ?? systemClock;
    this.slots = new Semaphore(deps.config.maxConcurrentTasks);
    this.creates = new CreateBatcher(deps.store);
    const encoder = {
      revision: (r: RevisionRecord) => this.runners.get(r.requestUuid)?.sealRevision(r) ?? r,
      taskRun: (r: TaskRunRecord) => this.runners.get(r.requestUuid)?.sealTaskRun(r) ?? r,
    };
    this.queue = new WriteQueue(
      deps.store,
      deps.config.nodeId,
      deps.logger,
      (changes) => this.events.emit('committed', changes),
      encoder,
      (uuids, error) => {
        for (const uuid of uuids) {
          const runner = this.runners.get(uuid);
          if (runner) this.abandon(runner, error);
        }
      },
    );
    this.runnerDeps = {
      queue: this.queue,
      tasks: deps.tasks,
      clock: this.clock,
      logger: deps.logger,
      slots: this.slots,
      secrets: deps.secrets,
      logFiles: deps.logFiles,
      onDone: (runner: RequestRunner) => this.onRunnerDone(runner),
    };
  }

  /** Resumes every unfinished request this node can claim, then follows leases and schedules. */
  async start(): Promise<void> {
    this.running = true;
    await this.adoptRequests();
    const renewEvery = Math.max(250, Math.floor(this.deps.config.leaseMs / 3));
    this.leaseTimer = setInterval(() => void this.maintainLeases(), renewEvery);
    this.leaseTimer.unref();
    this.cancelTimer = setInterval(() => {
      this.watchCancels().catch((error: unknown) =>
        this.deps.logger.warn({ err: errorMessage(error) }, 'watching for cancels failed; retrying'),
      );
    }, CANCEL_WATCH_MS);
    this.cancelTimer.unref();
    await this.armSchedules();
  }

  /** SIGTERM: stops starting and following tasks, stores everything, releases leases. External jobs keep running. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.cancelTimer) clearInterval(this.cancelTimer);
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
    for (const runner of this.runners.values()) runner.stop();
    await this.queue.drain();
    for (const uuid of this.runners.keys()) {
      await this.deps.store.releaseLease(this.deps.config.nodeId, uuid).catch(() => undefined);
    }
    this.runners.clear();
  }

  /** Stores a validated request (idempotent by ref) and starts it unless it is scheduled. */
  async submit(validation: ValidRequest): Promise<SubmitResult> {
    const { request, revision, taskRuns } = this.newRequestRecords(validation);
    const runner = new RequestRunner(
      { request, revision, template: validation.template, taskRuns },
      this.runnerDeps,
    );
    const submitted: LogLine = {
      requestUuid: request.uuid,
      taskUuid: null,
      ts: request.createdAt,
      level: 'info',
      source: 'engine',
      message: `request submitted (template ${request.templateRef} v${request.templateVersion}, ${request.status})`,
    };
    // Reserved while it is stored: a lease sweep whose claim returns it before this create answers
    // must not start a second runner for it.
    this.loading.add(request.uuid);
    const result = await this.creates
      .create({
        request,
        revision: runner.sealRevision(revision),
        taskRuns: taskRuns.map((run) => runner.sealTaskRun(run)),
        logs: [submitted],
      })
      .finally(() => this.loading.delete(request.uuid));
    if (result.created) this.deps.logFiles?.write(submitted, null);
    if (!result.created) {
      if (result.request.payloadHash !== request.payloadHash) {
        throw conflict(
          `the ref '${request.ref}' is already used by request ${result.request.uuid} with a different payload`,
        );
      }
      return { created: false, request: result.request };
    }
    if (request.status === 'scheduled') await this.armSchedules();
    else this.startRunner(runner);
    return { created: true, request: { ...request } };
  }

  /** Cancels a request (§6.4); a 409 when it has ended. */
  async cancel(uuid: string): Promise<RequestRecord> {
    const runner = this.runners.get(uuid);
    if (runner) {
      // A runner that loses its lease meanwhile never finishes its writes: then the store decides.
      const outcome = await Promise.race([runner.cancel().then(() => 'done' as const), runner.lost]);
      if (outcome === 'done') return { ...runner.request };
    }
    for (let attempt = 0; ; attempt++) {
      const request = await this.deps.store.getRequest(uuid);
      if (!request) throw notFound(`no request ${uuid}`);
      if (isRequestEnded(request.status)) {
        throw conflict(`request ${uuid} has already ended (${request.status})`);
      }
      if (request.status === 'canceling') return request;
      // Another node follows it (or no one yet): mark it canceling; its owner notices within a
      // second (watchCancels), and one that is not owned is adopted here and canceled at once.
      const now = this.clock.now();
      const marked: RequestRecord = {
        ...request,
        status: 'canceling',
        updatedAt: now,
        version: request.version + 1,
      };
      const message = `cancel requested through node ${this.deps.config.nodeId}`;
      try {
        await this.deps.store.commit({
          requests: [marked],
          logs: [{ requestUuid: uuid, taskUuid: null, ts: now, level: 'info', source: 'engine', message }],
        });
      } catch (error) {
        if (error instanceof StaleWriteError && attempt < 5) continue;
        throw error;
      }
      await this.adoptRequests();
      return marked;
    }
  }

  /** Carries out cancels that other nodes wrote to the store for requests this node follows. */
  private async watchCancels(): Promise<void> {
    if (this.runners.size === 0) return;
    const page = await this.deps.store.listRequests({ status: 'canceling' }, { limit: 1000 });
    for (const stored of page.items) {
      const runner = this.runners.get(stored.uuid);
      if (runner && runner.request.status !== 'canceling') void runner.acceptCancel(stored);
    }
  }

  /**
   * Adds a revision (§6.5) and runs it: `retry` with the same variables, `revise` with new ones
   * (already merged and validated by the caller). A 409 unless the request has ended.
   */
  async addRevision(
    uuid: string,
    reason: 'retry' | 'revise',
    revised?: ValidRequest,
  ): Promise<RequestRecord> {
    const request = await this.deps.store.getRequest(uuid);
    if (!request) throw notFound(`no request ${uuid}`);
    if (!isRequestEnded(request.status) || this.runners.has(uuid)) {
      throw conflict(`request ${uuid} is ${request.status}; it can be retried or revised once it has ended`);
    }
    const previous = (await this.deps.store.getRevisions(uuid)).find((r) => r.revision === request.revision);
    if (!previous) throw notFound(`request ${uuid} has no revision ${request.revision}`);
    const previousRuns = (await this.deps.store.getTaskRuns(uuid, previous.revision)).map((r) =>
      this.openTaskRun(r),
    );
    const now = this.clock.now();
    const payload = revised?.payload ?? this.open(previous.payload);
    const template = revised?.template ?? this.compile(previous.template);
    const scheduledAt = revised ? scheduledStart(revised.payload, now) : null;
    const status: RequestStatus = scheduledAt === null ? 'pending' : 'scheduled';
    const number = request.revision + 1;
    const updated: RequestRecord = {
      ...request,
      revision: number,
      status,
      scheduledAt,
      endedAt: null,
      error: null,
      updatedAt: now,
      version: request.version + 1,
    };
    const revision: RevisionRecord = {
      requestUuid: uuid,
      revision: number,
      reason,
      payload,
      template: template.document,
      status,
      createdAt: now,
      startedAt: null,
      endedAt: null,
      error: null,
      warnings: revised?.warnings ?? previous.warnings,
      version: 1,
    };
    const byRef = new Map(previousRuns.map((run) => [run.taskRef, run]));
    const taskRuns = template.tasks.map((task) => {
      const before = byRef.get(task.refName);
      return newTaskRun(uuid, number, task.refName, task.className, now, before);
    });
    const message = `revision ${number} added (${reason}) after revision ${previous.revision} ended ${previous.status}`;
    const logs = [
      {
        requestUuid: uuid,
        taskUuid: null,
        ts: now,
        level: 'info' as const,
        source: 'engine' as const,
        message,
      },
    ];
    // No owner fencing: an ended request has no owner; the compare-and-set on the request's version
    // makes two concurrent retries add one revision, not two.
    const sealer = new RequestRunner({ request: updated, revision, template, taskRuns }, this.runnerDeps);
    const stored = {
      requests: [updated],
      revisions: [sealer.sealRevision(revision)],
      taskRuns: taskRuns.map((r) => sealer.sealTaskRun(r)),
      logs,
    };
    await this.deps.store.commit(stored);
    if (status === 'scheduled') await this.armSchedules();
    else await this.adoptRequests();
    return updated;
  }

  /** True while this node follows the request. */
  isFollowing(uuid: string): boolean {
    return this.runners.has(uuid);
  }

  private newRequestRecords(validation: ValidRequest) {
    const now = this.clock.now();
    const { payload, template, warnings } = validation;
    const meta = payload.workflow.meta;
    const scheduledAt = scheduledStart(payload, now);
    // A request that starts now is stored `running` with its root tasks `created` (their inputs
    // need no upstream output): the engine takes them up the moment this one commit is durable.
    const startsNow = scheduledAt === null;
    const status: RequestStatus = startsNow ? 'running' : 'scheduled';
    const uuid = uuidV7(now);
    const request: RequestRecord = {
      uuid,
      ref: meta.ref,
      // Time-ordered like the uuid, so a trace index grows at its end.
      traceId: meta.trace_id || ownTraceId(uuid),
      name: meta.name ?? null,
      description: meta.description ?? null,
      templateRef: template.refName,
      templateVersion: template.version,
      payloadHash: payloadHash(payload),
      status,
      revision: 1,
      scheduledAt,
      createdAt: now,
      updatedAt: now,
      endedAt: null,
      error: null,
      owner: startsNow ? this.deps.config.nodeId : null,
      leaseExpiresAt: startsNow ? now + this.deps.config.leaseMs : null,
      version: 1,
    };
    const revision: RevisionRecord = {
      requestUuid: request.uuid,
      revision: 1,
      reason: 'submit',
      payload,
      template: template.document,
      status,
      createdAt: now,
      startedAt: startsNow ? now : null,
      endedAt: null,
      error: null,
      warnings,
      version: 1,
    };
    const taskRuns = template.tasks.map((task) => {
      const run = newTaskRun(request.uuid, 1, task.refName, task.className, now, undefined);
      if (startsNow && task.dependencies.length === 0) prepareRoot(run, template, payload, now);
      return run;
    });
    return { request, revision, taskRuns };
  }

  private startRunner(runner: RequestRunner): void {
    this.runners.set(runner.uuid, runner);
    runner.start().catch((error: unknown) => this.abandon(runner, error));
  }

  /** The runner's last write (its final status and lease release) is durable when this is called. */
  private onRunnerDone(runner: RequestRunner): void {
    this.runners.delete(runner.uuid);
    this.events.emit('ended', { ...runner.request });
  }

  /** Drops a request this node can no longer write (lost lease, stale write): another owner has it. */
  private abandon(runner: RequestRunner, error: unknown): void {
    runner.stop();
    runner.markLost();
    if (this.runners.get(runner.uuid) === runner) this.runners.delete(runner.uuid);
    this.deps.logger.warn(
      { request: runner.uuid, err: errorMessage(error) },
      'request abandoned by this node',
    );
  }

  /** Opens the sealed secrets of a stored value (the runner works with plain values in memory only). */
  private open<T>(value: T): T {
    return this.deps.secrets ? this.deps.secrets.openDeep(value) : value;
  }

  private openTaskRun(record: TaskRunRecord): TaskRunRecord {
    return { ...record, inputs: this.open(record.inputs), attributes: this.open(record.attributes) };
  }

  private compile(document: unknown) {
    return compileTemplate(document, { lookupClass: this.deps.tasks.lookupMeta });
  }

  private async loadRunner(request: RequestRecord): Promise<RequestRunner> {
    const revisions = await this.deps.store.getRevisions(request.uuid);
    const revision = revisions.find((r) => r.revision === request.revision);
    if (!revision) throw new Error(`request ${request.uuid} has no revision ${request.revision}`);
    // The instance that had a run `created`, `running` or `waiting` is gone: the next one sees that
    // state as its lastTaskState (§7: a `created` run calls run() again with lastTaskState `created`).
    const taskRuns = (await this.deps.store.getTaskRuns(request.uuid, request.revision)).map((r) => {
      const run = this.openTaskRun(r);
      if (run.state === 'created' || run.state === 'running' || run.state === 'waiting')
        run.lastTaskState = run.state;
      return run;
    });
    const previousRuns =
      request.revision > 1
        ? (await this.deps.store.getTaskRuns(request.uuid, request.revision - 1)).map((r) =>
            this.openTaskRun(r),
          )
        : [];
    revision.payload = this.open(revision.payload);
    const template = compileTemplate(revision.template, {
      lookupClass: this.deps.tasks.lookupMeta,
    });
    return new RequestRunner({ request, revision, template, taskRuns, previousRuns }, this.runnerDeps);
  }

  /** Claims unfinished requests (all of them on start; orphans of dead nodes later) and resumes them. */
  private async adoptRequests(): Promise<void> {
    // A claim also returns (and renews) the requests this node already follows, so ask for all of
    // them plus a batch more: a node busy with many requests still adopts a dead node's orphans.
    for (;;) {
      const limit = this.runners.size + this.loading.size + CLAIM_BATCH;
      const claimed = await this.deps.store.claimRequests(
        this.deps.config.nodeId,
        this.clock.now(),
        this.deps.config.leaseMs,
        limit,
      );
      const fresh = this.reserve(claimed);
      for (const request of fresh) await this.resume(request, `resumed by node ${this.deps.config.nodeId}`);
      if (claimed.length < limit || fresh.length === 0) return;
    }
  }

  /** The claimed requests this node neither follows nor is loading yet, marked as loading (synchronously, right after the claim). */
  private reserve(claimed: RequestRecord[]): RequestRecord[] {
    const fresh = claimed.filter((r) => !this.runners.has(r.uuid) && !this.loading.has(r.uuid));
    for (const request of fresh) this.loading.add(request.uuid);
    return fresh;
  }

  /** Loads and starts a request reserved by `reserve`. */
  private async resume(request: RequestRecord, why: string): Promise<void> {
    try {
      const runner = await this.loadRunner(request);
      runner.log(null, 'info', 'engine', why);
      this.startRunner(runner);
    } catch (error) {
      this.deps.logger.error({ err: error, request: request.uuid }, 'request could not be resumed');
    } finally {
      this.loading.delete(request.uuid);
    }
  }

  private async maintainLeases(): Promise<void> {
    if (!this.running) return;
    try {
      const uuids = [...this.runners.keys()];
      if (uuids.length > 0) {
        const held = new Set(
          await this.deps.store.renewLeases(
            this.deps.config.nodeId,
            uuids,
            this.clock.now(),
            this.deps.config.leaseMs,
          ),
        );
        for (const uuid of uuids) {
          const runner = this.runners.get(uuid);
          if (runner && !held.has(uuid)) this.abandon(runner, new Error('lease lost'));
        }
      }
      await this.adoptRequests();
    } catch (error) {
      this.deps.logger.warn({ err: errorMessage(error) }, 'lease maintenance failed; retrying');
    }
  }

  /** Sleeps until the next due schedule (at most 30 s, for schedules other nodes add), then starts what is due. */
  private async armSchedules(): Promise<void> {
    if (!this.running) return;
    let delay: number;
    try {
      const next = await this.deps.store.nextScheduledAt();
      delay =
        next === null
          ? MAX_SCHEDULE_SLEEP_MS
          : Math.min(Math.max(0, next - this.clock.now()), MAX_SCHEDULE_SLEEP_MS);
    } catch (error) {
      // The store is unreachable: the timer must be armed anyway, or no schedule would ever fire
      // on this node again (a schedule due during an outage would wait forever).
      this.deps.logger.warn({ err: errorMessage(error) }, 'reading the next schedule failed; retrying');
      delay = SCHEDULE_RETRY_MS;
    }
    // Cleared after the read, not before: two calls at once then leave one timer, not two.
    if (!this.running) return;
    if (this.scheduleTimer) clearTimeout(this.scheduleTimer);
    this.scheduleTimer = setTimeout(() => void this.fireSchedules(), delay);
    this.scheduleTimer.unref();
  }

  private async fireSchedules(): Promise<void> {
    try {
      const due = await this.deps.store.claimDueSchedules(
        this.deps.config.nodeId,
        this.clock.now(),
        this.deps.config.leaseMs,
        CLAIM_BATCH,
      );
      for (const request of this.reserve(due)) {
        await this.resume(request, `schedule due: started by node ${this.deps.config.nodeId}`);
      }
    } catch (error) {
      this.deps.logger.warn({ err: errorMessage(error) }, 'firing schedules failed; retrying');
    }
    await this.armSchedules();
  }
}

/** A pending task run; in a new revision it keeps the previous run's state attributes and state (§6.5). */
function newTaskRun(
  requestUuid: string,
  revision: number,
  taskRef: string,
  className: string,
  now: number,
  previous: TaskRunRecord | undefined,
): TaskRunRecord {
  return {
    uuid: uuidV7(now),
    requestUuid,
    revision,
    taskRef,
    className,
    state: 'pending',
    lastTaskState: previous?.state ?? 'never',
    attempt: 1,
    inputs: null,
    attributes: previous?.attributes ?? {},
    error: null,
    createdAt: now,
    startedAt: null,
    endedAt: null,
    version: 1,
  };
}

/**
 * A root task of a request that starts now: its inputs resolved and the run stored `created`
 * with the request. One whose inputs do not resolve stays pending; the runner fails it with the reason.
 */
function prepareRoot(
  run: TaskRunRecord,
  template: CompiledTemplate,
  payload: RequestPayload,
  now: number,
): void {
  let inputs: Record<string, unknown>;
  try {
    inputs = resolveTaskInputs(template, run.taskRef, payload, () => ({ found: false }));
  } catch {
    return;
  }
  markCreated(run, inputs, now);
}

/** When a request starts: null for now (or a start already due), else the schedule's time. */
function scheduledStart(payload: ValidRequest['payload'], now: number): number | null {
  const schedule = payload.workflow.schedule;
  if (!schedule || schedule.when !== 'at' || !schedule.start) return null;
  const at = Date.parse(schedule.start);
  return at > now ? at : null;
}
