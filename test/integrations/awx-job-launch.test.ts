import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwxFake } from '../fakes/awx-fake.js';
import { startTestServer, waitForEnd, type TestServer } from '../helpers/test-server.js';
import {
  awxPayload,
  detailOf,
  logsOf,
  submit,
  submitAndWait,
  taskOf,
  templateVariant,
  waitForTask,
} from './support.js';

const TOKEN = 'awx-test-token-5f1d2c';
const READ_ONLY = 'awx-read-only-token-77aa';
const TASK = 'launch_job_template';

describe("awx_job_launch running the article's awx_job_template_run against a fake AWX", () => {
  let awx: AwxFake;
  let server: TestServer;

  beforeAll(async () => {
    awx = await AwxFake.start({
      tokens: [TOKEN],
      readOnlyTokens: [READ_ONLY],
      templates: [
        { id: 42, name: 'patch web tier' },
        { id: 7, name: 'with survey', required: ['target_hosts', 'patch_window'] },
      ],
      runMs: 300,
    });
  });
  afterAll(async () => {
    await awx.close();
  });
  beforeEach(async () => {
    awx.http.reset();
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('launches job template 42 once with the request extra vars, follows it, and logs its stdout', async () => {
    const detail = await submitAndWait(server, awxPayload(awx.url, TOKEN));
    expect(detail.status).toBe('successful');
    const task = taskOf(detail, TASK);
    expect(task.state).toBe('successful');
    const jobs = awx.jobs.filter((job) => job.extraVars.o3_task_run_uuid === task.uuid);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.extraVars).toMatchObject({ target_hosts: 'web', reboot: false });
    expect(task.outputs).toMatchObject({ awx_jobid: jobs[0]!.id, job_status: 'successful' });
    const messages = (await logsOf(server, detail.uuid, TASK)).map((line) => line.message);
    expect(
      messages.some((m) => m.startsWith(`AWX job ${jobs[0]!.id} stdout:`) && m.includes('PLAY RECAP')),
    ).toBe(true);
    const launch = awx.http.seen('launch').at(-1)!;
    expect(launch.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('ends the request failed when the AWX job fails, still logging its stdout', async () => {
    const failing = await AwxFake.start({ tokens: [TOKEN], runMs: 100, outcome: () => 'failed' });
    try {
      const detail = await submitAndWait(server, awxPayload(failing.url, TOKEN));
      expect(detail.status).toBe('failed');
      expect(taskOf(detail, TASK)).toMatchObject({ state: 'failed', outputs: { job_status: 'failed' } });
      const messages = (await logsOf(server, detail.uuid, TASK)).map((line) => line.message);
      expect(messages.some((m) => m.includes('stdout:') && m.includes('failed=1'))).toBe(true);
      expect(messages.some((m) => m.includes('the play failed on web-01'))).toBe(true);
    } finally {
      await failing.close();
    }
  });

  it.each<[string, { token?: string; templateId?: number }, string]>([
    ['a wrong token', { token: 'not-a-valid-token-123' }, 'AWX refused the token (401 Unauthorized)'],
    [
      'a read-only token',
      { token: READ_ONLY },
      'AWX denied permission to launch job template 42 (403 Forbidden)',
    ],
    ['an unknown job template', { templateId: 999 }, 'AWX has no job template 999 (404 Not Found)'],
    [
      'a survey variable missing',
      { templateId: 7 },
      "AWX rejected the request to launch job template 7 (400 Bad Request): variables_needed_to_start: 'patch_window' value missing",
    ],
  ])(
    'fails the task with a sentence naming the cause for %s, launching nothing',
    async (_, change, sentence) => {
      const before = awx.jobs.length;
      const payload = awxPayload(awx.url, change.token ?? TOKEN, { templateId: change.templateId });
      if (change.templateId === 7) payload.tasks[TASK].vars.input.extra_vars = { target_hosts: 'web' };
      const detail = await submitAndWait(server, payload);
      expect(detail.status).toBe('failed');
      expect(taskOf(detail, TASK).state).toBe('failed');
      expect(taskOf(detail, TASK).error).toContain(sentence);
      expect(detail.error).toContain(sentence);
      expect(awx.jobs.length).toBe(before);
    },
  );

  it('retries job polls answered with 503 and succeeds', async () => {
    awx.inject('job', { kind: 'status', status: 503, times: 2 });
    const detail = await submitAndWait(server, awxPayload(awx.url, TOKEN));
    expect(detail.status).toBe('successful');
    const messages = (await logsOf(server, detail.uuid, TASK)).map((line) => line.message);
    expect(
      messages.filter(
        (m) =>
          m.startsWith('GET /api/v2/jobs/') && m.includes('to AWX: 503 Service Unavailable; retrying in'),
      ),
    ).toHaveLength(2);
  });

  it('repeats a launch answered with 429 after the Retry-After wait, launching one job', async () => {
    awx.inject('launch', { kind: 'status', status: 429, retryAfter: '1' });
    const detail = await submitAndWait(server, awxPayload(awx.url, TOKEN));
    expect(detail.status).toBe('successful');
    const uuid = taskOf(detail, TASK).uuid;
    expect(awx.launchesPerTaskRun().get(uuid)).toBe(1);
    const [first, second, third] = awx.http.seen('launch');
    expect(third).toBeUndefined();
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it.each([
    ['answered with 502 before doing anything', { kind: 'status' as const, status: 502 }],
    ['dropped before doing anything', { kind: 'drop' as const }],
  ])('looks for the job of a launch %s, finds none, launches once and succeeds', async (_, fault) => {
    awx.inject('launch', fault);
    const detail = await submitAndWait(server, awxPayload(awx.url, TOKEN));
    expect(detail.status).toBe('successful');
    const uuid = taskOf(detail, TASK).uuid;
    expect(awx.launchesPerTaskRun().get(uuid)).toBe(1);
    const [failed, lookUp, again] = awx.http.requests.filter(
      (r) => r.route === 'launch' || r.route === 'jobs',
    );
    expect([failed?.route, lookUp?.route, again?.route]).toEqual(['launch', 'jobs', 'launch']);
  });

  it('launches exactly one job when the launch answer is lost after AWX created the job', async () => {
    awx.inject('launch', { kind: 'lose_answer' });
    const detail = await submitAndWait(server, awxPayload(awx.url, TOKEN));
    expect(detail.status).toBe('successful');
    const task = taskOf(detail, TASK);
    expect(awx.launchesPerTaskRun().get(task.uuid)).toBe(1);
    const job = awx.jobs.find((j) => j.extraVars.o3_task_run_uuid === task.uuid)!;
    expect(task.outputs.awx_jobid).toBe(job.id);
    const messages = (await logsOf(server, detail.uuid, TASK)).map((line) => line.message);
    expect(messages.some((m) => m.startsWith(`found AWX job ${job.id} with launch id`))).toBe(true);
    // AWX forbids filtering on extra_vars: the look-up must not try.
    expect(
      awx.http.seen('jobs').every((r) => ![...r.query.keys()].some((k) => k.startsWith('extra_vars'))),
    ).toBe(true);
  });

  it('keeps retrying the look-up while AWX cannot list jobs, and never launches blind', async () => {
    awx.inject('launch', { kind: 'lose_answer' });
    awx.inject('jobs', { kind: 'status', status: 503, times: 6 });
    const detail = await submitAndWait(server, awxPayload(awx.url, TOKEN), 30_000);
    expect(detail.status).toBe('successful');
    const uuid = taskOf(detail, TASK).uuid;
    expect(awx.launchesPerTaskRun().get(uuid)).toBe(1);
    const messages = (await logsOf(server, detail.uuid, TASK)).map((line) => line.message);
    expect(messages.some((m) => m.includes('O3 does not launch again before it knows'))).toBe(true);
  }, 40_000);

  it('cancels the AWX job with POST cancel when the request is canceled', async () => {
    const slow = await AwxFake.start({ tokens: [TOKEN], runMs: 20_000 });
    try {
      const uuid = await submit(server, awxPayload(slow.url, TOKEN));
      const running = await waitForTask(server, uuid, TASK, (t) => t.outputs.awx_jobid > 0);
      const cancel = await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
      expect(cancel.statusCode).toBe(202);
      const detail = await waitForEnd(server, uuid);
      expect(detail.status).toBe('canceled');
      const seen = slow.http.seen('cancel');
      expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual([
        `POST /api/v2/jobs/${running.outputs.awx_jobid}/cancel/`,
      ]);
      expect(slow.status(slow.jobs[0]!)).toBe('canceled');
      const task = taskOf(detail, TASK);
      expect(task.state).toBe('canceled');
      expect(task.outputs.cancel_outcome).toBe(`AWX job ${running.outputs.awx_jobid} canceled`);
    } finally {
      await slow.close();
    }
  });

  it('masks a canary awx_token everywhere: logs, request detail, lists and validation', async () => {
    const canary = 'CANARY-awx-token-91c7e0d4b2';
    const good = await AwxFake.start({ tokens: [canary], runMs: 50 });
    try {
      const ok = await submitAndWait(server, awxPayload(good.url, canary));
      expect(ok.status).toBe('successful');
      const refused = await submitAndWait(server, awxPayload(awx.url, canary));
      expect(refused.status).toBe('failed');
      const texts = [
        JSON.stringify(await detailOf(server, ok.uuid)),
        JSON.stringify(await detailOf(server, refused.uuid)),
        JSON.stringify(await logsOf(server, ok.uuid)),
        JSON.stringify(await logsOf(server, refused.uuid)),
        (await server.app.inject({ method: 'GET', url: '/api/v1/workflow' })).body,
        (
          await server.app.inject({
            method: 'POST',
            url: '/api/v1/workflow/validate',
            payload: awxPayload(awx.url, canary),
          })
        ).body,
      ];
      for (const text of texts) expect(text).not.toContain(canary);
      expect(good.http.seen('launch')[0]!.headers.authorization).toBe(`Bearer ${canary}`);
    } finally {
      await good.close();
    }
  });
});

describe('awx_job_launch on a rerun after failure', () => {
  it('relaunches the failed job with POST relaunch, finding the relaunch again when its answer is lost', async () => {
    let launches = 0;
    const awx = await AwxFake.start({
      tokens: [TOKEN],
      runMs: 100,
      outcome: () => (++launches === 1 ? 'failed' : 'successful'),
    });
    const dir = templateVariant('awx_job_template_run.json', (t) => {
      t.ref_name = 'awx_job_template_run_retried';
      t.tasks[0].retry = { max_attempts: 2, delay_seconds: 0 };
    });
    const server = await startTestServer({ templateDirs: [dir] });
    try {
      awx.inject('relaunch', { kind: 'lose_answer' });
      const payload = awxPayload(awx.url, TOKEN);
      payload.workflow.meta.template = 'awx_job_template_run_retried';
      const detail = await submitAndWait(server, payload);
      expect(detail.status).toBe('successful');
      const task = taskOf(detail, TASK);
      expect(task.attempt).toBe(2);
      const [first, second, third] = awx.jobs;
      expect(third).toBeUndefined();
      expect(first!.launchType).toBe('manual');
      expect(second!.launchType).toBe('relaunch');
      expect(awx.http.seen('relaunch').map((r) => r.path)).toEqual([`/api/v2/jobs/${first!.id}/relaunch/`]);
      expect(task.outputs).toMatchObject({ awx_jobid: second!.id, job_status: 'successful' });
    } finally {
      await server.close();
      await awx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
