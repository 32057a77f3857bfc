import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwxFake } from '../fakes/awx-fake.js';
import { selfSignedCertificate, type SelfSigned } from '../fakes/self-signed.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { awxPayload, logsOf, submitAndWait, taskOf, templateVariant } from './support.js';

const TOKEN = 'awx-tls-token-0b9e';
const TASK = 'launch_job_template';

describe('awx_job_launch over HTTPS to a fake AWX with a self-signed certificate', () => {
  let tls: SelfSigned;
  let awx: AwxFake;
  let server: TestServer;
  const dirs: string[] = [];

  beforeAll(async () => {
    tls = selfSignedCertificate();
    awx = await AwxFake.start({ tokens: [TOKEN], runMs: 50, tls });
    dirs.push(
      templateVariant('awx_job_template_run.json', (t) => {
        t.ref_name = 'awx_tls_ca_file';
        t.tasks[0].input.ca_file = '${workflow.input.ca_file}';
      }),
      templateVariant('awx_job_template_run.json', (t) => {
        t.ref_name = 'awx_tls_no_verify';
        t.tasks[0].input.tls_verify = '${workflow.input.tls_verify}';
      }),
    );
    server = await startTestServer({ templateDirs: dirs });
  });
  afterAll(async () => {
    await server.close();
    await awx.close();
    for (const dir of [tls.dir, ...dirs]) rmSync(dir, { recursive: true, force: true });
  });

  function payload(template: string, input: Record<string, unknown> = {}) {
    const p = awxPayload(awx.url, TOKEN);
    p.workflow.meta.template = template;
    Object.assign(p.workflow.vars.workflow.input, input);
    return p;
  }

  it('verifies the certificate by default: the untrusted one fails the task at once and launches nothing', async () => {
    const started = Date.now();
    const detail = await submitAndWait(server, payload('awx_job_template_run'));
    expect(detail.status).toBe('failed');
    const error: string = taskOf(detail, TASK).error;
    expect(error).toContain("AWX's TLS certificate was not accepted when asked to launch job template 42");
    expect(error).toContain('ca_file');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(awx.jobs).toHaveLength(0);
  });

  it('trusts the certificate given as ca_file and runs the job', async () => {
    const detail = await submitAndWait(server, payload('awx_tls_ca_file', { ca_file: tls.certFile }));
    expect(detail.status).toBe('successful');
    expect(taskOf(detail, TASK).outputs.job_status).toBe('successful');
  });

  it('fails with a sentence when the ca_file cannot be read', async () => {
    const detail = await submitAndWait(
      server,
      payload('awx_tls_ca_file', { ca_file: `${tls.dir}/missing.pem` }),
    );
    expect(detail.status).toBe('failed');
    expect(taskOf(detail, TASK).error).toContain(`cannot read the CA file '${tls.dir}/missing.pem'`);
  });

  it('skips verification only on an explicit tls_verify: false, and says so in the task log', async () => {
    const detail = await submitAndWait(server, payload('awx_tls_no_verify', { tls_verify: false }));
    expect(detail.status).toBe('successful');
    const warnings = (await logsOf(server, detail.uuid, TASK)).filter(
      (line) => line.level === 'warn' && line.message.startsWith('TLS certificate verification is OFF for'),
    );
    expect(warnings.length).toBeGreaterThan(0);
  });

  it('keeps verifying when tls_verify is true', async () => {
    const detail = await submitAndWait(server, payload('awx_tls_no_verify', { tls_verify: true }));
    expect(detail.status).toBe('failed');
    expect(taskOf(detail, TASK).error).toContain('TLS certificate was not accepted');
  });
});
