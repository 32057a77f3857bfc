/**
 * Group commit: every record the engine changes in one event-loop turn is written in one store
 * transaction (or, where the store overlaps them or bounds their size, in Store.concurrentWrites or
 * more transactions of disjoint requests in flight together). Records are tracked by identity and
 * written with version + 1 at flush time, so a record changed twice in a turn costs one write.
 * Flushes run one at a time; a store that cannot be reached is retried with backoff (the waiting
 * transitions simply wait); a stale write gives up only the request it touched (see LostListener).
 */
import type { Logger } from 'pino';
import { StaleWriteError, StoreUnavailableError, errorMessage } from '../errors.js';
import type {
  ChangeSet,
  LogLine,
  RequestRecord,
  RevisionRecord,
  Store,
  TaskRunRecord,
} from '../store/store.js';

/** What every save of one request in one batch waits for: that batch's commit. */
interface Waiter {
  promise: Promise<void>;
  resolve: () => void;
}

interface Batch {
  requests: Map<string, RequestRecord>;
  revisions: Map<string, RevisionRecord>;
  taskRuns: Map<string, TaskRunRecord>;
  logs: LogLine[];
  releases: string[];
  /** By request uuid: the saves of one request in one batch share one promise. */
  waiters: Map<string, Waiter>;
}

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5000;
const MIN_SPLIT_RUN = 8;

/** Called after each successful commit with what it wrote. */
export type CommitListener = (changes: Required<ChangeSet>) => void;

/** Turns records into what is stored (e.g. secrets sealed); identity by default. */
export interface RecordEncoder {
  revision(record: RevisionRecord): RevisionRecord;
  taskRun(record: TaskRunRecord): TaskRunRecord;
}

const IDENTITY: RecordEncoder = { revision: (r) => r, taskRun: (r) => r };

/**
 * Called when writes of requests can never be made (a stale write: another node owns them now).
 * Their waiters are left pending rather than rejected: the runner is dropped, and no code path of
 * it may go on as if its write had failed and crash the node with an unhandled rejection.
 */
export type LostListener = (requestUuids: Set<string>, error: unknown) => void;

