/** An O3 node for tests: real store, engine and app, answering through `app.inject()` (no port). */
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/engine/secret-box.js';
import { createNode } from '../../src/main.js';
import { ROOT } from './examples.js';

/** Options of a test node. */
export interface TestServerOptions {
  store?: string;
  taskDirs?: string[];
  templateDirs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** Starts a node on an in-memory SQLite store (or the given one), wired as `o3 serve` wires it. */
export async function startTestServer(options: TestServerOptions = {}) {
  const config = loadConfig(
    { O3_NODE_ID: 'test-node', ...options.env },
    {
      store: options.store ?? 'sqlite::memory:',
      taskDirs: options.taskDirs,
      templateDirs: options.templateDirs,
    },
  );
  const node = await createNode(config, pino({ level: 'silent' }), new SecretBox(randomBytes(32)));
  await node.engine.start();
  return node;
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

/** The test fixtures' task classes and templates (scripted tasks, diamond, chain…). */
export const FIXTURE_DIRS = {
  taskDirs: [path.join(ROOT, 'test/fixtures/tasks')],
  templateDirs: [path.join(ROOT, 'test/fixtures/templates')],
};

/** A test node with the fixture tasks and templates loaded. */
export function startFixtureServer(options: TestServerOptions = {}) {
  return startTestServer({ ...FIXTURE_DIRS, ...options });
}

/** The task of a request detail answer with this ref_name. */
export function taskOf(detail: { tasks: { ref_name: string }[] }, ref: string): any {
  return detail.tasks.find((task) => task.ref_name === ref);
}
