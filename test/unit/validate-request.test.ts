import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ErrorDetail } from '../../src/errors.js';
import { isRequestPayload } from '../../src/request/payload.js';
import {
  canonicalJson,
  parseDateTime,
  payloadHash,
  validateRequest,
  type RequestValidation,
} from '../../src/request/validate-request.js';
import { compileTemplate } from '../../src/template/compile-template.js';
import { TemplateRegistry } from '../../src/template/template-registry.js';
import { lookupStub, readRepoJson } from './support/stub-task-classes.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');

function registry(): TemplateRegistry {
  const templates = new TemplateRegistry();
  for (const file of ['noop_template_run', 'awx_job_template_run', 'tfe_virtual_machine_template']) {
    templates.add(compileTemplate(readRepoJson(`templates/${file}.json`), { lookupClass: lookupStub }));
  }
  templates.add(
    compileTemplate(
      {
        name: 'http',
        ref_name: 'http_call',
        schema_version: 1,
        tasks: [
          {
            name: 'call',
            ref_name: 'call',
            class: 'http_call',
            input: {
              token: '${workflow.input.token}',
              header: 'Authorization: Bearer ${workflow.input.token}',
            },
          },
        ],
      },
      { lookupClass: lookupStub },
    ),
  );
  return templates;
}

const deps = { templates: registry(), lookupClass: lookupStub, now: NOW };

/** A request body the tests edit in place, one field at a time, without a cast per line. */

type Body = Record<string, any>;

/** A fresh copy of an example request, to change one thing per test. */
function example(name: 'noop' | 'awx' | 'tfe'): Body {
  return readRepoJson(`examples/${name}_request.json`) as Body;
}

function errorsOf(result: RequestValidation): ErrorDetail[] {
  expect(result.valid).toBe(false);
  return result.valid ? [] : result.errors;
}

describe('validateRequest with the article requests', () => {
  it('accepts the noop request and plans it in two levels', () => {
    const result = validateRequest(example('noop'), deps);
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    expect(result.template.refName).toBe('noop_template_run');
    expect(result.plan.template).toEqual({ ref_name: 'noop_template_run', schema_version: 1 });
    expect(result.plan.levels).toEqual([['noop_01', 'noop_02'], ['noop_03']]);
    expect(result.plan.tasks).toEqual({
      noop_01: { class: 'noop', depends_on: [], inputs: { runtime_delay: 30, expires: 89009 } },
      noop_02: { class: 'noop', depends_on: [], inputs: { runtime_delay: 30, expires: 89009 } },
      noop_03: {
        class: 'noop',
        depends_on: ['noop_01', 'noop_02'],
        inputs: {
          runtime_delay: 60,
          rand_no: '${noop_01.output.rand_no}',
          rand_no2: '${noop_02.output.rand_no}',
          expires: 89009,
        },
      },
    });
  });

  it('warns about the noop request’s ignored variables', () => {
    const result = validateRequest(example('noop'), deps);
    expect(result.warnings.map((w) => w.path)).toEqual([
      '/tasks/noop_01/vars/input/ignored',
      '/tasks/noop_02/vars/input/ignored_as_well',
      '/workflow/vars/global/input/not_mapped',
      '/workflow/vars/workflow/input/wflow_priv_var',
    ]);
  });

  it('accepts the AWX request and masks the token in the plan', () => {
    const result = validateRequest(example('awx'), deps);
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    expect(result.warnings).toEqual([]);
    expect(result.plan.tasks.launch_job_template?.inputs).toEqual({
      awx_url: 'https://awx.example.internal',
      job_template_id: 42,
      extra_vars: { target_hosts: 'web', reboot: false },
      awx_token: '***',
    });
    expect(JSON.stringify(result.plan)).not.toContain('replace-with-an-awx-oauth2-token');
  });

  it('accepts the scheduled TFE request, masking the bearer token in every task', () => {
    const result = validateRequest(example('tfe'), deps);
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    expect(result.plan.levels).toHaveLength(5);
    for (const task of Object.values(result.plan.tasks)) expect(task.inputs.tfe_bearer_token).toBe('***');
    expect(result.plan.tasks.workspace_run?.depends_on).toEqual([
      'workspace_id_task',
      'workspace_configuration_version',
      'workspace_config_file_upload',
    ]);
    expect(JSON.stringify(result.plan)).not.toContain('replace-with-a-tfe-team-token');
  });

  it('returns the payload unchanged and typed', () => {
    const body = example('noop');
    const result = validateRequest(body, deps);
    expect(result.valid && result.payload).toBe(body);
    expect(isRequestPayload(body)).toBe(true);
  });
});

