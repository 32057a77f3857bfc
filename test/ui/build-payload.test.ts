import { describe, expect, it } from 'vitest';
import { buildPayload, type SubmitValues } from '../../ui/src/lib/build-payload.js';
import { localDateTimeToIso } from '../../ui/src/lib/schedule.js';
import type { TemplateInput } from '../../ui/src/lib/template-inputs.js';

const inputs: TemplateInput[] = [
  {
    name: 'delay',
    type: 'number',
    secret: false,
    required: false,
    uses: ['noop_01.runtime_delay'],
    defaultValue: 60,
  },
  { name: 'token', type: 'string', secret: true, required: true, uses: ['a.awx_token'] },
];
const values: SubmitValues = {
  template: 'noop_template_run',
  version: 1,
  ref: ' r-1 ',
  name: '',
  description: 'VM build',
  traceId: '',
  inputs: { delay: '1', token: 's3cret' },
  when: 'now',
  at: '',
};

describe('buildPayload', () => {
  it('builds the schema_version 2 payload the API takes', () => {
    const built = buildPayload(values, inputs);
    expect(built.problems.size).toBe(0);
    expect(built.payload).toEqual({
      schema_version: 2,
      workflow: {
        meta: {
          ref: 'r-1',
          template: 'noop_template_run',
          template_schema_version: 1,
          description: 'VM build',
        },
        vars: { workflow: { input: { delay: 1, token: 's3cret' } } },
        schedule: { when: 'now', start: '' },
      },
    });
  });

  it('leaves secrets out when asked (the JSON tab shows the payload on screen)', () => {
    const built = buildPayload(values, inputs, { leaveOutSecrets: true });
    expect(JSON.stringify(built.payload)).not.toContain('s3cret');
  });

  it('reports a bad number, a missing ref and a missing start time at their fields', () => {
    const built = buildPayload({ ...values, ref: '', inputs: { delay: 'soon' }, when: 'at', at: '' }, inputs);
    expect([...built.problems.keys()].sort()).toEqual(['input:delay', 'ref', 'schedule']);
  });

  it('sends a start time picked in local time as ISO-8601 with the local offset', () => {
    const built = buildPayload({ ...values, when: 'at', at: '2031-03-04T05:06' }, inputs);
    const start = (built.payload.workflow as { schedule: { start: string } }).schedule.start;
    expect(start).toMatch(/^2031-03-04T05:06:00[+-]\d{2}:\d{2}$/);
    expect(Date.parse(start)).toBe(new Date(2031, 2, 4, 5, 6).getTime());
  });
});

describe('localDateTimeToIso', () => {
  it('refuses text that is no date-time, or a day that does not exist', () => {
    expect(localDateTimeToIso('tomorrow')).toBeNull();
    expect(localDateTimeToIso('2031-02-30T10:00')).toBeNull();
  });
});
