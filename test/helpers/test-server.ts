/** An O3 node for tests: real store, engine and app, answering through `app.inject()` (no port). */
import { pino } from 'pino';
import { buildApp } from '../../src/api/build-app.js';
import { loadConfig } from '../../src/config/config.js';
import { randomBytes } from 'node:crypto';
import { Engine } from '../../src/engine/engine.js';
import { LogFiles } from '../../src/engine/log-files.js';
import { SecretBox } from '../../src/engine/secret-box.js';
import { loadCatalogues } from '../../src/main.js';
import { createStore } from '../../src/store/create-store.js';
import { loadStoredTemplates, saveRegisteredTemplate } from '../../src/template/stored-templates.js';

/** Options of a test node. */
export interface TestServerOptions {
  store?: string;
  taskDirs?: string[];
  templateDirs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Starts a node on an in-memory SQLite store (or the given one). */
export async function startTestServer(options: TestServerOptions = {}) {
  const config = loadConfig(
    { O3_NODE_ID: 'test-node', ...options.env },
    {
      store: options.store ?? 'sqlite::memory:',
      taskDirs: options.taskDirs,
      templateDirs: options.templateDirs,
    },
  );
  const logger = pino({ level: 'silent' });
  const store = await createStore(config.store);
  const { tasks, templates } = await loadCatalogues(config, logger);
  // As startServer does: templates registered over the API are kept in the store.
  await loadStoredTemplates({ store, templates, tasks, logger });
  const secrets = new SecretBox(randomBytes(32));
  const logFiles = config.logDir === null ? undefined : new LogFiles(config.logDir, logger);
  const engine = new Engine({ config, store, tasks, logger, secrets, logFiles });
  const app = await buildApp({
    engine,
    store,
    templates,
    tasks,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    onTemplateRegistered: (template) => saveRegisteredTemplate(store, template),
  });
  await engine.start();
  const close = async () => {
    await app.close();
    await engine.stop();
    await store.close();
  };
  return { config, store, tasks, templates, engine, app, close };
}

/** A started test node. */
export type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until a request has ended and returns its detail. */
export async function waitForEnd(server: TestServer, uuid: string, timeoutMs = 15_000) {
  return waitFor(
    async () => {
      const response = await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` });
      const body = response.json();
      return ['successful', 'failed', 'canceled'].includes(body.status) ? body : undefined;
    },
    timeoutMs,
    `request ${uuid} to end`,
  );
}