describe('validateRequest errors', () => {
  it('reports schema errors with their pointers', () => {
    const body = example('noop');
    delete body.workflow.meta.ref;
    body.workflow.meta.template_schema_version = 'one';
    body.tasks.noop_01.var = {};
    body.schema_version = 3;
    body.extra = true;
    expect(errorsOf(validateRequest(body, deps))).toEqual(
      expect.arrayContaining([
        { path: '/workflow/meta/ref', message: "'ref' is required" },
        {
          path: '/workflow/meta/template_schema_version',
          message: "'template_schema_version' must be an integer",
        },
        { path: '/tasks/noop_01/var', message: "unknown field 'var' (did you mean 'vars'?)" },
        { path: '/schema_version', message: "'schema_version' must be 2" },
        { path: '/extra', message: "unknown field 'extra'" },
      ]),
    );
  });

  it('reports a body that is not an object', () => {
    expect(errorsOf(validateRequest([], deps))).toEqual([
      { path: '', message: 'the document must be an object' },
    ]);
    expect(errorsOf(validateRequest(null, deps))).toEqual([
      { path: '', message: 'the document must be an object' },
    ]);
  });

  it('reports an unknown template at /workflow/meta/template', () => {
    const body = example('noop');
    body.workflow.meta.template = 'nope';
    expect(errorsOf(validateRequest(body, deps))).toEqual([
      { path: '/workflow/meta/template', message: "no template 'nope' is registered" },
    ]);
  });

  it('reports an unknown template version at /workflow/meta/template_schema_version', () => {
    const body = example('noop');
    body.workflow.meta.template_schema_version = 7;
    expect(errorsOf(validateRequest(body, deps))).toEqual([
      {
        path: '/workflow/meta/template_schema_version',
        message: "template 'noop_template_run' has no schema_version 7 (registered: 1)",
      },
    ]);
  });

  it('uses the highest template version when the request names none', () => {
    const body = example('noop');
    delete body.workflow.meta.template_schema_version;
    expect(validateRequest(body, deps).valid).toBe(true);
  });

  it('reports tasks.X naming no task of the template', () => {
    const body = example('noop');
    body.tasks.noop_04 = { vars: { input: {} } };
    expect(errorsOf(validateRequest(body, deps))).toEqual([
      {
        path: '/tasks/noop_04',
        message:
          "'noop_04' is not a task of template noop_template_run (its tasks: noop_01, noop_02, noop_03)",
      },
    ]);
  });

  it('reports a variable no source provides at /tasks/T', () => {
    const body = example('awx');
    delete body.vars;
    delete body.workflow.vars.workflow.input.awx_url;
    const errors = errorsOf(validateRequest(body, deps));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe('/tasks/launch_job_template');
    expect(errors[0]?.message).toMatch(/input 'awx_url' needs \$\{workflow\.input\.awx_url\}/);
  });

  it('reports an input whose type does not match the class, at the variable that set it', () => {
    const body = example('noop');
    body.tasks.noop_01.vars.input.delay = 'thirty';
    body.workflow.vars.global.input.expires = 1;
    expect(errorsOf(validateRequest(body, deps))).toEqual([
      {
        path: '/tasks/noop_01/vars/input/delay',
        message: "task noop_01 (class noop): input 'runtime_delay' must be a number, not a string",
      },
    ]);
  });

  it('never puts a secret value into an error message', () => {
    const body = example('awx');
    body.workflow.vars.workflow.input.awx_token = 12345;
    const errors = errorsOf(validateRequest(body, deps));
    expect(errors[0]?.path).toBe('/workflow/vars/workflow/input/awx_token');
    expect(JSON.stringify(errors)).not.toContain('12345');
  });

  it('reports every problem at once', () => {
    const body = example('noop');
    delete body.workflow.meta.ref;
    body.tasks.ghost = {};
    body.tasks.noop_01.vars.input.delay = 'x';
    body.workflow.schedule = { when: 'at', start: 'tomorrow' };
    const paths = errorsOf(validateRequest(body, deps)).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/workflow/meta/ref',
        '/tasks/ghost',
        '/tasks/noop_01/vars/input/delay',
        '/workflow/schedule/start',
      ]),
    );
  });

  it('still resolves variables when other parts of the body are malformed', () => {
    const body = example('awx');
    body.workflow.meta.ref = '';
    delete body.workflow.vars.workflow.input.awx_url;
    const paths = errorsOf(validateRequest(body, deps)).map((e) => e.path);
    expect(paths).toEqual(['/workflow/meta/ref', '/tasks/launch_job_template']);
  });

  it('never throws, whatever the body', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (body) => {
        const result = validateRequest(body, deps);
        expect(typeof result.valid).toBe('boolean');
      }),
    );
  });

  it('never throws for bodies close to a valid one', () => {
    const noop = example('noop');
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('workflow', 'tasks', 'schema_version'), (value, key) => {
        const body = { ...structuredClone(noop), [key]: value };
        expect(typeof validateRequest(body, deps).valid).toBe('boolean');
      }),
    );
  });
});

