import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TfeClient } from '../../src/integrations/tfe-client.js';
import { stopRun } from '../../src/integrations/tfe-task-support.js';
import { fileHashOf, tarGz } from '../fakes/tarball.js';
import { TfeFake } from '../fakes/tfe-fake.js';
import { startTestServer, waitFor, waitForEnd, type TestServer } from '../helpers/test-server.js';
import {
  logsOf,
  submit,
  submitAndWait,
  taskOf,
  templateVariant,
  tfePayload,
  waitForTask,
} from './support.js';

const TOKEN = 'tfe-team-token-3c5a7e';
const READ_ONLY = 'tfe-read-only-token-88d1';
const TARBALL = tarGz({
  'main.tf': 'resource "null_resource" "vm" {}\n',
  'variables.tf': 'variable "count" {}\n',
});
const TASKS = [
  'workspace_id_task',
  'workspace_configuration_version',
  'workspace_config_file_upload',
  'workspace_run',
  'workspace_run_apply',
];

describe("the article's tfe_virtual_machine_template against a fake TFE", () => {
  let tfe: TfeFake;
  let server: TestServer;
  let fileUrl: string;

  beforeAll(async () => {
    tfe = await TfeFake.start({
      tokens: [TOKEN],
      readOnlyTokens: [READ_ONLY],
      planMs: 200,
      applyMs: 200,
      uploadProcessingMs: 400,
    });
    fileUrl = tfe.addFile('project-vms.tar.gz', TARBALL);
  });
  afterAll(async () => {
    await tfe.close();
  });
  beforeEach(async () => {
    tfe.http.reset();
    tfe.setPlanOutcome('changes');
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });

  const payload = (token = TOKEN, hash = fileHashOf(TARBALL)) => tfePayload(tfe.url, token, fileUrl, hash);

  it('registers the five tfe.* classes with their inputs, the bearer token declared secret', async () => {
    const { tasks } = (await server.app.inject({ method: 'GET', url: '/api/v1/tasks' })).json();
    const byName = new Map(tasks.map((t: { name: string }) => [t.name, t]));
    for (const name of [
      'workspace_id',
      'workspace_config_version',
      'workspace_upload_config_files',
      'workspace_run',
      'workspace_run_apply',
    ]) {
      const meta: any = byName.get(`tfe.${name}`);
      expect(meta?.inputs.tfe_bearer_token).toMatchObject({ type: 'string', required: true, secret: true });
      expect(meta?.inputs.tls_verify.type).toBe('boolean');
    }
    const awx: any = byName.get('awx_job_launch');
    expect(awx.inputs.awx_token).toMatchObject({ secret: true, required: true });
    expect(awx.inputs.job_template_id.type).toBe('integer');
    expect(Object.keys(awx.outputs)).toEqual(expect.arrayContaining(['awx_jobid', 'job_status']));
  });

  it('looks up the workspace, uploads the checked tarball, starts one run, waits for the plan and applies it', async () => {
    const before = tfe.runsOf('project-vms').length;
    const detail = await submitAndWait(server, payload());
    expect(detail.status).toBe('successful');
    for (const ref of TASKS) expect(taskOf(detail, ref).state).toBe('successful');
    const workspace = tfe.workspaces.find((w) => w.name === 'project-vms')!;
    expect(taskOf(detail, 'workspace_id_task').outputs.workspace_id).toBe(workspace.id);
    const cvId = taskOf(detail, 'workspace_configuration_version').outputs.config_version_id;
    const cv = tfe.configVersions.find((c) => c.id === cvId)!;
    expect(cv.autoQueueRuns).toBe(false);
    expect(cv.tarball?.equals(TARBALL)).toBe(true);
    const runs = tfe.runsOf('project-vms').slice(before);
    expect(runs).toHaveLength(1);
    const run = taskOf(detail, 'workspace_run');
    expect(run.outputs).toMatchObject({ run_id: runs[0]!.id, run_status: 'planned' });
    expect(runs[0]!.message).toContain(run.uuid);
    expect(runs[0]!.actions).toEqual(['apply']);
    expect(taskOf(detail, 'workspace_run_apply').outputs.run_status).toBe('applied');
    const runLog = (await logsOf(server, detail.uuid, 'workspace_run')).map((line) => line.message);
    expect(runLog.some((m) => m.includes('waiting for TFE to process the upload'))).toBe(true);
    // The upload URL is pre-signed: the token goes to TFE's API only.
    expect(tfe.http.seen('upload')[0]!.headers.authorization).toBeUndefined();
    expect(tfe.http.seen('file')[0]!.headers.authorization).toBeUndefined();
  });

  it('fails the upload task with a clear message when the tarball does not match file_hash, uploading nothing', async () => {
    const wrong = `sha256:${'ab'.repeat(32)}`;
    const detail = await submitAndWait(server, payload(TOKEN, wrong));
    expect(detail.status).toBe('failed');
    const upload = taskOf(detail, 'workspace_config_file_upload');
    expect(upload.error).toContain(`the file at ${fileUrl} does not match file_hash`);
    expect(upload.error).toContain(`file_hash says ${'ab'.repeat(32)}; it was not uploaded`);
    expect(tfe.http.seen('upload')).toHaveLength(0);
    expect(taskOf(detail, 'workspace_run').state).toBe('skipped');
  });

  it('refuses a file_hash that is not sha256:<hex>', async () => {
    const detail = await submitAndWait(server, payload(TOKEN, 'md5:1234'));
    expect(taskOf(detail, 'workspace_config_file_upload').error).toContain(
      "file_hash must be 'sha256:' followed by 64 hexadecimal digits, not 'md5:1234'",
    );
  });

  it('fails with the 401 sentence for a wrong token, and the 403 sentence for a read-only one', async () => {
    const wrong = await submitAndWait(server, payload('wrong-token-0000'));
    expect(taskOf(wrong, 'workspace_id_task').error).toContain(
      "TFE refused the token (401 Unauthorized) when asked to read workspace 'project-vms' of organization 'infra'; check tfe_bearer_token",
    );
    const readOnly = await submitAndWait(server, payload(READ_ONLY));
    expect(taskOf(readOnly, 'workspace_configuration_version').error).toMatch(
      /TFE denied permission to create a configuration version in workspace ws-\S+ \(403 Forbidden\)/,
    );
  });

  it('fails with the 404 sentence for an unknown workspace', async () => {
    const p = payload();
    p.workflow.vars.workflow.input.workspace_name = 'no-such-workspace';
    const detail = await submitAndWait(server, p);
    expect(taskOf(detail, 'workspace_id_task').error).toContain(
      "TFE has no workspace 'no-such-workspace' in organization 'infra' (or the token may not see it) (404 Not Found)",
    );
  });

  it('fails with the 400 sentence when TFE rejects the run', async () => {
    tfe.inject('create_run', { kind: 'status', status: 400 });
    const detail = await submitAndWait(server, payload());
    expect(taskOf(detail, 'workspace_run').error).toMatch(
      /TFE rejected the request to start a run in workspace ws-\S+ \(400 Bad Request\): injected fault/,
    );
  });

  it('retries 503, 429 and dropped connections on reads, and starts exactly one run when its answer is lost', async () => {
    tfe.inject('workspace', { kind: 'status', status: 503, times: 2 });
    tfe.inject('cv', { kind: 'status', status: 429, retryAfter: '0.2' });
    tfe.inject('run', { kind: 'drop' });
    tfe.inject('create_run', { kind: 'lose_answer' });
    const before = tfe.runsOf('project-vms').length;
    const detail = await submitAndWait(server, payload());
    expect(detail.status).toBe('successful');
    const runs = tfe.runsOf('project-vms').slice(before);
    expect(runs).toHaveLength(1);
    expect(taskOf(detail, 'workspace_run').outputs.run_id).toBe(runs[0]!.id);
    expect(tfe.http.seen('workspace')).toHaveLength(3);
    const runLog = (await logsOf(server, detail.uuid, 'workspace_run')).map((line) => line.message);
    expect(runLog.some((m) => m.startsWith(`found TFE run ${runs[0]!.id} with launch id`))).toBe(true);
  });

  it('ends successful with nothing to apply when the plan has no changes', async () => {
    tfe.setPlanOutcome('no_changes');
    const detail = await submitAndWait(server, payload());
    expect(detail.status).toBe('successful');
    expect(taskOf(detail, 'workspace_run').outputs.run_status).toBe('planned_and_finished');
    const applyLog = (await logsOf(server, detail.uuid, 'workspace_run_apply')).map((line) => line.message);
    expect(applyLog.some((m) => m.endsWith('has no changes: nothing to apply'))).toBe(true);
    expect(tfe.http.seen('action')).toHaveLength(0);
  });

  it('fails the request when the plan errors, and applies nothing', async () => {
    tfe.setPlanOutcome('errored');
    const detail = await submitAndWait(server, payload());
    expect(detail.status).toBe('failed');
    expect(taskOf(detail, 'workspace_run')).toMatchObject({
      state: 'failed',
      outputs: { run_status: 'errored' },
    });
    expect(taskOf(detail, 'workspace_run_apply').state).toBe('skipped');
  });
});

