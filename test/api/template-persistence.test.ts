/**
 * Templates registered over the API are kept in the store: a restart on the same SQLite file still
 * has them, a node sharing PostgreSQL with the one that registered them finds them, and the lookup
 * into the store that a miss prompts is rate-limited.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import type { TaskClassMeta } from '../../src/task/meta.js';
import { compileTemplate } from '../../src/template/compile-template.js';
import {
  findTemplate,
  loadStoredTemplates,
  type TemplateSyncDeps,
} from '../../src/template/stored-templates.js';
import { TemplateRegistry } from '../../src/template/template-registry.js';
import { ROOT } from '../helpers/examples.js';
import { startTestServer, waitForEnd, type TestServer } from '../helpers/test-server.js';

const PG_URL = process.env.O3_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const root = path.join(tmpdir(), `o3-template-persistence-${process.pid}-${randomUUID().slice(0, 8)}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A template of one noop task; `delay` tells two documents of one ref_name and version apart. */
function document(ref = 'persisted_template', version = 1, delay = 0) {
  return {
    name: 'Persisted',
    ref_name: ref,
    schema_version: version,
    tasks: [{ name: 'Only', ref_name: 'only', class: 'noop', input: { runtime_delay: delay } }],
  };
}

/** A `sqlite:` store URL of a new file. */
function freshSqlite(): string {
  return `sqlite:${path.join(root, randomUUID(), 'o3.db')}`;
}

async function register(server: TestServer, doc: unknown) {
  return server.app.inject({ method: 'POST', url: '/api/v1/templates', payload: doc as object });
}

async function submit(server: TestServer, template: string) {
  const payload = { workflow: { meta: { ref: `uses-${randomUUID()}`, template } } };
  return server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload });
}

async function getTemplate(server: TestServer, ref: string) {
  return server.app.inject({ method: 'GET', url: `/api/v1/templates/${ref}` });
}

describe('templates registered over the API, on a SQLite file', () => {
  const servers: TestServer[] = [];
  /** A test node on `store`, closed after the test. */
  async function start(store: string, taskDirs?: string[]): Promise<TestServer> {
    const server = await startTestServer({ store, taskDirs });
    servers.push(server);
    return server;
  }
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('a template POSTed to a node is served after a restart on the same file, and runs', async () => {
    const store = freshSqlite();
    const first = await start(store);
    expect((await register(first, document())).statusCode).toBe(201);
    await first.close();

    const again = await start(store);
    const detail = await getTemplate(again, 'persisted_template');
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json().document).toEqual(document());
    const submitted = await submit(again, 'persisted_template');
    expect(submitted.statusCode, submitted.body).toBe(201);
    expect((await waitForEnd(again, submitted.json().uuid)).status).toBe('successful');
  });

  it('a stored template whose task class is gone is left out at start; the node starts with the others', async () => {
    const store = freshSqlite();
    const first = await start(store, [path.join(ROOT, 'test/fixtures/tasks')]);
    const scripted = {
      ...document('needs_scripted'),
      tasks: [{ name: 'Only', ref_name: 'only', class: 'scripted', input: {} }],
    };
    expect((await register(first, scripted)).statusCode).toBe(201);
    expect((await register(first, document())).statusCode).toBe(201);
    await first.close();

    const again = await start(store);
    expect((await getTemplate(again, 'needs_scripted')).statusCode).toBe(404);
    expect((await getTemplate(again, 'persisted_template')).statusCode).toBe(200);
  });

  it('a template file keeps its own ref_name and version: a stored one is ignored, and the API refuses it', async () => {
    const store = freshSqlite();
    const fileDocument = JSON.parse(
      readFileSync(path.join(ROOT, 'templates/noop_template_run.json'), 'utf8'),
    ) as Record<string, unknown>;
    const direct = createSqliteStore(store.slice('sqlite:'.length));
    await direct.init();
    await direct.saveTemplate({
      refName: 'noop_template_run',
      version: 1,
      document: { ...fileDocument, description: 'stored, not the file' },
      createdAt: Date.now(),
    });
    await direct.close();

    const server = await start(store);
    const detail = await getTemplate(server, 'noop_template_run');
    expect(detail.json().document.description).toBe(fileDocument.description);
    const again = await register(server, fileDocument);
    expect(again.statusCode).toBe(409);
    expect(again.json().error.message).toContain('template file');
  });
});

