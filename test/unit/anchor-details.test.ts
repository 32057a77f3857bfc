import { describe, expect, it } from 'vitest';
import { anchorDetails, anchorPointer } from '../../src/api/routes/anchor-details.js';

const document = { workflow: { meta: { ref: 'r' } }, 'a/b': { '~c': 1 }, list: [{ x: 1 }] };

describe('anchorPointer', () => {
  it('keeps a pointer that names a value, or a member missing from an object that exists', () => {
    for (const pointer of ['', '/workflow/meta/ref', '/workflow/meta/template', '/a~1b/~0c', '/list/0/x']) {
      expect(anchorPointer(document, pointer)).toBe(pointer);
    }
  });

  it('cuts a pointer back to the first member the document lacks', () => {
    expect(anchorPointer(document, '/tasks/noop_01/vars/input/delay')).toBe('/tasks');
    expect(anchorPointer(document, '/workflow/vars/global/input/x')).toBe('/workflow/vars');
    expect(anchorPointer(document, '/workflow/meta/ref/deeper')).toBe('/workflow/meta/ref/deeper');
    expect(anchorPointer({ tasks: 'text' }, '/tasks/noop_01/vars')).toBe('/tasks/noop_01');
    expect(anchorPointer(null, '/workflow')).toBe('/workflow');
  });
});

describe('anchorDetails', () => {
  it('anchors every detail and keeps its message', () => {
    expect(anchorDetails({}, [{ path: '/tasks/t1', message: 'needs x' }])).toEqual([
      { path: '/tasks', message: 'needs x' },
    ]);
  });
});