describe('validateRequest secrets', () => {
  it('masks a secret embedded in a longer input', () => {
    const body = {
      workflow: {
        meta: { ref: 'r', template: 'http_call' },
        vars: { workflow: { input: { token: 's3cr3t-t0ken' } } },
      },
    };
    const result = validateRequest(body, deps);
    expect(result.valid).toBe(true);
    if (!result.valid) return;
    expect(result.plan.tasks.call?.inputs).toEqual({ token: '***', header: 'Authorization: Bearer ***' });
  });
});

describe('validateRequest schedule', () => {
  function withSchedule(schedule: unknown): Body {
    const body = example('noop');
    body.workflow.schedule = schedule;
    return body;
  }

  it('treats an absent or empty schedule as now', () => {
    const body = example('noop');
    delete body.workflow.schedule;
    expect(validateRequest(body, deps).valid).toBe(true);
    expect(validateRequest(withSchedule({}), deps).valid).toBe(true);
  });

  it('accepts when "at" with a start in the future, with Z or an offset', () => {
    for (const start of [
      '2026-12-01T02:00:00Z',
      '2026-12-01T02:00:00+02:00',
      '2026-12-01T02:00:00.123-05:30',
    ]) {
      expect(validateRequest(withSchedule({ when: 'at', start }), deps).valid).toBe(true);
    }
  });

  it('needs a start with when "at"', () => {
    for (const schedule of [{ when: 'at' }, { when: 'at', start: '' }]) {
      expect(errorsOf(validateRequest(withSchedule(schedule), deps))).toEqual([
        {
          path: '/workflow/schedule/start',
          message: 'a schedule with when "at" needs a start date-time such as 2026-12-01T02:00:00Z',
        },
      ]);
    }
  });

  it('refuses a start without an offset, or one that is not a real date', () => {
    for (const start of [
      '2026-12-01T02:00:00',
      '2026-12-01',
      '2026-02-30T00:00:00Z',
      'soon',
      '2026-12-01T25:00:00Z',
    ]) {
      const errors = errorsOf(validateRequest(withSchedule({ when: 'at', start }), deps));
      expect(errors[0]?.path).toBe('/workflow/schedule/start');
      expect(errors[0]?.message).toMatch(/is not an ISO-8601 date-time with an offset or Z/);
    }
  });

  it('refuses a start more than 24 hours in the past', () => {
    const errors = errorsOf(
      validateRequest(withSchedule({ when: 'at', start: '2026-05-30T23:59:59Z' }), deps),
    );
    expect(errors).toEqual([
      {
        path: '/workflow/schedule/start',
        message: "start '2026-05-30T23:59:59Z' is more than 24 hours in the past",
      },
    ]);
  });

  it('accepts a start slightly in the past', () => {
    expect(validateRequest(withSchedule({ when: 'at', start: '2026-05-31T23:00:00Z' }), deps).valid).toBe(
      true,
    );
  });

  it('refuses an unknown when', () => {
    expect(errorsOf(validateRequest(withSchedule({ when: 'later' }), deps))).toEqual([
      { path: '/workflow/schedule/when', message: `'when' must be one of "now", "at"` },
    ]);
  });

  it('warns that a start is ignored with when "now"', () => {
    const result = validateRequest(withSchedule({ when: 'now', start: '2026-12-01T02:00:00Z' }), deps);
    expect(result.valid).toBe(true);
    expect(result.warnings).toContainEqual({
      path: '/workflow/schedule/start',
      message: `start is ignored because the schedule's 'when' is not "at"`,
    });
  });
});

