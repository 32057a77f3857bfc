/** Builds an engine on a fresh store for a benchmark, with the built-in noop task and in-memory templates. */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { dropStore, freshStoreUrl as sharedStoreUrl } from '../test/helpers/shared-stores.js';
import { INSTALL_DIR } from '../src/config/config.js';
import { Engine } from '../src/engine/engine.js';
import { SecretBox } from '../src/engine/secret-box.js';
import { validateRequest } from '../src/request/validate-request.js';
import { createStore } from '../src/store/create-store.js';
import type { Store } from '../src/store/store.js';
import { loadTasks } from '../src/task/load-tasks.js';
import { compileTemplate } from '../src/template/compile-template.js';
import { TemplateRegistry } from '../src/template/template-registry.js';
import type { TemplateDocument } from '../src/template/types.js';

/** The store URL of a fresh, empty store of the given kind (remove it with dropBenchStore). */
export function freshStoreUrl(kind: string): string {
  if (kind === 'sqlite') return `sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'o3-bench-')), 'o3.db')}`;
  if (kind === 'postgres' || kind === 'redis') return sharedStoreUrl(kind, 'bench');
  throw new Error(`unknown store kind ${kind} (sqlite, postgres or redis)`);
}

/**
 * Removes a store made by freshStoreUrl: its SQLite file's folder, its schema or its keys. Any other
 * store is left as it is: a benchmark run on a store of one's own (a file in /tmp, a schema in use)
 * must not delete its folder or its data.
 */
export async function dropBenchStore(storeUrl: string): Promise<void> {
  if (storeUrl.startsWith('sqlite:')) {
    const folder = path.dirname(storeUrl.slice('sqlite:'.length));
    const madeHere = path.dirname(folder) === tmpdir() && path.basename(folder).startsWith('o3-bench-');
    if (madeHere) rmSync(folder, { recursive: true, force: true });
    return;
  }
  const url = new URL(storeUrl);
  const name = url.searchParams.get('schema') ?? url.searchParams.get('prefix') ?? '';
  if (name.startsWith('bench_')) await dropStore(storeUrl);
}

/** A template of noop tasks with delay 0; `deps[i]` lists the tasks task i depends on. */
export function noopTemplate(
  refName: string,
  count: number,
  deps: (i: number) => number[],
): TemplateDocument {
  return {
    name: refName,
    ref_name: refName,
    schema_version: 1,
    tasks: Array.from({ length: count }, (_, i) => ({
      name: `t${i}`,
      ref_name: `t${i}`,
      class: 'noop',
      input: { runtime_delay: 0 },
      depends_on: deps(i).map((d) => `t${d}`),
    })),
  };
}

/**
 * An engine on a fresh store, ready to take requests of the given templates. `wrapStore` lets a
 * test watch the engine's store calls.
 */
export async function benchEngine(
  storeUrl: string,
  templates: TemplateDocument[],
  maxConcurrentTasks: number,
  wrapStore: (store: Store) => Store = (store) => store,
) {
  const store = wrapStore(await createStore(storeUrl));
  const { registry: tasks } = await loadTasks([path.join(INSTALL_DIR, 'tasks')]);
  const registry = new TemplateRegistry();
  for (const doc of templates) registry.add(compileTemplate(doc, { lookupClass: tasks.lookupMeta }));
  const logger = pino({ level: 'silent' });
  const config = { nodeId: `bench-${randomUUID()}`, leaseMs: 60_000, maxConcurrentTasks };
  const engine = new Engine({ config, store, tasks, logger, secrets: new SecretBox(randomBytes(32)) });
  await engine.start();
  /** Submits one request of `template` through the engine's own path (validate, then submit). */
  const submit = async (template: string) => {
    const body = { workflow: { meta: { ref: randomUUID(), template } }, schema_version: 2 };
    const validation = validateRequest(body, {
      templates: registry,
      lookupClass: tasks.lookupMeta,
      now: Date.now(),
    });
    if (!validation.valid) throw new Error(JSON.stringify(validation.errors));
    return engine.submit(validation);
  };
  const close = async () => {
    await engine.stop();
    await store.close();
    await dropBenchStore(storeUrl);
  };
  return { engine, store, submit, close, registry, tasks };
}

/** Resolves when `count` requests have ended; rejects on one that did not succeed. */
export function whenEnded(engine: Engine, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let ended = 0;
    engine.events.on('ended', (request) => {
      if (request.status !== 'successful')
        reject(new Error(`request ${request.uuid} ended ${request.status}`));
      ended += 1;
      if (ended === count) resolve();
    });
  });
}

/** Runs `fn` for items with at most `limit` in flight. */
export async function inParallel<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Commits per second of one task-run update each: the store's raw commit cost. */
export async function rawCommitRate(store: Store, count: number): Promise<number> {
  const now = Date.now();
  const uuid = randomUUID();
  const request = {
    uuid,
    ref: uuid,
    traceId: uuid,
    name: null,
    description: null,
    templateRef: 'raw',
    templateVersion: 1,
    payloadHash: 'x',
    status: 'running' as const,
    revision: 1,
    scheduledAt: null,
    createdAt: now,
    updatedAt: now,
    endedAt: null,
    error: null,
    owner: 'raw',
    leaseExpiresAt: now + 600_000,
    version: 1,
  };
  const revision = {
    requestUuid: uuid,
    revision: 1,
    reason: 'submit' as const,
    payload: {},
    template: {},
    status: 'running' as const,
    createdAt: now,
    startedAt: now,
    endedAt: null,
    error: null,
    warnings: [],
    version: 1,
  };
  const run = {
    uuid: randomUUID(),
    requestUuid: uuid,
    revision: 1,
    taskRef: 't',
    className: 'noop',
    state: 'running' as const,
    lastTaskState: 'never' as const,
    attempt: 1,
    inputs: {},
    attributes: {},
    error: null,
    createdAt: now,
    startedAt: now,
    endedAt: null,
    version: 1,
  };
  await store.createRequest(request, revision, [run]);
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    run.version += 1;
    await store.commit(
      { taskRuns: [{ ...run, attributes: { n: { value: i, public: false } } }] },
      { owner: 'raw' },
    );
  }
  return count / ((performance.now() - started) / 1000);
}
