import { describe, expect, it } from 'vitest';
import { ExpressionError, O3Error } from '../../src/errors.js';
import type { RequestPayload } from '../../src/request/payload.js';
import {
  resolveTaskInputs,
  resolveTaskInputsDetailed,
  unusedRequestVariables,
  type OutputReader,
} from '../../src/request/resolve-inputs.js';
import { compileTemplate } from '../../src/template/compile-template.js';
import type { CompiledTemplate } from '../../src/template/types.js';
import { lookupStub, readRepoJson } from './support/stub-task-classes.js';

const noopTemplate = compileTemplate(readRepoJson('templates/noop_template_run.json'), {
  lookupClass: lookupStub,
});
const noopRequest = readRepoJson('examples/noop_request.json') as RequestPayload;

const outputs: Record<string, Record<string, unknown>> = {
  noop_01: { rand_no: 17 },
  noop_02: { rand_no: 912 },
};
const readOutput: OutputReader = (task, name) =>
  outputs[task] !== undefined && Object.hasOwn(outputs[task], name)
    ? { found: true, value: outputs[task][name] }
    : { found: false };

/** A payload with only the given variables. */
function payload(vars: {
  tasks?: Record<string, Record<string, unknown>>;
  workflow?: Record<string, unknown>;
  global?: Record<string, unknown>;
}): RequestPayload {
  return {
    workflow: {
      meta: { ref: 'r1', template: 'tpl' },
      vars: { workflow: { input: vars.workflow ?? {} }, global: { input: vars.global ?? {} } },
    },
    tasks: Object.fromEntries(Object.entries(vars.tasks ?? {}).map(([t, input]) => [t, { vars: { input } }])),
  };
}

