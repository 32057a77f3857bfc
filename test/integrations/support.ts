/** Helpers of the AWX and TFE integration tests: payloads from the examples, submit, read back. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { ROOT, example } from '../helpers/examples.js';
import { waitFor, waitForEnd, type TestServer } from '../helpers/test-server.js';

let refs = 0;

/** examples/awx_request.json with the fake's URL and token, and a fresh ref. */
export function awxPayload(awxUrl: string, token: string, changes: { templateId?: number } = {}) {
  const payload = example('awx_request.json');
  payload.workflow.meta.ref = `awx-${process.pid}-${Date.now()}-${++refs}`;
  payload.workflow.vars.workflow.input.awx_url = awxUrl;
  payload.workflow.vars.workflow.input.awx_token = token;
  if (changes.templateId !== undefined) {
    payload.tasks.launch_job_template.vars.input.job_template_id = changes.templateId;
  }
  return payload;
}

/** examples/tfe_request.json with the fake's URLs and the tarball's hash, run now. */
export function tfePayload(tfeUrl: string, token: string, fileUrl: string, fileHash: string) {
  const payload = example('tfe_request.json');
  payload.workflow.meta.ref = `tfe-${process.pid}-${Date.now()}-${++refs}`;
  const input = payload.workflow.vars.workflow.input;
  input.tfe_server = tfeUrl;
  input.tfe_bearer_token = token;
  input.file_url = fileUrl;
  input.file_hash = fileHash;
  // The example is scheduled for a night in December; the tests run it now.
  payload.workflow.schedule = { when: 'now', start: '' };
  return payload;
}

/** Submits a payload and returns the request's UUID. */
export async function submit(server: TestServer, payload: object): Promise<string> {
  const response = await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit/', payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().uuid;
}

/** Submits and waits for the request to end. */
export async function submitAndWait(server: TestServer, payload: object, timeoutMs = 20_000) {
  return waitForEnd(server, await submit(server, payload), timeoutMs);
}

/** The request's detail. */
export async function detailOf(server: TestServer, uuid: string) {
  return (await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` })).json();
}

/** One task of a request detail. */
export function taskOf(detail: any, ref: string) {
  return detail.tasks.find((t: { ref_name: string }) => t.ref_name === ref);
}

/** The log lines of a request (or one of its tasks). */
export async function logsOf(server: TestServer, uuid: string, task?: string): Promise<any[]> {
  const query = task ? `?task=${task}&limit=1000` : '?limit=1000';
  return (await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}/logs${query}` })).json()
    .lines;
}

/** Waits until a task of the request satisfies `check`, and returns it. */
export async function waitForTask(
  server: TestServer,
  uuid: string,
  ref: string,
  check: (task: any) => boolean,
) {
  return waitFor(
    async () => {
      const task = taskOf(await detailOf(server, uuid), ref);
      return task && check(task) ? task : undefined;
    },
    15_000,
    `task ${ref} of ${uuid}`,
  );
}

/** A temp folder with a copy of a shipped template, changed by `change` (a new ref_name, extra inputs). */
export function templateVariant(file: string, change: (template: any) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'o3-templates-'));
  const template = JSON.parse(readFileSync(path.join(ROOT, 'templates', file), 'utf8'));
  change(template);
  writeFileSync(path.join(dir, `${template.ref_name}.json`), JSON.stringify(template, null, 2));
  return dir;
}
