import { describe, expect, it } from 'vitest';
import { TemplateError, type ErrorDetail } from '../../src/errors.js';
import { compileTemplate } from '../../src/template/compile-template.js';
import { lookupStub, readRepoJson, stubMeta } from './support/stub-task-classes.js';

const noopTemplate = readRepoJson('templates/noop_template_run.json');
const awxTemplate = readRepoJson('templates/awx_job_template_run.json');
const tfeTemplate = readRepoJson('templates/tfe_virtual_machine_template.json');

/** A small valid template to break one way per test. */
function template(
  tasks: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { name: 'T', ref_name: 'tpl', schema_version: 1, tasks, ...extra };
}

function task(refName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: refName, ref_name: refName, class: 'noop', ...extra };
}

/** The details of the TemplateError compileTemplate throws (fails the test if it does not throw). */
function problemsOf(doc: unknown, source?: string): ErrorDetail[] {
  try {
    compileTemplate(doc, { lookupClass: lookupStub, source });
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    return (error as TemplateError).details;
  }
  throw new Error('compileTemplate accepted the template');
}

describe('compileTemplate with the article templates', () => {
  it('compiles the noop template with implicit dependencies and levels', () => {
    const compiled = compileTemplate(noopTemplate, {
      lookupClass: lookupStub,
      source: 'templates/noop.json',
    });
    expect(compiled.refName).toBe('noop_template_run');
    expect(compiled.version).toBe(1);
    expect(compiled.source).toBe('templates/noop.json');
    expect(compiled.levels).toEqual([['noop_01', 'noop_02'], ['noop_03']]);
    expect(compiled.taskByRef.get('noop_03')?.dependencies).toEqual(['noop_01', 'noop_02']);
    expect(compiled.taskByRef.get('noop_01')?.dependents).toEqual(['noop_03']);
    expect(Object.keys(compiled.globals)).toEqual(['runtime_delay', 'expires']);
  });

  it('compiles the AWX template into one task', () => {
    const compiled = compileTemplate(awxTemplate, { lookupClass: lookupStub });
    expect(compiled.levels).toEqual([['launch_job_template']]);
    expect(compiled.source).toBeNull();
  });

  it('compiles the TFE template, merging output references with depends_on', () => {
    const compiled = compileTemplate(tfeTemplate, { lookupClass: lookupStub });
    expect(compiled.levels).toEqual([
      ['workspace_id_task'],
      ['workspace_configuration_version'],
      ['workspace_config_file_upload'],
      ['workspace_run'],
      ['workspace_run_apply'],
    ]);
    const run = compiled.taskByRef.get('workspace_run');
    expect(run?.dependsOn).toEqual(['workspace_config_file_upload']);
    expect(run?.dependencies).toEqual([
      'workspace_id_task',
      'workspace_configuration_version',
      'workspace_config_file_upload',
    ]);
    expect(compiled.taskByRef.get('workspace_id_task')?.dependents).toEqual([
      'workspace_configuration_version',
      'workspace_run',
    ]);
    expect(compiled.taskByRef.get('workspace_configuration_version')?.alwaysRun).toBe(true);
  });

  it('applies the defaults of the optional fields', () => {
    const compiled = compileTemplate(noopTemplate, { lookupClass: lookupStub });
    const first = compiled.tasks[0]!;
    expect(first).toMatchObject({
      refName: 'noop_01',
      name: 'no op task #1',
      description: 'Launches a noop task #1',
      className: 'noop',
      alwaysRun: false,
      optional: false,
      dependsOn: [],
      timeoutMs: null,
      pingIntervalMs: null,
      retry: { maxAttempts: 1, delayMs: 5000, backoff: 2 },
    });
  });

  it('converts timeout, ping interval and retry from seconds to milliseconds', () => {
    const doc = template([
      task('a', {
        timeout_seconds: 1.5,
        ping_interval_seconds: 10,
        retry: { max_attempts: 3, delay_seconds: 0.25, backoff: 1 },
        optional: true,
        always_run: true,
      }),
    ]);
    const [compiled] = compileTemplate(doc, { lookupClass: lookupStub }).tasks;
    expect(compiled).toMatchObject({
      timeoutMs: 1500,
      pingIntervalMs: 10_000,
      retry: { maxAttempts: 3, delayMs: 250, backoff: 1 },
      optional: true,
      alwaysRun: true,
    });
  });

  it('deep-freezes a copy of the document and leaves the caller’s object alone', () => {
    const doc = template([task('a', { input: { runtime_delay: 5 } })]);
    const compiled = compileTemplate(doc, { lookupClass: lookupStub });
    expect(Object.isFrozen(compiled.document)).toBe(true);
    expect(Object.isFrozen(compiled.document.tasks[0]?.input)).toBe(true);
    expect(Object.isFrozen(doc)).toBe(false);
  });
});