/** A one-task template `tpl` with task `t` of class noop, the given input and globals. */
function oneTask(input: Record<string, unknown>, global?: Record<string, unknown>): CompiledTemplate {
  const doc = {
    name: 'tpl',
    ref_name: 'tpl',
    schema_version: 1,
    ...(global === undefined ? {} : { workflow: { input: { global } } }),
    tasks: [
      { name: 'source', ref_name: 'src', class: 'noop' },
      { name: 't', ref_name: 't', class: 'noop', input },
    ],
  };
  return compileTemplate(doc, { lookupClass: lookupStub });
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('resolveTaskInputs with the article files', () => {
  it('gives noop_01 and noop_02 their own delay and the global expires', () => {
    for (const task of ['noop_01', 'noop_02']) {
      expect(resolveTaskInputs(noopTemplate, task, noopRequest, readOutput)).toEqual({
        runtime_delay: 30,
        expires: 89009,
      });
    }
  });

  it('gives noop_03 the template default runtime_delay and its parents’ outputs', () => {
    expect(resolveTaskInputs(noopTemplate, 'noop_03', noopRequest, readOutput)).toEqual({
      runtime_delay: 60,
      rand_no: 17,
      rand_no2: 912,
      expires: 89009,
    });
  });

  it('falls back to global_delay (600) for expires when the request does not send expires', () => {
    const request = structuredClone(noopRequest);
    delete request.workflow.vars!.global!.input!.expires;
    expect(resolveTaskInputs(noopTemplate, 'noop_01', request, readOutput).expires).toBe(600);
  });

  it('copies no variable the template does not use', () => {
    const inputs = resolveTaskInputs(noopTemplate, 'noop_01', noopRequest, readOutput);
    expect(Object.keys(inputs)).toEqual(['runtime_delay', 'expires']);
  });
});

describe('resolveTaskInputs lookup order', () => {
  const template = oneTask({ v: '${workflow.input.v}' });

  it('prefers the task’s own variables, then the workflow’s, then the global ones', () => {
    const all = payload({ tasks: { t: { v: 1 } }, workflow: { v: 2 }, global: { v: 3 } });
    expect(resolveTaskInputs(template, 't', all, readOutput).v).toBe(1);
    expect(
      resolveTaskInputs(template, 't', payload({ workflow: { v: 2 }, global: { v: 3 } }), readOutput).v,
    ).toBe(2);
    expect(resolveTaskInputs(template, 't', payload({ global: { v: 3 } }), readOutput).v).toBe(3);
  });

  it('does not use another task’s variables', () => {
    const error = thrownBy(() =>
      resolveTaskInputs(template, 't', payload({ tasks: { src: { v: 1 } } }), readOutput),
    );
    expect(error).toBeInstanceOf(O3Error);
  });

  it('uses the template default keyed by the attribute name, not the variable name', () => {
    const byAttribute = oneTask(
      { attr: '${workflow.input.var}' },
      { attr: 'default-by-attribute', var: 'nope' },
    );
    expect(resolveTaskInputs(byAttribute, 't', payload({}), readOutput).attr).toBe('default-by-attribute');
  });

  it('resolves a default that is itself an expression, keyed by the variable name for its own default', () => {
    const nested = oneTask(
      { attr: '${workflow.input.v}' },
      { attr: '${workflow.input.w}', w: 'from-w-default' },
    );
    expect(resolveTaskInputs(nested, 't', payload({}), readOutput).attr).toBe('from-w-default');
    expect(resolveTaskInputs(nested, 't', payload({ global: { w: 'sent' } }), readOutput).attr).toBe('sent');
  });

  it('keeps the JSON type of a variable and applies a path into it', () => {
    const typed = oneTask({ whole: '${workflow.input.cfg}', host: '${workflow.input.cfg.hosts[1]}' });
    const cfg = { hosts: ['a', 'b'], n: 1 };
    expect(resolveTaskInputs(typed, 't', payload({ workflow: { cfg } }), readOutput)).toEqual({
      whole: cfg,
      host: 'b',
    });
  });

  it('interpolates variables into longer text', () => {
    const text = oneTask({ label: 'vm-${workflow.input.n}-${workflow.input.o}' });
    expect(resolveTaskInputs(text, 't', payload({ workflow: { n: 3, o: { a: 1 } } }), readOutput).label).toBe(
      'vm-3-{"a":1}',
    );
  });

  it('treats null as a value that was sent', () => {
    expect(resolveTaskInputs(template, 't', payload({ workflow: { v: null } }), readOutput).v).toBeNull();
  });

  it('does not find variables on the prototype, such as constructor', () => {
    const proto = oneTask({ c: '${workflow.input.constructor}' });
    expect(thrownBy(() => resolveTaskInputs(proto, 't', payload({}), readOutput))).toBeInstanceOf(O3Error);
  });

  it('returns copies, so changing an input leaves the request alone', () => {
    const request = payload({ workflow: { v: { n: 1 } } });
    const inputs = resolveTaskInputs(template, 't', request, readOutput) as { v: { n: number } };
    inputs.v.n = 2;
    expect(request.workflow.vars?.workflow?.input?.v).toEqual({ n: 1 });
  });
});

describe('resolveTaskInputs errors', () => {
  it('names the task, the attribute and the variable when no value is found', () => {
    const template = oneTask({ runtime_delay: '${workflow.input.delay}' });
    const error = thrownBy(() => resolveTaskInputs(template, 't', payload({}), readOutput)) as O3Error;
    expect(error).toBeInstanceOf(O3Error);
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(
      /^task t: input 'runtime_delay' needs \$\{workflow\.input\.delay\}, but the request sends no 'delay'/,
    );
    expect(error.details).toEqual([{ path: '/tasks/t', message: error.message }]);
  });

  it('names the default it went through when a nested variable is missing', () => {
    const request = structuredClone(noopRequest);
    delete request.workflow.vars!.global!.input!.expires;
    delete request.workflow.vars!.global!.input!.global_delay;
    const error = thrownBy(() => resolveTaskInputs(noopTemplate, 'noop_01', request, readOutput)) as O3Error;
    expect(error.message).toMatch(
      /task noop_01: input 'expires' needs \$\{workflow\.input\.global_delay\} \(through the default 'expires'\), but the request sends none of 'expires', 'global_delay'/,
    );
  });

  it('reports defaults that lead back to themselves instead of recursing forever', () => {
    const loop = oneTask(
      { a: '${workflow.input.x}' },
      { a: '${workflow.input.b}', b: '${workflow.input.a}' },
    );
    const error = thrownBy(() => resolveTaskInputs(loop, 't', payload({}), readOutput)) as O3Error;
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/lead back to themselves \(a -> b -> a\)/);
    const self = oneTask({ a: '${workflow.input.a}' }, { a: '${workflow.input.a}' });
    expect(() => resolveTaskInputs(self, 't', payload({}), readOutput)).toThrow(/\(a -> a\)/);
  });

  it('names the task and output when a parent succeeded without setting it', () => {
    const error = thrownBy(() =>
      resolveTaskInputs(noopTemplate, 'noop_03', noopRequest, (task, name) =>
        task === 'noop_02' ? { found: false } : readOutput(task, name),
      ),
    );
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as Error).message).toMatch(/^task noop_02 succeeded without setting output 'rand_no'/);
  });

  it('passes null through for an optional parent that failed', () => {
    const inputs = resolveTaskInputs(noopTemplate, 'noop_03', noopRequest, () => ({
      found: true,
      value: null,
    }));
    expect(inputs.rand_no).toBeNull();
  });

  it('fails with an ExpressionError when a path into an output does not exist', () => {
    const template = oneTask({ x: '${src.output.rand_no.deep}' });
    expect(() => resolveTaskInputs(template, 't', payload({}), () => ({ found: true, value: 5 }))).toThrow(
      ExpressionError,
    );
  });

  it('rejects a task that is not in the template', () => {
    expect(() => resolveTaskInputs(noopTemplate, 'nope', noopRequest, readOutput)).toThrow(
      /has no task 'nope'/,
    );
  });
});

