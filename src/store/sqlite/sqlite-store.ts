/**
 * The embedded store: one SQLite file (WAL) through better-sqlite3. Every write is one IMMEDIATE
 * transaction, which takes the write lock up front: a deferred transaction that reads and then
 * writes can fail with SQLITE_BUSY_SNAPSHOT when another connection wrote in between, whereas an
 * immediate one simply waits (busy_timeout) for its turn.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { O3Error, StaleWriteError, StoreUnavailableError, errorMessage } from '../../errors.js';
import type {
  ChangeSet,
  CommitOptions,
  CreateRequestResult,
  LogLine,
  LogQuery,
  NewRequest,
  Page,
  RequestFilter,
  RequestRecord,
  RevisionRecord,
  SaveTemplateResult,
  Store,
  StoredLogLine,
  TaskRunRecord,
  TemplateRecord,
} from '../store.js';
import { compareTemplateRecords } from '../store.js';
import { BackgroundCheckpointer } from './checkpointer.js';
import { MIGRATIONS } from './migrations.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import {
  linesOfChunks,
  logChunks,
  requestInsertParams,
  requestSaveParams,
  requestUpdateParams,
  revisionInsertParams,
  revisionUpdateParams,
  taskRunInsertParams,
  taskRunUpdateParams,
  templateInsertParams,
  toRevision,
  toTaskRun,
  toTemplate,
} from './rows.js';
import { filterValues, listStatement, prepareStatements, type Statements } from './statements.js';

/** How long a statement waits for another connection's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/** Options of the SQLite store. */
export interface SqliteStoreOptions {
  /**
   * Checkpoint the WAL on a second connection in a worker thread (BackgroundCheckpointer); true by
   * default. Off, the writer alone checkpoints, every 10,000 frames, as SQLite does by itself.
   */
  backgroundCheckpoints?: boolean;
}

/** Creates the SQLite store for a file path (its folder is created) or `:memory:`; call init() next. */
export function createSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  return new SqliteStore(path, options.backgroundCheckpoints ?? true);
}

/** The store over one better-sqlite3 connection; see the module comment. */
class SqliteStore implements Store {
  readonly kind = 'sqlite';
  // better-sqlite3 blocks the thread for a transaction: nothing to overlap.
  readonly concurrentWrites = 1;
  // No other client waits behind a transaction of this process, and each commit costs its own.
  readonly maxRequestsPerWrite = Infinity;
  readonly #path: string;
  #db: Database.Database | undefined;
  #st: Statements | undefined;
  readonly #lists = new Map<string, Database.Statement<unknown[], RequestRecord>>();
  #commitTx: ((changes: ChangeSet, owner: string | undefined) => void) | undefined;
  #createTx: ((items: NewRequest[]) => CreateRequestResult[]) | undefined;
  #checkpointer: BackgroundCheckpointer | undefined;

  readonly #backgroundCheckpoints: boolean;

  constructor(path: string, backgroundCheckpoints: boolean) {
    this.#path = path;
    this.#backgroundCheckpoints = backgroundCheckpoints;
  }