/** Batches the engine's writes into one transaction per event-loop turn. */
export class WriteQueue {
  private batch = emptyBatch();
  private flushScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly owner: string,
    private readonly logger: Logger,
    private readonly onCommitted: CommitListener = () => {},
    private readonly encoder: RecordEncoder = IDENTITY,
    private readonly onLost: LostListener = () => {},
  ) {}

  /** Saves a request record (as it is at flush time); resolves once it is durable. */
  saveRequest(record: RequestRecord): Promise<void> {
    this.batch.requests.set(record.uuid, record);
    return this.wait(record.uuid);
  }

  /** Saves a revision record; resolves once it is durable. */
  saveRevision(record: RevisionRecord): Promise<void> {
    this.batch.revisions.set(`${record.requestUuid}/${record.revision}`, record);
    return this.wait(record.requestUuid);
  }

  /** Saves a task run record; resolves once it is durable. */
  saveTaskRun(record: TaskRunRecord): Promise<void> {
    this.batch.taskRuns.set(record.uuid, record);
    return this.wait(record.requestUuid);
  }

  /** Gives up this node's lease of an ended request, in the same commit as its last writes. */
  releaseLease(requestUuid: string): Promise<void> {
    this.batch.releases.push(requestUuid);
    return this.wait(requestUuid);
  }

  /** Appends a log line with the next flush; nobody waits for it. */
  appendLog(line: LogLine): void {
    this.batch.logs.push(line);
    this.scheduleFlush();
  }

  /** Resolves when everything queued so far is written (or has failed). */
  async drain(): Promise<void> {
    this.scheduleFlush();
    while (this.flushScheduled || this.hasPending()) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.flushing;
    }
    await this.flushing;
  }

  /** Stops retrying: a batch the store cannot take is then given up (see LostListener). */
  close(): void {
    this.closed = true;
  }

  private wait(requestUuid: string): Promise<void> {
    this.scheduleFlush();
    const waiters = this.batch.waiters;
    let waiter = waiters.get(requestUuid);
    if (waiter === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      waiter = { promise, resolve };
      waiters.set(requestUuid, waiter);
    }
    return waiter.promise;
  }

  private hasPending(): boolean {
    const b = this.batch;
    const records = b.requests.size + b.revisions.size + b.taskRuns.size;
    return records + b.logs.length + b.releases.length + b.waiters.size > 0;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushing = this.flushing.then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.flushScheduled = false;
    if (!this.hasPending()) return;
    const batch = this.batch;
    this.batch = emptyBatch();
    // Parts hold disjoint requests, so each request's writes stay in one commit, and the next flush
    // waits for every part: a request's commits land in order. A store that takes one at a time
    // is not asked which requests the batch touches.
    const parts = splitsWrites(this.store) ? splitForStore([...requestsOf(batch)], this.store) : [];
    if (parts.length < 2) await this.commitWithRetry(batch);
    else await Promise.all(parts.map((uuids) => this.commitWithRetry(partOf(batch, new Set(uuids)))));
  }

  private async commitWithRetry(batch: Batch, interrupted = false): Promise<void> {
    for (let delay = RETRY_MIN_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        // Log lines have no version to be found stale: after a dropped connection, look first.
        if (interrupted && holdsLogsOnly(batch) && (await this.landed(batch))) {
          this.acknowledge(batch);
          return;
        }
        await this.commitBatch(batch);
        return;
      } catch (error) {
        if (error instanceof StoreUnavailableError && !this.closed) {
          this.logger.warn(
            { err: errorMessage(error), retryInMs: delay },
            'store unavailable, retrying the commit',
          );
          interrupted = true;
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        // The connection may have dropped after the store applied the commit: then the retry
        // finds its own write, not someone else's. Look before calling it stale.
        if (error instanceof StaleWriteError && interrupted && (await this.landed(batch))) {
          this.acknowledge(batch);
          return;
        }
        if (error instanceof StaleWriteError && requestsOf(batch).size > 1) {
          await this.commitEachRequest(batch, interrupted);
          return;
        }
        if (!(error instanceof StaleWriteError)) this.logger.error({ err: error }, 'commit failed');
        this.onLost(requestsOf(batch), error);
        return;
      }
    }
  }

  /** After a stale write, commits each request's part alone so that only the stale one fails. */
  private async commitEachRequest(batch: Batch, interrupted: boolean): Promise<void> {
    for (const uuid of requestsOf(batch)) {
      await this.commitWithRetry(partOf(batch, new Set([uuid])), interrupted);
    }
  }

  /**
   * True when the batch is stored already: every record at exactly the version this batch writes,
   * or, for a batch of log lines alone, each request's log ending with the batch's lines of it (only
   * this node appends to the logs of the requests it owns, one batch at a time, so a batch that
   * landed is the last thing in them). A commit is all or nothing, so one kind tells for all.
   */
  private async landed(batch: Batch): Promise<boolean> {
    // A store still away throws here, and the caller's loop looks again once it is back.
    if (holdsLogsOnly(batch)) return this.logsAreTail(batch.logs);
    if (batch.requests.size + batch.revisions.size + batch.taskRuns.size === 0) return false;
    try {
      for (const r of batch.requests.values()) {
        if ((await this.store.getRequest(r.uuid))?.version !== r.version + 1) return false;
      }
      for (const r of batch.revisions.values()) {
        const stored = (await this.store.getRevisions(r.requestUuid)).find((x) => x.revision === r.revision);
        if (stored?.version !== r.version + 1) return false;
      }
      for (const r of batch.taskRuns.values()) {
        const stored = (await this.store.getTaskRuns(r.requestUuid, r.revision)).find(
          (x) => x.uuid === r.uuid,
        );
        if (stored?.version !== r.version + 1) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  /** True when each request's stored log ends with these lines of it. */
  private async logsAreTail(logs: LogLine[]): Promise<boolean> {
    const linesOf = new Map<string, LogLine[]>();
    for (const line of logs) {
      const lines = linesOf.get(line.requestUuid) ?? [];
      lines.push(line);
      linesOf.set(line.requestUuid, lines);
    }
    for (const [uuid, lines] of linesOf) {
      const tail = (await this.store.readLogs(uuid)).slice(-lines.length);
      if (tail.length < lines.length || !tail.every((stored, i) => sameLine(stored, lines[i]!))) return false;
    }
    return true;
  }

  /** Marks a batch as written: versions advance and its waiters go on. */
  private acknowledge(batch: Batch): void {
    for (const r of batch.requests.values()) r.version += 1;
    for (const r of batch.revisions.values()) r.version += 1;
    for (const r of batch.taskRuns.values()) r.version += 1;
    for (const waiter of batch.waiters.values()) waiter.resolve();
  }

  private async commitBatch(batch: Batch): Promise<void> {
    const requests = [...batch.requests.values()].map((r) => ({ ...r, version: r.version + 1 }));
    const revisions = [...batch.revisions.values()].map((r) => ({ ...r, version: r.version + 1 }));
    const taskRuns = [...batch.taskRuns.values()].map((r) => ({ ...r, version: r.version + 1 }));
    const stored = {
      requests,
      revisions: revisions.map((r) => this.encoder.revision(r)),
      taskRuns: taskRuns.map((r) => this.encoder.taskRun(r)),
      logs: batch.logs,
      releases: batch.releases,
    };
    await this.store.commit(stored, { owner: this.owner });
    this.acknowledge(batch);
    this.onCommitted(stored);
  }
}

function emptyBatch(): Batch {
  return {
    requests: new Map(),
    revisions: new Map(),
    taskRuns: new Map(),
    logs: [],
    releases: [],
    waiters: new Map(),
  };
}

function holdsLogsOnly(batch: Batch): boolean {
  const records = batch.requests.size + batch.revisions.size + batch.taskRuns.size;
  return records === 0 && batch.logs.length > 0;
}

// A store may store a NUL of a message as U+FFFD (PostgreSQL text cannot hold it).
const storedText = (text: string) => text.replaceAll('\u0000', '\uFFFD');

function sameLine(stored: LogLine, line: LogLine): boolean {
  return (
    stored.ts === line.ts &&
    stored.taskUuid === line.taskUuid &&
    stored.level === line.level &&
    stored.source === line.source &&
    storedText(stored.message) === storedText(line.message)
  );
}

function requestsOf(batch: Batch): Set<string> {
  const uuids = new Set<string>(batch.requests.keys());
  for (const r of batch.revisions.values()) uuids.add(r.requestUuid);
  for (const r of batch.taskRuns.values()) uuids.add(r.requestUuid);
  for (const line of batch.logs) uuids.add(line.requestUuid);
  for (const uuid of batch.releases) uuids.add(uuid);
  return uuids;
}

function partOf(batch: Batch, uuids: Set<string>): Batch {
  const keep = <T extends { requestUuid: string }>(map: Map<string, T>) =>
    new Map([...map].filter(([, r]) => uuids.has(r.requestUuid)));
  return {
    requests: new Map([...batch.requests].filter(([key]) => uuids.has(key))),
    revisions: keep(batch.revisions),
    taskRuns: keep(batch.taskRuns),
    logs: batch.logs.filter((line) => uuids.has(line.requestUuid)),
    releases: batch.releases.filter((released) => uuids.has(released)),
    waiters: new Map([...batch.waiters].filter(([key]) => uuids.has(key))),
  };
}

/** True when the store takes a batch in more than one write (Store.concurrentWrites, maxRequestsPerWrite). */
function splitsWrites(store: Store): boolean {
  return store.concurrentWrites > 1 || store.maxRequestsPerWrite < Infinity;
}

/** A batch's requests (or items, one per request) in the parts the store takes them in. */
export function splitForStore<T>(items: T[], store: Store): T[][] {
  return splitEvenly(items, store.concurrentWrites, store.maxRequestsPerWrite);
}

/**
 * `items` in consecutive runs of equal size: up to `parts` of them, and as many more as keep each
 * run at most `maxRun` long. Below 8 items a run, `parts` does not split (a split would cost more
 * transactions than it overlaps).
 */
export function splitEvenly<T>(items: T[], parts: number, maxRun = Infinity): T[][] {
  const count = Math.max(
    Math.min(parts, Math.floor(items.length / MIN_SPLIT_RUN)),
    Math.ceil(items.length / maxRun),
  );
  if (count < 2) return [items];
  const size = Math.ceil(items.length / count);
  const runs: T[][] = [];
  for (let i = 0; i < items.length; i += size) runs.push(items.slice(i, i + size));
  return runs;
}
