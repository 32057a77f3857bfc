import { describe, expect, it } from 'vitest';
import type { TaskRunView } from '../../src/api/answers.js';
import { diffRevisions, stableJson } from '../../ui/src/lib/revision-diff.js';

function run(ref: string, state: string, inputs: Record<string, unknown>): TaskRunView {
  return { ref_name: ref, state, inputs } as TaskRunView;
}

describe('diffRevisions', () => {
  it('reports each task state change and the inputs that changed, ignoring key order', () => {
    const diffs = diffRevisions(
      [run('a', 'failed', { delay: 1, opts: { x: 1, y: 2 } }), run('b', 'successful', { n: 1 })],
      [
        run('a', 'successful', { delay: 2, opts: { y: 2, x: 1 } }),
        run('b', 'skipped', { n: 1 }),
        run('c', 'pending', {}),
      ],
    );
    expect(diffs.map((diff) => diff.ref)).toEqual(['a', 'b', 'c']);
    expect(diffs[0]).toMatchObject({
      stateChanged: true,
      inputChanges: [{ name: 'delay', before: 1, after: 2 }],
    });
    expect(diffs[1]).toMatchObject({ stateChanged: true, inputChanges: [] });
    expect(diffs[2]?.before).toBeUndefined();
  });

  it('sees no change between identical revisions', () => {
    const tasks = [run('a', 'successful', { delay: 1 })];
    expect(diffRevisions(tasks, tasks)[0]).toMatchObject({ stateChanged: false, inputChanges: [] });
  });
});

describe('stableJson', () => {
  it('writes objects with sorted keys', () => {
    expect(stableJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });
});