describe('compileTemplate checks', () => {
  it('rejects a document that does not match the schema', () => {
    const problems = problemsOf({ name: 'T', ref_name: 'tpl', schema_version: '1', tasks: [] });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: '/schema_version', message: "'schema_version' must be an integer" },
        { path: '/tasks', message: "'tasks' must have at least 1 item(s)" },
      ]),
    );
    expect(problemsOf('not a template')).toEqual([{ path: '', message: 'the document must be an object' }]);
  });

  it('rejects a missing required field', () => {
    expect(problemsOf(template([{ name: 'x', ref_name: 'x' }]))).toContainEqual({
      path: '/tasks/0/class',
      message: "'class' is required",
    });
  });

  it('catches a typo such as depend_on and suggests the field', () => {
    expect(problemsOf(template([task('a', { depend_on: [] })]))).toEqual([
      { path: '/tasks/0/depend_on', message: "unknown field 'depend_on' (did you mean 'depends_on'?)" },
    ]);
  });

  it('rejects a ref_name that is not an identifier', () => {
    expect(problemsOf(template([task('no op')]))[0]?.path).toBe('/tasks/0/ref_name');
    expect(problemsOf({ ...template([task('a')]), ref_name: '9lives' })[0]?.path).toBe('/ref_name');
  });

  it('rejects out-of-range timeout, ping interval and retry values', () => {
    const doc = template([
      task('a', {
        timeout_seconds: 0,
        ping_interval_seconds: -1,
        retry: { max_attempts: 0, delay_seconds: -1, backoff: 0.5 },
      }),
    ]);
    expect(problemsOf(doc).map((p) => p.path)).toEqual([
      '/tasks/0/timeout_seconds',
      '/tasks/0/ping_interval_seconds',
      '/tasks/0/retry/max_attempts',
      '/tasks/0/retry/delay_seconds',
      '/tasks/0/retry/backoff',
    ]);
  });

  it('rejects two tasks with the same ref_name', () => {
    expect(problemsOf(template([task('a'), task('b'), task('a')]))).toEqual([
      { path: '/tasks/2/ref_name', message: "task ref_name 'a' is already used by /tasks/0" },
    ]);
  });

  it('rejects a task named workflow, which expressions reserve', () => {
    expect(problemsOf(template([task('workflow')]))[0]).toEqual({
      path: '/tasks/0/ref_name',
      message: "'workflow' is reserved and cannot be a task ref_name",
    });
  });

  it('rejects a class that is not registered', () => {
    expect(problemsOf(template([task('a'), task('b'), task('c', { class: 'foo' })]))).toEqual([
      { path: '/tasks/2/class', message: "task class 'foo' is not registered" },
    ]);
  });

  it('rejects an output reference to a task that is not in the template', () => {
    expect(problemsOf(template([task('a', { input: { x: '${ghost.output.y}' } })]))).toEqual([
      {
        path: '/tasks/0/input/x',
        message: "${ghost.output.y} names 'ghost', which is not a task of this template",
      },
    ]);
  });

  it('rejects a task reading its own output', () => {
    expect(problemsOf(template([task('a', { input: { x: 'v-${a.output.y}' } })]))).toEqual([
      { path: '/tasks/0/input/x', message: "task 'a' cannot read its own output (${a.output.y})" },
    ]);
  });

  it('rejects a depends_on entry that names no task', () => {
    expect(problemsOf(template([task('a'), task('b', { depends_on: ['a', 'nope'] })]))).toEqual([
      {
        path: '/tasks/1/depends_on/1',
        message: "depends_on names 'nope', which is not a task of this template",
      },
    ]);
  });

  it('rejects a cycle between a and b, naming it', () => {
    const doc = template([task('a', { input: { x: '${b.output.y}' } }), task('b', { depends_on: ['a'] })]);
    expect(problemsOf(doc)).toEqual([
      { path: '/tasks/0', message: 'the dependencies form a cycle: a -> b -> a' },
    ]);
  });

  it('rejects a task that depends on itself', () => {
    expect(problemsOf(template([task('a', { depends_on: ['a'] })]))).toEqual([
      { path: '/tasks/0', message: 'the dependencies form a cycle: a -> a' },
    ]);
  });

  it('rejects an expression that does not parse, pointing into nested input', () => {
    const problems = problemsOf(
      template([task('a', { input: { cfg: { list: ['ok', '${workflow.input.}'] } } })]),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toBe('/tasks/0/input/cfg/list/1');
    expect(problems[0]?.message).toMatch(/bad expression .* at offset 17: expected an input name/);
  });

  it('rejects a global default that reads a task output', () => {
    const doc = template([task('a')], { workflow: { input: { global: { g: '${a.output.x}' } } } });
    expect(problemsOf(doc)).toEqual([
      {
        path: '/workflow/input/global/g',
        message:
          "a global default may use only ${workflow.input.*}, but 'g' reads the task output ${a.output.x}",
      },
    ]);
  });

  it('rejects a malformed expression in a global default', () => {
    const doc = template([task('a')], { workflow: { input: { global: { g: '${workflow.input' } } } });
    expect(problemsOf(doc)[0]?.path).toBe('/workflow/input/global/g');
  });

  it('rejects a literal of the wrong type for a declared class input', () => {
    expect(problemsOf(template([task('a', { input: { runtime_delay: 'sixty' } })]))).toEqual([
      {
        path: '/tasks/0/input/runtime_delay',
        message: "input 'runtime_delay' of class noop must be a number, not a string",
      },
    ]);
  });

  it('rejects an interpolated string where a class declares a number, but not a whole-value expression', () => {
    const doc = template([task('a', { input: { runtime_delay: '${workflow.input.d}s' } })]);
    expect(problemsOf(doc)[0]?.message).toBe(
      "input 'runtime_delay' of class noop must be a number, not a string",
    );
    const whole = template([task('a', { input: { runtime_delay: '${workflow.input.d}' } })]);
    expect(() => compileTemplate(whole, { lookupClass: lookupStub })).not.toThrow();
  });

  it('rejects a global default whose literal type does not suit a class that receives it', () => {
    const doc = template([task('a'), task('b')], {
      workflow: { input: { global: { runtime_delay: 'slow' } } },
    });
    expect(problemsOf(doc)).toEqual([
      {
        path: '/workflow/input/global/runtime_delay',
        message: "the default 'runtime_delay' is a string, but task 'a' (class noop) needs a number",
      },
    ]);
  });

  it('rejects a task that leaves a required class input unset', () => {
    const doc = template([
      task('launch', { class: 'awx_job_launch', input: { awx_url: 'https://awx', job_template_id: 1 } }),
    ]);
    expect(problemsOf(doc)).toEqual([
      {
        path: '/tasks/0/input',
        message:
          "task 'launch' (class awx_job_launch) needs input 'awx_token', which neither its input nor workflow.input.global sets",
      },
    ]);
  });

  it('accepts a required class input set by a global default', () => {
    const doc = template(
      [task('launch', { class: 'awx_job_launch', input: { awx_url: 'https://awx', job_template_id: 1 } })],
      { workflow: { input: { global: { awx_token: '${workflow.input.token}' } } } },
    );
    expect(() => compileTemplate(doc, { lookupClass: lookupStub })).not.toThrow();
  });

  it('accepts any value for a class that declares no types', () => {
    const lookupClass = (name: string) => (name === 'free' ? stubMeta('free') : undefined);
    const doc = template([
      task('a', { class: 'free', input: { anything: { deep: [1, '${workflow.input.x}'] } } }),
    ]);
    expect(compileTemplate(doc, { lookupClass }).tasks[0]?.input.anything?.kind).toBe('object');
  });

  it('reports every problem at once, with the file first in the message', () => {
    const doc = template([
      task('a', { class: 'foo', depend_on: [] }),
      task('a', { input: { x: '${ghost.output.y}', runtime_delay: true } }),
    ]);
    let thrown: unknown;
    try {
      compileTemplate(doc, { lookupClass: lookupStub, source: 'templates/bad.json' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TemplateError);
    const error = thrown as TemplateError;
    expect(error.file).toBe('templates/bad.json');
    expect(error.message).toMatch(/^templates\/bad\.json: template 'tpl' is invalid \(5 problems\): /);
    expect(error.details.map((d) => d.path)).toEqual([
      '/tasks/0/depend_on',
      '/tasks/1/ref_name',
      '/tasks/0/class',
      '/tasks/1/input/x',
      '/tasks/1/input/runtime_delay',
    ]);
  });

  it('refuses a document nested too deeply instead of overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    expect(problemsOf(template([task('a', { input: { deep } })]))[0]?.message).toMatch(/nested more than/);
  });
});