  async init(): Promise<void> {
    if (this.#db?.open === true) return;
    const db = this.#guard(() => openDatabase(this.#path));
    try {
      this.#guard(() => migrate(db, this.#path));
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    this.#lists.clear(); // statements of a previous (closed) connection cannot be reused
    this.#st = prepareStatements(db);
    const commitTx = db.transaction((changes: ChangeSet, owner: string | undefined) =>
      this.#applyChanges(changes, owner),
    );
    this.#commitTx = (changes, owner) => commitTx.immediate(changes, owner);
    const createTx = db.transaction((items: NewRequest[]) => {
      const results = items.map((item) => this.#insertRequest(item.request, item.revision, item.taskRuns));
      // The lines of the requests created here (not of those whose ref was taken), in one go.
      const lines: LogLine[] = [];
      items.forEach((item, i) => {
        if (results[i]!.created && item.logs !== undefined) lines.push(...item.logs);
      });
      this.#insertLogs(lines);
      return results;
    });
    this.#createTx = (items) => createTx.immediate(items);
    // A file of its own (not :memory:, nor a URI the worker could read otherwise) has a WAL to copy.
    const ownFile = this.#path !== ':memory:' && !this.#path.startsWith('file:');
    if (this.#backgroundCheckpoints && ownFile) this.#checkpointer = new BackgroundCheckpointer(this.#path);
  }

  async ping(): Promise<void> {
    this.#run((st) => st.ping.get());
  }

  // WAL with synchronous = NORMAL is the store's own choice: a crash of O3 loses nothing (§7).
  async durabilityWarnings(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {
    await this.#checkpointer?.close();
    if (this.#db?.open === true) this.#db.close();
  }

  async createRequest(
    request: RequestRecord,
    revision: RevisionRecord,
    taskRuns: TaskRunRecord[],
    logs?: LogLine[],
  ): Promise<CreateRequestResult> {
    const items = [{ request, revision, taskRuns, logs }];
    const [result] = this.#run(() => this.#createTx!(items));
    this.#checkpointer?.afterWrite(newRecordsOf(items));
    return result!;
  }

  async createRequests(items: NewRequest[]): Promise<CreateRequestResult[]> {
    if (items.length === 0) return [];
    const results = this.#run(() => this.#createTx!(items));
    this.#checkpointer?.afterWrite(newRecordsOf(items));
    return results;
  }

  async commit(changes: ChangeSet, options?: CommitOptions): Promise<void> {
    this.#run(() => this.#commitTx!(changes, options?.owner));
    this.#checkpointer?.afterWrite(recordsOf(changes));
  }

  async getRequest(uuid: string): Promise<RequestRecord | undefined> {
    return this.#run((st) => st.getRequest.get(uuid));
  }

  async getRequestByRef(ref: string): Promise<RequestRecord | undefined> {
    return this.#run((st) => st.getRequestByRef.get(ref));
  }

  async listRequests(
    filter: RequestFilter,
    page: { limit: number; cursor?: string | null },
  ): Promise<Page<RequestRecord>> {
    if (!Number.isInteger(page.limit) || page.limit < 1) {
      throw new O3Error('bad_request', `The page limit must be a positive integer, not ${page.limit}.`);
    }
    // An empty cursor (e.g. `?cursor=`) means the first page, like none at all.
    const after = page.cursor ? decodeCursor(page.cursor) : undefined;
    return this.#run(() => {
      const { key, values } = filterValues(filter);
      const stmt = listStatement(this.#db!, this.#lists, key, after !== undefined);
      // One row more than asked tells whether a next page exists without a second query.
      const rows = stmt.all(...values, ...(after ?? []), page.limit + 1);
      const items = rows.slice(0, page.limit);
      const last = items[items.length - 1];
      const nextCursor = rows.length > page.limit && last ? encodeCursor(last.createdAt, last.uuid) : null;
      return { items, nextCursor };
    });
  }

  async getRevisions(requestUuid: string): Promise<RevisionRecord[]> {
    return this.#run((st) => st.getRevisions.all(requestUuid).map(toRevision));
  }

  async getTaskRuns(requestUuid: string, revision: number): Promise<TaskRunRecord[]> {
    return this.#run((st) => st.getTaskRuns.all(requestUuid, revision).map(toTaskRun));
  }

  async readLogs(requestUuid: string, query: LogQuery = {}): Promise<StoredLogLine[]> {
    const afterSeq = query.afterSeq ?? 0;
    return this.#run((st) => {
      const chunks =
        query.taskUuid === undefined
          ? st.readLogChunks.iterate(requestUuid, afterSeq)
          : st.readTaskLogChunks.iterate(requestUuid, query.taskUuid, afterSeq);
      return linesOfChunks(requestUuid, chunks, afterSeq, query.limit ?? Infinity, query.taskUuid);
    });
  }

  async claimRequests(owner: string, now: number, leaseMs: number, limit: number): Promise<RequestRecord[]> {
    if (limit < 1) return [];
    const params = { owner, now, until: now + leaseMs, limit };
    const rows = this.#run((st) => this.#immediate(() => st.claimRequests.all(params)));
    return rows.sort(byCreation);
  }

  async claimDueSchedules(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<RequestRecord[]> {
    if (limit < 1) return [];
    const params = { owner, now, until: now + leaseMs, limit };
    const rows = this.#run((st) => this.#immediate(() => st.claimDueSchedules.all(params)));
    return rows.sort((a, b) => (a.scheduledAt ?? 0) - (b.scheduledAt ?? 0) || byCreation(a, b));
  }

  async renewLeases(owner: string, uuids: string[], now: number, leaseMs: number): Promise<string[]> {
    const until = now + leaseMs;
    return this.#run((st) =>
      this.#immediate(() => uuids.filter((uuid) => st.renewLease.run(until, uuid, owner).changes === 1)),
    );
  }

  async releaseLease(owner: string, uuid: string): Promise<void> {
    this.#run((st) => st.releaseLease.run(uuid, owner));
  }

  async nextScheduledAt(): Promise<number | null> {
    return this.#run((st) => st.nextScheduledAt.get() ?? null);
  }

  async saveTemplate(record: TemplateRecord): Promise<SaveTemplateResult> {
    return this.#run((st) => {
      if (st.insertTemplate.run(...templateInsertParams(record)).changes === 1) return { saved: true };
      // Templates are never deleted, so the row that refused the insert is there to read.
      const existing = st.getTemplate.get(record.refName, record.version);
      if (existing === undefined) throw new Error(`template ${record.refName} vanished while being read`);
      return { saved: false, existing: toTemplate(existing) };
    });
  }

  async listTemplates(): Promise<TemplateRecord[]> {
    return this.#run((st) => st.listTemplates.all().map(toTemplate).sort(compareTemplateRecords));
  }

  /** Runs `fn` as one IMMEDIATE transaction (see the module comment). */
  #immediate<T>(fn: () => T): T {
    return this.#db!.transaction(fn).immediate();
  }

