import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { example } from '../helpers/examples.js';
import { startTestServer, waitForEnd, type TestServer } from '../helpers/test-server.js';

describe("the article's noop workflow over REST", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('validating the unchanged payload plans levels and the fallback of runtime_delay to 60', async () => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/api/v1/workflow/validate',
      payload: example('noop_request.json'),
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.valid).toBe(true);
    expect(body.plan.levels).toEqual([['noop_01', 'noop_02'], ['noop_03']]);
    expect(body.plan.tasks.noop_03.inputs.runtime_delay).toBe(60);
    expect(body.plan.tasks.noop_01.inputs.runtime_delay).toBe(30);
    for (const ref of ['noop_01', 'noop_02', 'noop_03'])
      expect(body.plan.tasks[ref].inputs.expires).toBe(89009);
    expect(body.warnings.map((w: { path: string }) => w.path).sort()).toEqual([
      '/tasks/noop_01/vars/input/ignored',
      '/tasks/noop_02/vars/input/ignored_as_well',
      '/workflow/vars/global/input/not_mapped',
      '/workflow/vars/workflow/input/wflow_priv_var',
    ]);
  });

  it('runs noop_01 and noop_02 together, then noop_03 with their outputs as inputs, and ends successful', async () => {
    const payload = example('noop_request.json');
    payload.tasks.noop_01.vars.input.delay = 0.3;
    payload.tasks.noop_02.vars.input.delay = 0.3;
    payload.tasks.noop_03.vars.input.delay = 0.1;
    const submitted = await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit/', payload });
    expect(submitted.statusCode).toBe(201);
    const { uuid, warnings } = submitted.json();
    expect(warnings).toHaveLength(4);

    const detail = await waitForEnd(server, uuid);
    expect(detail.status).toBe('successful');
    const task = (ref: string) => detail.tasks.find((t: { ref_name: string }) => t.ref_name === ref);
    const [t1, t2, t3] = [task('noop_01'), task('noop_02'), task('noop_03')];
    for (const t of [t1, t2, t3]) {
      expect(t.state).toBe('successful');
      expect(t.inputs.expires).toBe(89009);
    }
    const ms = (iso: string) => Date.parse(iso);
    expect(Math.abs(ms(t1.started_at) - ms(t2.started_at))).toBeLessThan(200);
    expect(ms(t3.started_at)).toBeGreaterThanOrEqual(Math.max(ms(t1.ended_at), ms(t2.ended_at)));
    expect(ms(t1.ended_at) - ms(t1.started_at)).toBeGreaterThanOrEqual(300);
    expect(t3.inputs.rand_no).toBe(t1.outputs.rand_no);
    expect(t3.inputs.rand_no2).toBe(t2.outputs.rand_no);
    expect(t1.inputs).not.toHaveProperty('ignored');
    expect(detail.warnings).toHaveLength(4);
  });

  it('answers 200 with the same request when the same ref is submitted again, and 409 when the payload differs', async () => {
    const payload = example('noop_request.json');
    payload.workflow.vars.workflow.input.delay = 0;
    const first = await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload });
    const again = await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json().uuid).toBe(first.json().uuid);
    payload.workflow.vars.workflow.input.delay = 1;
    const changed = await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload });
    expect(changed.statusCode).toBe(409);
    expect(changed.json().error.code).toBe('conflict');
  });

  it('generates a trace_id when none is sent, and keeps one that is', async () => {
    const submit = async (ref: string, traceId?: string) => {
      const payload = example('noop_request.json');
      payload.workflow.meta.ref = ref;
      delete payload.workflow.meta.trace_id; // the article's example carries one
      if (traceId !== undefined) payload.workflow.meta.trace_id = traceId;
      const answer = await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload });
      expect(answer.statusCode).toBe(201);
      return answer.json().uuid as string;
    };
    const generated = await Promise.all([submit('trace-a'), submit('trace-b')]);
    const given = await submit('trace-c', 'my-trace');
    const traceOf = async (uuid: string) =>
      (await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` })).json().trace_id as string;
    const [a, b] = await Promise.all(generated.map(traceOf));
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(b).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    expect(await traceOf(given)).toBe('my-trace');
    for (const uuid of [...generated, given]) {
      await server.app.inject({ method: 'POST', url: `/api/v1/workflow/${uuid}/cancel` });
    }
  });

  it('lists the request and serves its logs, also for one task', async () => {
    const payload = example('noop_request.json');
    payload.workflow.vars.workflow.input.delay = 0;
    payload.tasks.noop_01.vars.input.delay = 0;
    payload.tasks.noop_02.vars.input.delay = 0;
    const { uuid } = (
      await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload })
    ).json();
    await waitForEnd(server, uuid);
    const list = (
      await server.app.inject({ method: 'GET', url: '/api/v1/workflow?status=successful' })
    ).json();
    expect(list.items.map((item: { uuid: string }) => item.uuid)).toContain(uuid);
    const logs = (await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}/logs` })).json();
    expect(logs.lines.some((line: { message: string }) => line.message === 'request ended successful')).toBe(
      true,
    );
    const taskLogs = (
      await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}/logs?task=noop_03` })
    ).json();
    expect(taskLogs.lines.length).toBeGreaterThan(0);
    expect(taskLogs.lines.every((line: { task: string }) => line.task === 'noop_03')).toBe(true);
    expect(
      taskLogs.lines.some((line: { message: string }) => line.message.startsWith('generated random number')),
    ).toBe(true);
  });
});
