/**
 * The Redis store (the article's choice): one ioredis connection, every key under a prefix, and
 * every operation that must be atomic as one Lua script (scripts.ts), run by EVALSHA. A commit of a
 * hundred task runs is one script call, as is a commit of one. Single instance only: the scripts
 * build their key names from the prefix, which Redis Cluster does not allow.
 *
 * While Redis is down, calls fail fast with StoreUnavailableError (a call waits for at most one
 * reconnection attempt) and ioredis keeps reconnecting by itself; the engine retries.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { O3Error, StoreUnavailableError } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
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
import {
  addLogs,
  addRequest,
  addRevision,
  addTaskRun,
  memberOf,
  pairs,
  toLogLine,
  toRequest,
  toRevisions,
  toTaskRuns,
} from './record-codec.js';
import { toStoreError } from './redis-errors.js';
import { ScriptArgs } from './script-args.js';
import { SCRIPTS, type ScriptName } from './scripts.js';

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** The prefix of every key (default `o3:`); else `?prefix=` of the URL. */
  prefix?: string;
}

/** Creates the Redis store for a `redis://` (or `rediss://`) URL; call init() next. */
export function createRedisStore(url: string, options: RedisStoreOptions = {}): Store {
  return new RedisStore(url, options);
}

/**
 * The version of the key layout (scripts.ts); a newer one in Redis means a newer O3 wrote it.
 * Layout 2 dropped two indexes that cost a third of a request's writes: the set of unfinished
 * requests (claims walk the status indexes) and each request's set of revision numbers (the
 * request's hash counts them). It reads layout 1's revisions as they are; upgrading only removes
 * the unfinished set. Nodes of layout 1 refuse to start on layout 2: upgrade them together.
 * Layout 3 stores less of each record (record-codec.ts): a request's JSON leaves out what its hash
 * fields hold, a task run's fixed part is its createdAt, and a log line is a JSON array. Layout 2's
 * records read as they are, so upgrading writes nothing but the version.
 * Layout 4 leaves out of the trace index a request whose trace id is its own uuid (what the
 * engine makes when none is given; scripts.ts), keeps a task run's first run of log lines in its
 * hash when the run's save wrote it, not in a sorted set of its own, and lists the task runs
 * created with a request in its revision's hash, not in a list: three keys fewer per request. The
 * list of all requests merges the status indexes, so upgrading drops the index of all requests;
 * layout 3's records and other indexes read as they are. A node of layout 3 would not list such
 * requests by trace nor find those lines, so it refuses layout 4.
 */
const LAYOUT_VERSION = 4;
const CONNECT_TIMEOUT_MS = 5000;
const SHAS = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, lua]) => [name, createHash('sha1').update(lua).digest('hex')]),
) as Record<ScriptName, string>;

/** The store over one connection; see the module comment. */
class RedisStore implements Store {
  readonly kind = 'redis';
  // Scripts run one after another anyway: the O3 process encodes the second half of a turn while
  // Redis runs the first (W1 +9 %, median of 5 paired runs).
  readonly concurrentWrites = 2;
  // A commit script of hundreds of requests ran up to 58 ms, every other client waiting, and cost
  // Redis a tenth more per request than parts of 128 (W1 in bulk, docs/performance.md).
  readonly maxRequestsPerWrite = 128;
  readonly #url: string;
  readonly #prefix: string;
  #redis: Redis | undefined;
  #closed = false;

  constructor(url: string, options: RedisStoreOptions) {
    const parsed = parseUrl(url, options.prefix);
    this.#url = parsed.url;
    this.#prefix = parsed.prefix;
  }