describe('canceling TFE runs', () => {
  let tfe: TfeFake;
  let server: TestServer;

  beforeEach(async () => {
    tfe = await TfeFake.start({ tokens: [TOKEN], planMs: 200, applyMs: 200 });
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
    await tfe.close();
  });

  async function cancelWhen(ref: string, check: (task: any) => boolean) {
    const fileUrl = tfe.addFile('c.tar.gz', TARBALL);
    const uuid = await submit(server, tfePayload(tfe.url, TOKEN, fileUrl, fileHashOf(TARBALL)));
    const task = await waitForTask(server, uuid, ref, check);
    expect(
      (await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` })).statusCode,
    ).toBe(202);
    return { detail: await waitForEnd(server, uuid), task };
  }

  it('cancels a run that is planning with POST actions/cancel', async () => {
    await tfe.close();
    tfe = await TfeFake.start({ tokens: [TOKEN], planMs: 30_000 });
    const { detail, task } = await cancelWhen('workspace_run', (t) => t.outputs.run_status === 'planning');
    expect(detail.status).toBe('canceled');
    const run = tfe.runs.find((r) => r.id === task.outputs.run_id)!;
    expect(run.actions).toEqual(['cancel']);
    expect(tfe.runStatus(run)).toBe('canceled');
    expect(taskOf(detail, 'workspace_run').outputs.cancel_outcome).toBe(
      `TFE run ${run.id} canceled: it is canceled`,
    );
  });

  it('cancels a run that is applying with POST actions/cancel', async () => {
    await tfe.close();
    tfe = await TfeFake.start({ tokens: [TOKEN], planMs: 100, applyMs: 30_000 });
    const { detail } = await cancelWhen('workspace_run_apply', (t) => t.outputs.run_status === 'applying');
    expect(detail.status).toBe('canceled');
    const run = tfe.runs[0]!;
    expect(run.actions).toEqual(['apply', 'cancel']);
    expect(tfe.runStatus(run)).toBe('canceled');
  });

  it('discards a run that waits for confirmation', async () => {
    const client = new TfeClient({ baseUrl: tfe.url, token: TOKEN, tls: { rejectUnauthorized: true } });
    const workspace = await client.workspaceByName('infra', 'project-vms');
    const cv = await client.createConfigVersion(workspace.id);
    await client.upload(cv.attributes['upload-url']!, TARBALL);
    const created = await client.createRun(workspace.id, cv.id, 'test run');
    await waitFor(async () =>
      (await client.run(created.id)).attributes.status === 'planned' ? true : undefined,
    );
    expect(await stopRun(client, created.id, 'test')).toBe(
      `TFE run ${created.id} discarded: it is discarded`,
    );
    expect(tfe.runs[0]!.actions).toEqual(['discard']);
  });
});

describe('tfe.workspace_run_apply resumed on a run that is already applying or applied', () => {
  let tfe: TfeFake;
  let server: TestServer;
  let client: TfeClient;
  const dir = templateVariant('tfe_virtual_machine_template.json', (t) => {
    t.ref_name = 'tfe_apply_only';
    t.tasks = [{ ...t.tasks[4], input: { ...t.tasks[4].input, run_id: '${workflow.input.run_id}' } }];
  });

  beforeEach(async () => {
    tfe = await TfeFake.start({ tokens: [TOKEN], planMs: 50, applyMs: 600 });
    server = await startTestServer({ templateDirs: [dir] });
    client = new TfeClient({ baseUrl: tfe.url, token: TOKEN, tls: { rejectUnauthorized: true } });
  });
  afterEach(async () => {
    await server.close();
    await tfe.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function appliedRun(until: string): Promise<string> {
    const workspace = await client.workspaceByName('infra', 'project-vms');
    const cv = await client.createConfigVersion(workspace.id);
    await client.upload(cv.attributes['upload-url']!, TARBALL);
    const run = await client.createRun(workspace.id, cv.id, 'applied by hand');
    await waitFor(async () =>
      (await client.run(run.id)).attributes.status === 'planned' ? true : undefined,
    );
    await client.action(run.id, 'apply', 'by hand');
    await waitFor(async () => ((await client.run(run.id)).attributes.status === until ? true : undefined));
    return run.id;
  }

  function applyOnly(runId: string) {
    const p = tfePayload(tfe.url, TOKEN, 'http://unused.invalid/x.tar.gz', `sha256:${'0'.repeat(64)}`);
    p.workflow.meta.template = 'tfe_apply_only';
    p.workflow.vars.workflow.input.run_id = runId;
    return p;
  }

  it('treats an applied run as success without applying again', async () => {
    const runId = await appliedRun('applied');
    const detail = await submitAndWait(server, applyOnly(runId));
    expect(detail.status).toBe('successful');
    expect(tfe.runs[0]!.actions).toEqual(['apply']);
    const log = (await logsOf(server, detail.uuid, 'workspace_run_apply')).map((line) => line.message);
    expect(log).toContain(`TFE run ${runId} was already applied: nothing to do`);
  });

  it('follows an apply already under way to applied without asking again', async () => {
    const runId = await appliedRun('applying');
    const detail = await submitAndWait(server, applyOnly(runId));
    expect(detail.status).toBe('successful');
    expect(taskOf(detail, 'workspace_run_apply').outputs.run_status).toBe('applied');
    expect(tfe.runs[0]!.actions).toEqual(['apply']);
  });
});