  /** The body of createRequest, inside its transaction. */
  #insertRequest(
    request: RequestRecord,
    revision: RevisionRecord,
    taskRuns: TaskRunRecord[],
  ): CreateRequestResult {
    const st = this.#st!;
    if (st.insertRequest.run(...requestInsertParams(request)).changes === 0) {
      const existing = st.getRequestByRef.get(request.ref);
      if (existing !== undefined) return { created: false, request: existing };
      throw new StaleWriteError(`A request with uuid ${request.uuid} already exists under another ref.`);
    }
    this.#saveRevision(revision);
    for (const taskRun of taskRuns) this.#saveTaskRun(taskRun);
    return { created: true, request: { ...request } };
  }

  /** Appends log lines as chunks (rows.ts), numbered on from the last seq stored. */
  #insertLogs(lines: readonly LogLine[]): void {
    if (lines.length === 0) return;
    const st = this.#st!;
    let seq = st.lastLogSeq.get() ?? 0;
    for (const chunk of logChunks(lines)) {
      seq += chunk.lines.length;
      st.insertLogChunk.run(seq, chunk.requestUuid, chunk.taskUuid, JSON.stringify(chunk.lines));
    }
  }

  /** The body of commit, inside its transaction: every write must land, else the whole set rolls back. */
  #applyChanges(changes: ChangeSet, owner: string | undefined): void {
    const releases = new Set(owner === undefined ? [] : (changes.releases ?? []));
    // Requests whose own fenced update proved the owner (and gave the lease up when asked).
    const fenced = new Set<string>();
    for (const request of changes.requests ?? []) {
      if (owner === undefined || request.version === 1) {
        this.#saveRequest(request);
        continue;
      }
      this.#saveOwnedRequest(request, owner, releases.delete(request.uuid));
      fenced.add(request.uuid);
    }
    for (const revision of changes.revisions ?? []) this.#saveRevision(revision);
    for (const taskRun of changes.taskRuns ?? []) this.#saveTaskRun(taskRun);
    this.#insertLogs(changes.logs ?? []);
    // Checked after the writes, inside the same transaction: request saves never move the owner, so
    // this sees the owner as it was, and a request inserted by this very change set is covered too.
    if (owner !== undefined) this.#assertOwner(changes, owner, fenced);
    for (const uuid of releases) this.#st!.releaseLease.run(uuid, owner);
  }

  /** A request save fenced by its owner in the same statement; StaleWriteError says which check failed. */
  #saveOwnedRequest(r: RequestRecord, owner: string, release: boolean): void {
    const st = this.#st!;
    const save = release ? st.saveOwnedRequestReleasing : st.saveOwnedRequest;
    if (save.run(...requestSaveParams(r), owner).changes === 1) return;
    const update = release ? st.updateOwnedRequestReleasing : st.updateOwnedRequest;
    if (update.run(...requestUpdateParams(r), owner).changes === 1) return;
    const stored = st.requestVersion.get(r.uuid);
    if (stored !== r.version - 1) throw staleWrite(`request ${r.uuid}`, r.version, stored);
    throw lostLease(r.uuid, st.requestOwner.get(r.uuid), owner);
  }

  /** Inserts (version 1) or compare-and-sets a request; StaleWriteError when nothing was written. */
  #saveRequest(r: RequestRecord): void {
    const st = this.#st!;
    const written =
      r.version === 1
        ? st.insertRequest.run(...requestInsertParams(r)).changes === 1
        : st.saveRequest.run(...requestSaveParams(r)).changes === 1 ||
          st.updateRequest.run(...requestUpdateParams(r)).changes === 1;
    if (!written) throw staleWrite(`request ${r.uuid}`, r.version, st.requestVersion.get(r.uuid));
  }

  /** Inserts (version 1) or compare-and-sets a revision; StaleWriteError when nothing was written. */
  #saveRevision(r: RevisionRecord): void {
    const st = this.#st!;
    const { changes } =
      r.version === 1
        ? st.insertRevision.run(...revisionInsertParams(r))
        : st.updateRevision.run(...revisionUpdateParams(r));
    if (changes === 0) {
      const stored = st.revisionVersion.get(r.requestUuid, r.revision);
      throw staleWrite(`revision ${r.revision} of request ${r.requestUuid}`, r.version, stored);
    }
  }

  /** Inserts (version 1) or compare-and-sets a task run; StaleWriteError when nothing was written. */
  #saveTaskRun(t: TaskRunRecord): void {
    const st = this.#st!;
    const { changes } =
      t.version === 1
        ? st.insertTaskRun.run(...taskRunInsertParams(t))
        : st.updateTaskRun.run(...taskRunUpdateParams(t));
    if (changes === 0) throw staleWrite(`task run ${t.uuid}`, t.version, st.taskRunVersion.get(t.uuid));
  }

  /** Fencing: every request the change set touches must be owned by `owner`. */
  #assertOwner(changes: ChangeSet, owner: string, fenced: ReadonlySet<string>): void {
    const touched = new Set<string>();
    for (const r of changes.requests ?? []) touched.add(r.uuid);
    for (const r of changes.revisions ?? []) touched.add(r.requestUuid);
    for (const t of changes.taskRuns ?? []) touched.add(t.requestUuid);
    for (const l of changes.logs ?? []) touched.add(l.requestUuid);
    for (const uuid of touched) {
      if (fenced.has(uuid)) continue;
      const current = this.#st!.requestOwner.get(uuid);
      if (current !== owner) throw lostLease(uuid, current, owner);
    }
  }

  /** Runs `fn` on the open connection, mapping "the database cannot be used" to StoreUnavailableError. */
  #run<T>(fn: (st: Statements) => T): T {
    const st = this.#st;
    if (st === undefined || this.#db?.open !== true) {
      throw new StoreUnavailableError(
        `The SQLite store ${this.#path} is not open (init() not called, or closed).`,
      );
    }
    return this.#guard(() => fn(st));
  }

  /** Calls `fn`, translating SQLite errors that mean the database is unusable. */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw toStoreError(error, this.#path, this.#db);
    }
  }
}