  async init(): Promise<void> {
    if (this.#redis !== undefined) return;
    const redis = new Redis(this.#url, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // A call made while disconnected waits in the offline queue for the next reconnection
      // attempt and fails with the one after, so brief blips are invisible and outages fail fast.
      enableOfflineQueue: true,
      maxRetriesPerRequest: 1,
      // A command already sent when the connection dropped may have run: sending it again would
      // turn an applied commit into a StaleWriteError (or append its log lines twice). It fails as
      // unavailable instead, and the caller decides whether to retry.
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times: number) => Math.min(times * 100, 2000),
      connectionName: 'o3',
    });
    // Connection errors are reported here while ioredis reconnects by itself; the calls caught in
    // them fail with StoreUnavailableError. Without a listener ioredis would print every one.
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await this.#checkLayout(redis);
      for (const lua of Object.values(SCRIPTS)) await redis.script('LOAD', lua);
    } catch (error) {
      redis.disconnect();
      throw toStoreError(error);
    }
    this.#redis = redis;
    this.#closed = false;
  }

  async ping(): Promise<void> {
    await this.#call((redis) => redis.ping());
  }

  async durabilityWarnings(): Promise<string[]> {
    let settings: Record<string, string>;
    try {
      settings = pairs(
        (await this.#call((redis) => redis.config('GET', 'appendonly', 'appendfsync'))) as string[],
      );
    } catch (error) {
      // A managed Redis may refuse CONFIG: then it cannot be told.
      if (error instanceof StoreUnavailableError) throw error;
      return [];
    }
    if (settings.appendonly === 'no') {
      return [
        'Redis keeps its data in memory only (appendonly no): a restart of Redis loses every request and what O3 knew of the jobs it launched. Set appendonly yes.',
      ];
    }
    if (settings.appendfsync === 'no') {
      return [
        'Redis writes its append-only file without fsync (appendfsync no): a crash of its machine can lose the last 30 seconds of commits. Use appendfsync everysec or always.',
      ];
    }
    return [];
  }

  async close(): Promise<void> {
    const redis = this.#redis;
    this.#closed = true;
    this.#redis = undefined;
    if (redis !== undefined) await redis.quit().catch(() => redis.disconnect());
  }

  async createRequest(
    request: RequestRecord,
    revision: RevisionRecord,
    taskRuns: TaskRunRecord[],
    logs?: LogLine[],
  ): Promise<CreateRequestResult> {
    const [result] = await this.createRequests([{ request, revision, taskRuns, logs }]);
    return result!;
  }

  async createRequests(items: NewRequest[]): Promise<CreateRequestResult[]> {
    if (items.length === 0) return [];
    const args = this.#args();
    args.addCounted(items, (out, item) => {
      addRequest(out, item.request);
      addRevision(out, item.revision);
      out.addCounted(item.taskRuns, addTaskRun);
      addLogs(out, item.logs ?? []);
    });
    const replies = (await this.#run('createRequests', args)) as [number, string[]?][];
    return items.map((item, i) => {
      const [created, hash] = replies[i] ?? [];
      if (created === 1) return { created: true, request: { ...item.request } };
      const existing = toRequest(hash ?? []);
      if (existing === undefined)
        throw new Error(`the request holding ref ${item.request.ref} cannot be read`);
      return { created: false, request: existing };
    });
  }

  async commit(changes: ChangeSet, options?: CommitOptions): Promise<void> {
    const { requests = [], revisions = [], taskRuns = [], logs = [] } = changes;
    const owner = options?.owner ?? '';
    // Releases apply to fenced commits only: without an owner there is no lease to give up.
    const releases = owner === '' ? [] : (changes.releases ?? []);
    const writes = requests.length + revisions.length + taskRuns.length + logs.length + releases.length;
    if (writes === 0) return;
    const args = this.#args();
    args.add(owner);
    args.addCounted(owner === '' ? [] : touchedRequests(changes), addString);
    args.addCounted(requests, addRequest);
    args.addCounted(revisions, addRevision);
    args.addCounted(taskRuns, addTaskRun);
    addLogs(args, logs);
    args.addCounted(releases, addString);
    await this.#run('commit', args);
  }

  async getRequest(uuid: string): Promise<RequestRecord | undefined> {
    return toRequest(await this.#call((redis) => redis.hgetall(this.#key('req:', uuid))));
  }

  async getRequestByRef(ref: string): Promise<RequestRecord | undefined> {
    return toRequest((await this.#script('getRequestByRef', [ref])) as string[]);
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
    if (filter.ref !== undefined) return this.#listByRef(filter, after);
    const filters: [string, string][] = [];
    if (filter.status !== undefined) filters.push(['s', filter.status]);
    if (filter.template !== undefined) filters.push(['t', filter.template]);
    if (filter.traceId !== undefined) filters.push(['tr', filter.traceId]);
    // One item more than asked tells whether a next page exists.
    const rows = (await this.#script('listRequests', [
      String(filters.length),
      ...filters.flat(),
      after === undefined ? '' : memberOf(...after),
      String(page.limit + 1),
    ])) as string[][];
    const items = rows.slice(0, page.limit).map((row) => toRequest(row)!);
    const last = items[items.length - 1];
    const nextCursor = rows.length > page.limit && last ? encodeCursor(last.createdAt, last.uuid) : null;
    return { items, nextCursor };
  }

  async getRevisions(requestUuid: string): Promise<RevisionRecord[]> {
    return toRevisions((await this.#script('getRevisions', [requestUuid])) as string[]);
  }

  async getTaskRuns(requestUuid: string, revision: number): Promise<TaskRunRecord[]> {
    const flat = (await this.#script('getTaskRuns', [requestUuid, String(revision)])) as string[];
    return toTaskRuns(requestUuid, revision, flat);
  }

  async readLogs(requestUuid: string, query: LogQuery = {}): Promise<StoredLogLine[]> {
    const after = Math.max(0, Math.floor(query.afterSeq ?? 0));
    // As in SQL, no limit (or a negative one) means every line.
    const limit = query.limit === undefined || query.limit < 0 ? -1 : Math.floor(query.limit);
    if (limit === 0) return [];
    if (query.taskUuid === undefined) {
      const end = limit < 0 ? -1 : after + limit - 1;
      const lines = await this.#call((redis) => redis.lrange(this.#key('log:', requestUuid), after, end));
      return lines.map((json, i) => toLogLine(requestUuid, after + i + 1, json));
    }
    const args = [requestUuid, query.taskUuid, String(after), String(limit)];
    const flat = (await this.#script('readTaskLogs', args)) as string[];
    const lines: StoredLogLine[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      lines.push(toLogLine(requestUuid, Number(flat[i]), flat[i + 1]!));
    }
    return lines;
  }

  async claimRequests(owner: string, now: number, leaseMs: number, limit: number): Promise<RequestRecord[]> {
    if (limit < 1) return [];
    const args = [owner, String(now), String(now + leaseMs), String(limit)];
    return this.#requests(await this.#script('claimRequests', args));
  }

  async claimDueSchedules(
    owner: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<RequestRecord[]> {
    if (limit < 1) return [];
    const args = [owner, String(now), String(now + leaseMs), String(limit)];
    return this.#requests(await this.#script('claimDueSchedules', args));
  }

  async renewLeases(owner: string, uuids: string[], now: number, leaseMs: number): Promise<string[]> {
    if (uuids.length === 0) return [];
    return (await this.#script('renewLeases', [owner, String(now + leaseMs), ...uuids])) as string[];
  }

  async releaseLease(owner: string, uuid: string): Promise<void> {
    await this.#script('releaseLease', [owner, uuid]);
  }

  async nextScheduledAt(): Promise<number | null> {
    const [, score] = await this.#call((redis) => redis.zrange(this.#key('due'), 0, 0, 'WITHSCORES'));
    return score === undefined ? null : Number(score);
  }

  async saveTemplate(record: TemplateRecord): Promise<SaveTemplateResult> {
    const { refName, version, document, createdAt } = record;
    const field = JSON.stringify([refName, version]);
    const value = JSON.stringify({ refName, version, document: document ?? null, createdAt });
    const key = this.#key('templates');
    const set = await this.#call((redis) => redis.hsetnx(key, field, value));
    if (set === 1) return { saved: true };
    // Template fields are never changed or deleted, so the one that refused HSETNX is there to read.
    const existing = await this.#call((redis) => redis.hget(key, field));
    if (existing === null) throw new Error(`template ${refName} vanished while being read`);
    return { saved: false, existing: JSON.parse(existing) as TemplateRecord };
  }

  async listTemplates(): Promise<TemplateRecord[]> {
    const values = await this.#call((redis) => redis.hvals(this.#key('templates')));
    return values.map((json) => JSON.parse(json) as TemplateRecord).sort(compareTemplateRecords);
  }

  /** Requests from the flat hashes a script returned. */
  #requests(reply: unknown): RequestRecord[] {
    return (reply as string[][]).map((row) => toRequest(row)!);
  }

  /** A request of the ref filter, kept when it passes the other filters and lies after the cursor. */
  async #listByRef(filter: RequestFilter, after: [number, string] | undefined): Promise<Page<RequestRecord>> {
    const r = await this.getRequestByRef(filter.ref!);
    const keep =
      r !== undefined &&
      (filter.status === undefined || r.status === filter.status) &&
      (filter.template === undefined || r.templateRef === filter.template) &&
      (filter.traceId === undefined || r.traceId === filter.traceId) &&
      (after === undefined || r.createdAt < after[0] || (r.createdAt === after[0] && r.uuid < after[1]));
    return { items: keep ? [r] : [], nextCursor: null };
  }

  /** Runs a script with the arguments given. */
  async #script(name: ScriptName, values: string[]): Promise<unknown> {
    const args = this.#args();
    for (const value of values) args.add(value);
    return this.#run(name, args);
  }

  /** A script's arguments, the first of which is always the prefix (every script's ARGV[1]). */
  #args(): ScriptArgs {
    const args = new ScriptArgs();
    args.add(this.#prefix);
    return args;
  }

  /** Runs a script by its hash, loading it again when Redis lost it (a restart, SCRIPT FLUSH). */
  async #run(name: ScriptName, args: ScriptArgs): Promise<unknown> {
    return this.#call(async (redis) => {
      try {
        return await redis.sendCommand(args.command('evalsha', SHAS[name]));
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
        return redis.sendCommand(args.command('eval', SCRIPTS[name]));
      }
    });
  }

  /** Calls Redis on the open connection, translating errors (redis-errors.ts). */
  async #call<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = this.#redis;
    if (redis === undefined) {
      const why = this.#closed ? 'closed' : 'not initialised (init() not called)';
      throw new StoreUnavailableError(`The Redis store (prefix ${this.#prefix}) is ${why}.`);
    }
    try {
      return await fn(redis);
    } catch (error) {
      throw toStoreError(error);
    }
  }

  /** Refuses a key layout written by a newer O3, upgrades an older one, records it in a new prefix. */
  async #checkLayout(redis: Redis): Promise<void> {
    const key = this.#key('schema');
    await redis.setnx(key, String(LAYOUT_VERSION));
    const stored = Number(await redis.get(key));
    if (stored > LAYOUT_VERSION) {
      throw new StoreUnavailableError(
        `The Redis keys under ${this.#prefix} have layout version ${stored}, newer than this O3 knows (${LAYOUT_VERSION}); upgrade O3.`,
      );
    }
    if (stored < LAYOUT_VERSION) {
      // Indexes later layouts do without (UNLINK: a large one is freed in the background).
      await redis
        .multi()
        .unlink(this.#key('unfinished'), this.#key('idx:all'))
        .set(key, String(LAYOUT_VERSION))
        .exec();
    }
  }

  #key(...parts: string[]): string {
    return this.#prefix + parts.join('');
  }
}

/** The URL ioredis gets (without O3's own `?prefix=`), and the prefix. */
function parseUrl(url: string, prefixOption: string | undefined): { url: string; prefix: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new O3Error('bad_request', `The Redis URL "${url}" cannot be read.`, { cause: error });
  }
  const prefix = prefixOption ?? parsed.searchParams.get('prefix') ?? 'o3:';
  parsed.searchParams.delete('prefix');
  return { url: parsed.toString(), prefix };
}

/** Adds one string argument (for ScriptArgs.addCounted). */
function addString(out: ScriptArgs, value: string): void {
  out.add(value);
}

/** The uuids of every request a change set touches, for fencing. */
function touchedRequests(changes: ChangeSet): string[] {
  const touched = new Set<string>();
  for (const r of changes.requests ?? []) touched.add(r.uuid);
  for (const r of changes.revisions ?? []) touched.add(r.requestUuid);
  for (const t of changes.taskRuns ?? []) touched.add(t.requestUuid);
  for (const l of changes.logs ?? []) touched.add(l.requestUuid);
  return [...touched];
}
