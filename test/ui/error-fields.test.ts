import { describe, expect, it } from 'vitest';
import { fieldOfPointer, placeErrors } from '../../ui/src/lib/error-fields.js';

const inputs = new Set(['delay', 'a/b']);

describe('fieldOfPointer', () => {
  it('places variables of every level at the input field', () => {
    expect(fieldOfPointer('/workflow/vars/workflow/input/delay', inputs)).toBe('input:delay');
    expect(fieldOfPointer('/workflow/vars/global/input/delay', inputs)).toBe('input:delay');
    expect(fieldOfPointer('/tasks/noop_01/vars/input/delay', inputs)).toBe('input:delay');
    expect(fieldOfPointer('/workflow/vars/workflow/input/a~1b', inputs)).toBe('input:a/b');
  });

  it('places meta fields and the schedule, and leaves the rest to the top of the form', () => {
    expect(fieldOfPointer('/workflow/meta/ref', inputs)).toBe('ref');
    expect(fieldOfPointer('/workflow/schedule/start', inputs)).toBe('schedule');
    expect(fieldOfPointer('/tasks/noop_01', inputs)).toBeNull();
    expect(fieldOfPointer('/workflow/vars/workflow/input/unknown', inputs)).toBeNull();
    expect(fieldOfPointer('', inputs)).toBeNull();
  });
});

describe('placeErrors', () => {
  it('groups messages by field, once each, and keeps the others in order', () => {
    const placed = placeErrors(
      [
        { path: '/tasks/zz', message: 'no task zz' },
        { path: '/workflow/vars/workflow/input/delay', message: 'must be a number' },
        { path: '/tasks/noop_02/vars/input/delay', message: 'must be a number' },
        { path: '/workflow/meta/ref', message: 'is required' },
      ],
      inputs,
    );
    expect(placed.fields.get('input:delay')).toEqual(['must be a number']);
    expect(placed.fields.get('ref')).toEqual(['is required']);
    expect(placed.general).toEqual([{ path: '/tasks/zz', message: 'no task zz' }]);
  });

  it('places a missing variable reported at its task at the field of the variable it names', () => {
    const needs =
      "task noop_01: input 'expires' needs ${workflow.input.delay} (through the default 'expires')";
    const placed = placeErrors(
      [
        { path: '/tasks/noop_01', message: needs },
        { path: '/tasks', message: 'needs ${workflow.input.other} and ${workflow.input.delay}' },
      ],
      new Set(['delay']),
    );
    expect(placed.fields.get('input:delay')).toEqual([
      needs,
      'needs ${workflow.input.other} and ${workflow.input.delay}',
    ]);
    expect(placed.general).toEqual([]);
  });
});