/** The records and log lines a change set writes: roughly what a checkpoint will copy. */
function recordsOf({ requests, revisions, taskRuns, logs }: ChangeSet): number {
  return (requests?.length ?? 0) + (revisions?.length ?? 0) + (taskRuns?.length ?? 0) + (logs?.length ?? 0);
}

/** The same for new requests: each with its revision, task runs and log lines. */
function newRecordsOf(items: readonly NewRequest[]): number {
  return items.reduce((sum, item) => sum + 2 + item.taskRuns.length + (item.logs?.length ?? 0), 0);
}

/** The error of a fencing check: the request is gone, or another node (or none) owns it. */
function lostLease(uuid: string, current: string | null | undefined, owner: string): StaleWriteError {
  if (current === undefined) return new StaleWriteError(`Request ${uuid} does not exist.`);
  const held = current === null ? 'no node' : `node ${current}`;
  return new StaleWriteError(`Request ${uuid} is owned by ${held}, not by ${owner}; the lease was lost.`);
}

/** The error of a compare-and-set that wrote nothing; the stored version (if any) says why. */
function staleWrite(name: string, version: number, stored: number | undefined): StaleWriteError {
  const found = stored === undefined ? 'none is stored' : `version ${stored} is stored`;
  return new StaleWriteError(
    `Stale write of ${name}: version ${version} needs version ${version - 1}, but ${found}.`,
  );
}