describe('resolveTaskInputsDetailed', () => {
  it('shows output references as their expression text when no reader is given', () => {
    const { inputs, problems } = resolveTaskInputsDetailed(noopTemplate, 'noop_03', noopRequest);
    expect(problems).toEqual([]);
    expect(inputs).toEqual({
      runtime_delay: 60,
      rand_no: '${noop_01.output.rand_no}',
      rand_no2: '${noop_02.output.rand_no}',
      expires: 89009,
    });
  });

  it('records where each request variable came from', () => {
    const { sources } = resolveTaskInputsDetailed(noopTemplate, 'noop_01', noopRequest);
    expect(sources).toEqual({
      runtime_delay: '/tasks/noop_01/vars/input/delay',
      expires: '/workflow/vars/global/input/expires',
    });
  });

  it('collects one problem per attribute instead of stopping at the first', () => {
    const template = oneTask({ a: '${workflow.input.x}', b: '${workflow.input.y}', c: 1 });
    const { inputs, problems } = resolveTaskInputsDetailed(template, 't', payload({}));
    expect(problems).toHaveLength(2);
    expect(problems.every((p) => p.path === '/tasks/t')).toBe(true);
    expect(inputs).toEqual({ c: 1 });
  });
});

describe('unusedRequestVariables', () => {
  it('lists exactly the variables the article calls ignored', () => {
    const warnings = unusedRequestVariables(noopTemplate, noopRequest);
    expect(warnings.map((w) => w.path)).toEqual([
      '/tasks/noop_01/vars/input/ignored',
      '/tasks/noop_02/vars/input/ignored_as_well',
      '/workflow/vars/global/input/not_mapped',
      '/workflow/vars/workflow/input/wflow_priv_var',
    ]);
    expect(warnings[0]?.message).toBe("variable 'ignored' is not used by task noop_01 and is ignored");
    expect(warnings[2]?.message).toBe(
      "variable 'not_mapped' is not used by any task of template noop_template_run and is ignored",
    );
  });

  it('finds no unused variables in the AWX and TFE examples', () => {
    for (const [templateFile, requestFile] of [
      ['templates/awx_job_template_run.json', 'examples/awx_request.json'],
      ['templates/tfe_virtual_machine_template.json', 'examples/tfe_request.json'],
    ] as const) {
      const template = compileTemplate(readRepoJson(templateFile), { lookupClass: lookupStub });
      expect(unusedRequestVariables(template, readRepoJson(requestFile) as RequestPayload)).toEqual([]);
    }
  });

  it('counts a task variable used through a nested global default', () => {
    const template = oneTask({ a: '${workflow.input.x}' }, { a: '${workflow.input.deep}' });
    expect(unusedRequestVariables(template, payload({ tasks: { t: { deep: 1 } } }))).toEqual([]);
  });

  it('counts a task variable as unused when only another task reads it', () => {
    const template = oneTask({ a: '${workflow.input.x}' });
    expect(
      unusedRequestVariables(template, payload({ tasks: { src: { x: 1 } } })).map((w) => w.path),
    ).toEqual(['/tasks/src/vars/input/x']);
  });

  it('leaves tasks.X naming no task to validation', () => {
    expect(unusedRequestVariables(noopTemplate, payload({ tasks: { ghost: { a: 1 } } }))).toEqual([]);
  });
});