describe('templates registered over the API, on two nodes sharing PostgreSQL', () => {
  const schema = `o3_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const store = `${PG_URL}?schema=${schema}`;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    a = await startTestServer({ store, env: { O3_NODE_ID: 'node-a' } });
    b = await startTestServer({ store, env: { O3_NODE_ID: 'node-b' } });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('a template POSTed to one node can be submitted against through the other', async () => {
    expect((await register(a, document('shared_template'))).statusCode).toBe(201);
    const submitted = await submit(b, 'shared_template');
    expect(submitted.statusCode, submitted.body).toBe(201);
    expect((await waitForEnd(b, submitted.json().uuid)).status).toBe('successful');
    expect((await getTemplate(b, 'shared_template')).json().document).toEqual(document('shared_template'));
  });

  it('the other node refuses another document under the same ref_name and version with 409', async () => {
    expect((await register(a, document('contested_template', 1, 0))).statusCode).toBe(201);
    const other = await register(b, document('contested_template', 1, 5));
    expect(other.statusCode, other.body).toBe(409);
    expect(other.json().error.message).toContain('new schema_version');
    const same = await register(b, document('contested_template', 1, 0));
    expect(same.statusCode, same.body).toBeLessThan(300);
    expect((await getTemplate(b, 'contested_template')).json().document).toEqual(
      document('contested_template', 1, 0),
    );
  });
});

describe('findTemplate and loadStoredTemplates', () => {
  const NOOP: TaskClassMeta = {
    name: 'noop',
    description: 'does nothing',
    inputs: { runtime_delay: { type: 'number' } },
    outputs: {},
    pingIntervalSeconds: null,
    source: 'noop.ts',
  };
  let store: Store;
  let deps: TemplateSyncDeps & { lookups: number; logged: { level: number; msg: string }[]; clock: number };

  beforeEach(async () => {
    store = createSqliteStore(':memory:');
    await store.init();
    deps = freshDeps();
  });
  afterEach(async () => {
    await store.close();
  });

  /** Deps over the test's store: an empty registry, a counted store, a captured log, a set clock. */
  function freshDeps(): typeof deps {
    const logged: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const state = {
      store: {
        listTemplates: async () => {
          state.lookups += 1;
          return store.listTemplates();
        },
      },
      templates: new TemplateRegistry(),
      tasks: { lookupMeta: (name: string) => (name === 'noop' ? NOOP : undefined) },
      logger,
      now: () => state.clock,
      lookups: 0,
      logged,
      clock: 1_000_000,
    };
    return state;
  }

  it('looks into the store at most once a second, however many unknown names are asked', async () => {
    const asked = Array.from({ length: 20 }, (_, i) => findTemplate(deps, `unknown_${i}`));
    expect(await Promise.all(asked)).toEqual(Array(20).fill(undefined));
    for (let i = 0; i < 20; i += 1) expect(await findTemplate(deps, 'still_unknown', 1)).toBeUndefined();
    expect(deps.lookups).toBe(1);

    await store.saveTemplate({ refName: 'late', version: 1, document: document('late'), createdAt: 0 });
    deps.clock += 999;
    expect(await findTemplate(deps, 'late', 1)).toBeUndefined();
    deps.clock += 1;
    expect((await findTemplate(deps, 'late', 1))?.document).toEqual(document('late'));
    expect(deps.lookups).toBe(2);
    // Known and pinned: the registry answers without the store.
    expect(await findTemplate(deps, 'late', 1)).toBeDefined();
    expect(deps.lookups).toBe(2);
  });

  it('leaves out a stored template that no longer compiles, reporting it once', async () => {
    await store.saveTemplate({ refName: 'good', version: 1, document: document('good'), createdAt: 0 });
    const broken = { ...document('broken'), tasks: [{ name: 'X', ref_name: 'x', class: 'removed_class' }] };
    await store.saveTemplate({ refName: 'broken', version: 1, document: broken, createdAt: 0 });
    await loadStoredTemplates(deps);
    await loadStoredTemplates(deps);
    expect(deps.templates.has('broken')).toBe(false);
    expect(deps.templates.has('good')).toBe(true);
    const errors = deps.logged.filter((line) => line.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain('removed_class');
  });

  it("keeps a template file's own ref_name and version over a stored one, warning once", async () => {
    await store.saveTemplate({ refName: 'late', version: 1, document: document('late'), createdAt: 0 });
    const fromFile = compileTemplate(document('late', 1, 7), {
      lookupClass: deps.tasks.lookupMeta,
      source: 'late.json',
    });
    deps.templates.add(fromFile);
    expect(await loadStoredTemplates(deps)).toBe(0);
    await loadStoredTemplates(deps);
    expect(deps.templates.get('late', 1)).toBe(fromFile);
    expect(deps.logged.filter((line) => line.level === 40)).toHaveLength(1);
  });
});