/** Oldest first, by creation time then uuid, as the claim statements pick them. */
function byCreation(a: RequestRecord, b: RequestRecord): number {
  return a.createdAt - b.createdAt || (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0);
}

// SQLite result codes (primary, so extended codes such as SQLITE_IOERR_WRITE match by prefix) that
// mean the database cannot be used right now, as opposed to a bug in a statement.
const UNAVAILABLE_CODES = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_READONLY',
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_PROTOCOL',
  'SQLITE_NOMEM',
];

/** StoreUnavailableError for errors that mean "cannot use the database"; anything else unchanged. */
function toStoreError(error: unknown, path: string, db: Database.Database | undefined): unknown {
  if (error instanceof O3Error) return error;
  const code = error instanceof Database.SqliteError ? error.code : undefined;
  const unusable =
    (code !== undefined && UNAVAILABLE_CODES.some((c) => code.startsWith(c))) ||
    (db !== undefined && !db.open) ||
    isFsError(error);
  if (!unusable) return error;
  return new StoreUnavailableError(`The SQLite store ${path} cannot be used: ${errorMessage(error)}`, error);
}

/** True for a Node file-system error (e.g. creating the database folder failed). */
function isFsError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/** Opens the connection with the pragmas the store relies on. */
function openDatabase(path: string): Database.Database {
  if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode cannot corrupt the file; a power cut may lose the last commits, a process
    // crash (the case §7 is about) loses nothing.
    db.pragma('synchronous = NORMAL');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('foreign_keys = ON');
    // Checkpoint every ~40 MB of WAL instead of ~4 MB: the hot pages (index tails, running task
    // runs) are copied to the database once per checkpoint, however often they changed.
    db.pragma('wal_autocheckpoint = 10000');
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Applies the migrations the file has not seen yet, in one IMMEDIATE transaction that also reads the
 * version: two processes opening a new file at once then migrate it once, not twice.
 */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new StoreUnavailableError(
        `The SQLite store ${path} has schema version ${current}, newer than this O3 knows (${MIGRATIONS.length}); upgrade O3.`,
      );
    }
    for (const sql of MIGRATIONS.slice(current)) db.exec(sql);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
