import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Task } from '../../src/index.js';
import { loadTasks } from '../../src/task/load-tasks.js';
import { ROOT } from '../helpers/examples.js';
import { startTestServer, waitForEnd, type TestServer } from '../helpers/test-server.js';

const EXAMPLE_TASKS = path.join(ROOT, 'examples/tasks');

/** A template running one http_check; the ping interval is shortened so the test does not wait a second a check. */
const TEMPLATE = {
  name: 'HTTP check',
  ref_name: 'http_check_run',
  schema_version: 1,
  tasks: [
    {
      name: 'wait for the service',
      ref_name: 'check',
      class: 'http_check',
      ping_interval_seconds: 0.02,
      input: { url: '${workflow.input.url}', max_checks: '${workflow.input.max_checks}' },
    },
  ],
  workflow: { input: { global: { max_checks: 30 } } },
};

function request(input: Record<string, unknown>) {
  return {
    workflow: {
      meta: { ref: `http-${Math.random()}`, template: 'http_check_run' },
      vars: { workflow: { input } },
    },
    schema_version: 2,
  };
}

/** An HTTP server that answers `statuses` in turn, then the last one for ever. */
async function serveStatuses(
  statuses: number[],
): Promise<{ url: string; hits: () => number; server: Server }> {
  let hits = 0;
  const server = createServer((_request, response) => {
    const status = statuses[Math.min(hits, statuses.length - 1)] ?? 500;
    hits += 1;
    response.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/health`, hits: () => hits, server };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe("the README's example task examples/tasks/http_check.ts", () => {
  it("loads through loadTasks, its `import { Task } from 'o3'` resolving to O3's own Task", async () => {
    const { registry, problems } = await loadTasks([EXAMPLE_TASKS]);
    expect(problems).toEqual([]);
    const entry = registry.get('http_check');
    expect(entry.meta.source).toBe(path.join(EXAMPLE_TASKS, 'http_check.ts'));
    expect(entry.meta.inputs.url).toMatchObject({ type: 'string', required: true });
    expect(entry.meta.outputs).toHaveProperty('last_status');
    expect(entry.meta.pingIntervalSeconds).toBe(1);
    expect(new entry.TaskClass()).toBeInstanceOf(Task);
  });
});

describe('http_check run by the engine', () => {
  let templateDir: string;
  let server: TestServer;
  let target: Awaited<ReturnType<typeof serveStatuses>> | undefined;

  beforeAll(async () => {
    templateDir = await mkdtemp(path.join(tmpdir(), 'o3-http-check-'));
    await writeFile(path.join(templateDir, 'http_check_run.json'), JSON.stringify(TEMPLATE));
  });
  afterAll(async () => {
    await rm(templateDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    server = await startTestServer({ taskDirs: [EXAMPLE_TASKS], templateDirs: [templateDir] });
  });
  afterEach(async () => {
    await server.close();
    if (target) await closeServer(target.server);
    target = undefined;
  });

  async function submit(input: Record<string, unknown>): Promise<string> {
    const response = await server.app.inject({
      method: 'POST',
      url: '/api/v1/workflow/submit',
      payload: request(input),
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().uuid as string;
  }

  it('succeeds once the URL answers 200 after two 503s, with last_status 200 as its output', async () => {
    target = await serveStatuses([503, 503, 200]);
    const uuid = await submit({ url: target.url });
    const detail = await waitForEnd(server, uuid);
    expect(detail.status).toBe('successful');
    const [task] = detail.tasks;
    expect(task.state).toBe('successful');
    expect(task.outputs.last_status).toBe(200);
    expect(task.outputs).not.toHaveProperty('checks');
    expect(target.hits()).toBe(3);
  });

  it('fails the task and the request when the URL never answers 200 within max_checks', async () => {
    target = await serveStatuses([503]);
    const uuid = await submit({ url: target.url, max_checks: 2 });
    const detail = await waitForEnd(server, uuid);
    expect(detail.status).toBe('failed');
    const [task] = detail.tasks;
    expect(task.state).toBe('failed');
    expect(task.outputs.last_status).toBe(503);
    expect(target.hits()).toBe(2);
    const logs = (
      await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}/logs?task=check` })
    ).json();
    expect(logs.lines.map((line: { message: string }) => line.message)).toContain(
      'gave up after 2 checks (last status 503)',
    );
  });
});
