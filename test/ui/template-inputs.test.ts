import { describe, expect, it } from 'vitest';
import type { TaskClassView, TemplateDocument } from '../../src/api/answers.js';
import { parseFieldValue, templateInputs } from '../../ui/src/lib/template-inputs.js';
import { ROOT } from '../helpers/examples.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const noopTemplate = JSON.parse(
  readFileSync(path.join(ROOT, 'templates/noop_template_run.json'), 'utf8'),
) as TemplateDocument;
const noop: TaskClassView = {
  name: 'noop',
  description: '',
  inputs: { runtime_delay: { type: 'number', description: 'How long to wait.' } },
  outputs: {},
  ping_interval_seconds: 1,
};

describe('templateInputs', () => {
  it('lists the noop template inputs with their types and the global defaults', () => {
    const inputs = templateInputs(noopTemplate, new Map([['noop', noop]]));
    const byName = new Map(inputs.map((input) => [input.name, input]));
    expect(inputs.map((input) => input.name)).toEqual(['delay', 'expires', 'global_delay']);
    expect(byName.get('delay')).toMatchObject({
      type: 'number',
      required: false,
      defaultValue: 60,
      secret: false,
    });
    expect(byName.get('delay')?.uses).toEqual([
      'noop_01.runtime_delay',
      'noop_02.runtime_delay',
      'noop_03.runtime_delay',
    ]);
    expect(byName.get('expires')).toMatchObject({
      type: 'any',
      defaultValue: '${workflow.input.global_delay}',
    });
    expect(byName.get('global_delay')).toMatchObject({ required: false, uses: ['default of expires'] });
  });

  it('marks a variable required when an attribute it feeds has no default, and secret from the class or the name', () => {
    const document: TemplateDocument = {
      ref_name: 't',
      schema_version: 1,
      tasks: [
        {
          ref_name: 'launch',
          class: 'awx',
          input: {
            awx_token: '${workflow.input.token}',
            note: 'job ${workflow.input.job} $${workflow.input.not_a_var}',
          },
        },
        { ref_name: 'other', class: 'custom', input: { password: '${workflow.input.pw}' } },
      ],
    };
    const custom: TaskClassView = {
      ...noop,
      name: 'custom',
      inputs: { password: { type: 'string', secret: true } },
    };
    const inputs = templateInputs(document, new Map([['custom', custom]]));
    const byName = new Map(inputs.map((input) => [input.name, input]));
    expect([...byName.keys()]).toEqual(['token', 'job', 'pw']);
    expect(byName.get('token')).toMatchObject({ required: true, secret: true });
    expect(byName.get('job')).toMatchObject({ required: true, secret: false, type: 'any' });
    expect(byName.get('pw')).toMatchObject({ secret: true, type: 'string' });
  });
});

describe('parseFieldValue', () => {
  it('leaves an empty field out so the default applies', () => {
    expect(parseFieldValue('number', '  ')).toEqual({});
  });

  it('turns typed text into JSON values of the field type', () => {
    expect(parseFieldValue('number', '1.5')).toEqual({ value: 1.5 });
    expect(parseFieldValue('integer', '1.5')).toEqual({ error: 'must be a whole number' });
    expect(parseFieldValue('boolean', 'false')).toEqual({ value: false });
    expect(parseFieldValue('object', '{"a":1}')).toEqual({ value: { a: 1 } });
    expect(parseFieldValue('object', '[1]').error).toBe('must be a JSON object');
    expect(parseFieldValue('string', ' 42 ')).toEqual({ value: ' 42 ' });
  });

  it('reads an untyped field as JSON when it is JSON and as text otherwise', () => {
    expect(parseFieldValue('any', '600')).toEqual({ value: 600 });
    expect(parseFieldValue('any', 'web-01')).toEqual({ value: 'web-01' });
  });
});