describe('parseDateTime', () => {
  it('converts an offset to UTC', () => {
    expect(parseDateTime('2026-12-01T02:00:00+02:00')).toBe(Date.parse('2026-12-01T00:00:00Z'));
    expect(parseDateTime('2026-12-01T02:00Z')).toBe(Date.parse('2026-12-01T02:00:00Z'));
    expect(parseDateTime('2024-02-29T00:00:00Z')).toBe(Date.parse('2024-02-29T00:00:00Z'));
  });

  it('agrees with Date.parse on every valid ISO date-time', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }),
        (date) => {
          expect(parseDateTime(date.toISOString())).toBe(date.getTime());
        },
      ),
    );
  });
});

describe('payloadHash', () => {
  it('is the same for the same payload with keys in another order', () => {
    expect(payloadHash({ a: 1, b: { c: [1, { d: 2, e: 3 }] } })).toBe(
      payloadHash({ b: { c: [1, { e: 3, d: 2 }] }, a: 1 }),
    );
  });

  it('differs when a value differs', () => {
    const body = example('noop');
    const changed = example('noop');
    changed.tasks.noop_01.vars.input.delay = 31;
    expect(payloadHash(body)).not.toBe(payloadHash(changed));
    expect(payloadHash(body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('writes canonical JSON with sorted keys', () => {
    expect(canonicalJson({ b: [1, 'x', null], a: { z: true, y: undefined } })).toBe(
      '{"a":{"z":true},"b":[1,"x",null]}',
    );
  });

  it('orders keys by UTF-16 code units, for few keys and for many', () => {
    const keys = ['b', 'B', 'é', 'a', '_', '10', '9', 'aa'];
    const expected = [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    const few = Object.fromEntries(keys.map((k) => [k, 1]));
    expect(canonicalJson(few)).toBe(`{${expected.map((k) => `${JSON.stringify(k)}:1`).join(',')}}`);
    const many = Array.from({ length: 40 }, (_, i) => `k${(i * 7) % 40}`);
    const text = canonicalJson(Object.fromEntries(many.map((k) => [k, k])));
    const sorted = [...many].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    expect(text).toBe(`{${sorted.map((k) => `"${k}":"${k}"`).join(',')}}`);
  });
});
