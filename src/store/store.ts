/**
 * The store: everything O3 keeps, behind one semantic interface with three implementations
 * (SQLite, PostgreSQL, Redis) proved by one contract suite (test/contract/store-contract.ts).
 *
 * Words: a *request* is one submission of a template with the caller's variables; each run of it
 * is a *revision*; each task of a revision is a *task run* with its *state attributes*; a node
 * owns a request's execution through a *lease* it renews, so that another node can adopt the
 * request when the owner dies. Records carry a version: a save of version v succeeds only over a
 * stored v - 1 (compare-and-set), so a stale writer can never overwrite a newer write.
 */
import type {
  LogLine,
  RequestRecord,
  RequestStatus,
  RevisionRecord,
  SaveTemplateResult,
  StoredLogLine,
  TaskRunRecord,
  TemplateRecord,
} from './records.js';

export * from './records.js';

/** A record to save, written as `record.version` over a stored `record.version - 1` (1 inserts). */
export interface ChangeSet {
  requests?: RequestRecord[];
  revisions?: RevisionRecord[];
  taskRuns?: TaskRunRecord[];
  logs?: LogLine[];
  /**
   * Requests whose lease the committing node gives up in the same transaction (their last write:
   * they ended). Applied after the fencing check; a request another node owns is left alone.
   */
  releases?: string[];
}

/** A new request with everything it is stored with. */
export interface NewRequest {
  request: RequestRecord;
  revision: RevisionRecord;
  taskRuns: TaskRunRecord[];
  logs?: LogLine[];
}

/** Options of a commit. */
export interface CommitOptions {
  /**
   * Fencing: when set, every request touched by the change set must be owned by this node,
   * else the whole commit is refused with StaleWriteError.
   */
  owner?: string;
}

/** The outcome of an idempotent create. */
export type CreateRequestResult =
  { created: true; request: RequestRecord } | { created: false; request: RequestRecord };

/** Filters of the request list; every field is optional and they combine with AND. */
export interface RequestFilter {
  status?: RequestStatus;
  template?: string;
  ref?: string;
  traceId?: string;
}

/** One page of a list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Which log lines to read: after `afterSeq` (exclusive), at most `limit`, optionally of one task run. */
export interface LogQuery {
  taskUuid?: string;
  afterSeq?: number;
  limit?: number;
}

/** The store interface every backend implements. */
export interface Store {
  /** A short name of the backend, e.g. `sqlite`. */
  readonly kind: string;
  /**
   * How many writes (commits, or creates) of disjoint requests pay to be in flight at once: the
   * engine splits a turn's batch into that many, by request. 1 where a transaction blocks the
   * process or costs the server per transaction; more where the next can be encoded while the
   * server runs the one before.
   */
  readonly concurrentWrites: number;
  /**
   * The most requests one write (a commit, or a create call) should carry; a larger batch is split
   * into parts of at most this many, sent together. Infinity where one transaction per batch is
   * cheapest; finite where a long transaction stalls the server for everyone (a Redis script runs
   * alone) and costs it more per request than several short ones.
   */
  readonly maxRequestsPerWrite: number;

  /** Creates tables or applies migrations; called once before use. */
  init(): Promise<void>;
  /** Throws StoreUnavailableError when the store cannot be reached (readiness). */
  ping(): Promise<void>;
  /**
   * What in the server's own settings lets a crash lose writes this store acknowledged (§7), one
   * sentence each; empty when nothing such is seen or the server will not tell. Logged at startup.
   */
  durabilityWarnings(): Promise<string[]>;
  close(): Promise<void>;

  /**
   * Stores a new request with its first revision and task runs in one transaction, unless a request
   * with the same `ref` exists: then nothing is written and the existing request is returned.
   * The request's `owner` and `leaseExpiresAt` are stored as given (the submitting node may own it).
   */
  createRequest(
    request: RequestRecord,
    revision: RevisionRecord,
    taskRuns: TaskRunRecord[],
    logs?: LogLine[],
  ): Promise<CreateRequestResult>;

  /**
   * createRequest for many requests at once (one transaction where the backend has them): each is
   * created, or answered with the existing request of its ref, exactly as createRequest would;
   * the results are in the order of `items`. A ref repeated inside `items` creates one request.
   */
  createRequests(items: NewRequest[]): Promise<CreateRequestResult[]>;

  /**
   * Saves every record of the change set in one transaction with compare-and-set on each, and
   * appends its log lines. Throws StaleWriteError (and writes nothing) when any version is stale.
   * A request save never changes `owner` or `leaseExpiresAt`: only the lease operations do, and they
   * leave `version` alone, so renewing a lease never makes the owner's own next save stale. A
   * revision's `reason`, `payload`, `template` and `warnings` are fixed when it is inserted; its
   * later saves change only status, times and error.
   */
  commit(changes: ChangeSet, options?: CommitOptions): Promise<void>;

  getRequest(uuid: string): Promise<RequestRecord | undefined>;
  getRequestByRef(ref: string): Promise<RequestRecord | undefined>;
  /** Newest first; the cursor is opaque. */
  listRequests(
    filter: RequestFilter,
    page: { limit: number; cursor?: string | null },
  ): Promise<Page<RequestRecord>>;

  /** All revisions of a request, oldest first. */
  getRevisions(requestUuid: string): Promise<RevisionRecord[]>;
  /** The task runs of one revision, in creation order. */
  getTaskRuns(requestUuid: string, revision: number): Promise<TaskRunRecord[]>;

  /** Log lines of a request in the order they were appended. */
  readLogs(requestUuid: string, query?: LogQuery): Promise<StoredLogLine[]>;

  /**
   * Takes ownership of up to `limit` unfinished requests (pending, running, canceling) that have no
   * owner, an expired lease, or are already this node's; returns them with the new lease.
   */
  claimRequests(owner: string, now: number, leaseMs: number, limit: number): Promise<RequestRecord[]>;
  /**
   * Moves due scheduled requests (scheduledAt <= now, status scheduled) to pending under this node's
   * lease, each exactly once across all nodes; returns them.
   */
  claimDueSchedules(owner: string, now: number, leaseMs: number, limit: number): Promise<RequestRecord[]>;
  /** Extends this node's leases; returns the uuids it still holds (the others were taken over). */
  renewLeases(owner: string, uuids: string[], now: number, leaseMs: number): Promise<string[]>;
  /** Gives up ownership (the request ended, or the node stops). */
  releaseLease(owner: string, uuid: string): Promise<void>;
  /** The earliest `scheduledAt` of a scheduled request, or null when none is scheduled. */
  nextScheduledAt(): Promise<number | null>;

  /**
   * Stores a template registered over the API, idempotently by (refName, version): when that pair
   * is stored already, nothing is written and the stored record is returned, whatever its document
   * (the caller tells a repeat from a conflict). Concurrent saves of one pair store exactly one.
   */
  saveTemplate(record: TemplateRecord): Promise<SaveTemplateResult>;
  /** Every stored template, sorted by refName, then version (compareTemplateRecords). */
  listTemplates(): Promise<TemplateRecord[]>;
}
