import { describe, expect, it } from 'vitest';
import type { TaskRunView, TemplateDocument } from '../../src/api/answers.js';
import { revisePrefill } from '../../ui/src/lib/revise-prefill.js';

const template: TemplateDocument = {
  ref_name: 'noop_template_run',
  schema_version: 1,
  workflow: { input: { global: { runtime_delay: 60, expires: '${workflow.input.global_delay}' } } },
  tasks: [
    {
      ref_name: 'a',
      class: 'noop',
      input: { runtime_delay: '${workflow.input.delay}', token: '${workflow.input.token}' },
    },
    { ref_name: 'b', class: 'noop', input: { runtime_delay: '${workflow.input.delay}' } },
    { ref_name: 'c', class: 'noop', input: { x: '${workflow.input.later}' } },
  ],
};

function run(ref: string, inputs: Record<string, unknown> | null): TaskRunView {
  return {
    ref_name: ref,
    name: ref,
    class: 'noop',
    uuid: `${ref}-uuid`,
    state: 'successful',
    last_task_state: 'never',
    attempt: 1,
    optional: false,
    always_run: false,
    depends_on: [],
    started_at: null,
    ended_at: null,
    duration_ms: null,
    inputs,
    outputs: {},
    error: null,
  };
}

describe('revisePrefill', () => {
  it('reads the variables back from the resolved inputs, per task where tasks differ', () => {
    const prefill = revisePrefill(template, [
      run('a', { runtime_delay: 30, token: 'abc', expires: 600 }),
      run('b', { runtime_delay: 5, expires: 600 }),
      run('c', null),
    ]);
    expect(prefill.body.vars.workflow.input).toEqual({ token: 'abc', expires: 600 });
    expect(prefill.body.tasks).toEqual({
      a: { vars: { input: { delay: 30 } } },
      b: { vars: { input: { delay: 5 } } },
    });
    expect(prefill.body.schedule).toEqual({ when: 'now', start: '' });
    expect(prefill.omitted).toEqual(['later']);
  });

  it('never copies a masked value and names it instead', () => {
    const prefill = revisePrefill(template, [
      run('a', { runtime_delay: 1, token: '***', expires: 600 }),
      run('b', { runtime_delay: 1, expires: 600 }),
    ]);
    expect(JSON.stringify(prefill.body)).not.toContain('***');
    expect(prefill.omitted).toContain('token');
    expect(prefill.body.vars.workflow.input).toEqual({ delay: 1, expires: 600 });
  });

  it('leaves out a global value equal to its literal default', () => {
    const document: TemplateDocument = { ...template, workflow: { input: { global: { expires: 600 } } } };
    const prefill = revisePrefill(document, [run('b', { runtime_delay: 2, expires: 600 })]);
    expect(prefill.body.vars.workflow.input).toEqual({ delay: 2 });
  });
});
