import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CycleError,
  ancestors,
  dependenciesOf,
  descendants,
  findCycle,
  findCycles,
  invert,
  levelMap,
  levels,
  type Graph,
} from '../../src/dag/graph.js';

/** Builds a graph from `node: deps` pairs, keeping the order written. */
function graph(spec: Record<string, string[]>): Graph {
  return { nodes: Object.keys(spec), edges: new Map(Object.entries(spec)) };
}

/** True when `cycle` is a closed path that follows real edges. */
function isClosedPath(g: Graph, cycle: string[]): boolean {
  if (cycle.length < 2 || cycle[0] !== cycle[cycle.length - 1]) return false;
  return cycle.slice(1).every((next, i) => (g.edges.get(cycle[i]!) ?? []).includes(next));
}

describe('levels', () => {
  it('gives no levels for an empty graph', () => {
    expect(levels(graph({}))).toEqual([]);
  });

  it('puts independent nodes in one level, in template order', () => {
    expect(levels(graph({ b: [], a: [], c: [] }))).toEqual([['b', 'a', 'c']]);
  });

  it('lays a chain out one node per level', () => {
    expect(levels(graph({ c: ['b'], b: ['a'], a: [] }))).toEqual([['a'], ['b'], ['c']]);
  });

  it('places a node one level below its deepest dependency (longest path)', () => {
    expect(levels(graph({ a: [], b: ['a'], c: ['a', 'b'], d: [] }))).toEqual([['a', 'd'], ['b'], ['c']]);
  });

  it('lays out the seed noop DAG as [[noop_01, noop_02], [noop_03]]', () => {
    const g = graph({ noop_01: [], noop_02: [], noop_03: ['noop_01', 'noop_02'] });
    expect(levels(g)).toEqual([['noop_01', 'noop_02'], ['noop_03']]);
  });

  it('lays out a diamond in three levels', () => {
    expect(levels(graph({ top: [], left: ['top'], right: ['top'], bottom: ['left', 'right'] }))).toEqual([
      ['top'],
      ['left', 'right'],
      ['bottom'],
    ]);
  });

  it('ignores dependencies on unknown nodes and repeated edges', () => {
    expect(levels(graph({ a: ['ghost'], b: ['a', 'a'] }))).toEqual([['a'], ['b']]);
  });

  it('throws a CycleError naming the cycle', () => {
    expect(() => levels(graph({ a: ['b'], b: ['a'] }))).toThrow(CycleError);
    expect(() => levels(graph({ a: ['b'], b: ['a'] }))).toThrow('a -> b -> a');
  });

  it('handles a chain of 100,000 nodes without overflowing the stack', () => {
    const spec: Record<string, string[]> = { n0: [] };
    for (let i = 1; i < 100_000; i++) spec[`n${i}`] = [`n${i - 1}`];
    const g = graph(spec);
    expect(levels(g)).toHaveLength(100_000);
    expect(findCycle(g)).toBeNull();
    expect(levelMap(g).get('n99999')).toBe(99_999);
  });
});

describe('findCycle', () => {
  it('finds none in a DAG', () => {
    expect(findCycle(graph({ a: [], b: ['a'], c: ['a', 'b'] }))).toBeNull();
  });

  it('reports a self-dependency as a -> a', () => {
    expect(findCycle(graph({ a: ['a'] }))).toEqual(['a', 'a']);
  });

  it('reports a two-node cycle as a -> b -> a', () => {
    expect(findCycle(graph({ a: ['b'], b: ['a'] }))).toEqual(['a', 'b', 'a']);
  });

  it('reports only the nodes on the cycle, not the path leading to it', () => {
    expect(findCycle(graph({ start: ['x'], x: ['y'], y: ['z'], z: ['x'] }))).toEqual(['x', 'y', 'z', 'x']);
  });

  it('finds a cycle that the first node does not reach', () => {
    expect(findCycle(graph({ a: [], b: ['c'], c: ['b'] }))).toEqual(['b', 'c', 'b']);
  });

  it('finds separate cycles separately', () => {
    expect(findCycles(graph({ a: ['b'], b: ['a'], c: ['d'], d: ['c'], e: [] }))).toEqual([
      ['a', 'b', 'a'],
      ['c', 'd', 'c'],
    ]);
  });

  it('ignores edges to unknown nodes', () => {
    expect(findCycle(graph({ a: ['nope'] }))).toBeNull();
  });
});

describe('invert, descendants, ancestors and dependenciesOf', () => {
  const g = graph({ a: [], b: ['a'], c: ['b', 'a'], d: [], e: ['c', 'c'] });

  it('invert lists dependents in template order without repeats', () => {
    expect(invert(g)).toEqual(
      new Map([
        ['a', ['b', 'c']],
        ['b', ['c']],
        ['c', ['e']],
        ['d', []],
        ['e', []],
      ]),
    );
  });

  it('descendants lists everything downstream in template order', () => {
    expect(descendants(g, 'a')).toEqual(['b', 'c', 'e']);
    expect(descendants(g, 'd')).toEqual([]);
  });

  it('ancestors lists everything upstream in template order', () => {
    expect(ancestors(g, 'e')).toEqual(['a', 'b', 'c']);
    expect(ancestors(g, 'a')).toEqual([]);
  });

  it('dependenciesOf drops repeats and unknown names', () => {
    expect(dependenciesOf(graph({ a: [], b: ['a', 'a', 'zz'] }), 'b')).toEqual(['a']);
  });
});

describe('graph (properties)', () => {
  /** A random DAG: node i may depend only on nodes before it; then the template order is shuffled. */
  const dag = fc
    .integer({ min: 0, max: 30 })
    .chain((n) =>
      fc.tuple(
        fc.array(fc.array(fc.nat(n), { maxLength: 4 }), { minLength: n, maxLength: n }),
        fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      ),
    )
    .map(([deps, order]): Graph => {
      const edges = new Map(deps.map((d, i) => [`t${i}`, d.filter((j) => j < i).map((j) => `t${j}`)]));
      return { nodes: order.map((i) => `t${i}`), edges };
    });

  /** A random graph with any edges, so it may or may not have a cycle. */
  const anyGraph = fc.integer({ min: 0, max: 12 }).chain((n) =>
    fc
      .array(fc.array(fc.nat(Math.max(n - 1, 0)), { maxLength: 3 }), { minLength: n, maxLength: n })
      .map((deps): Graph => ({
        nodes: deps.map((_, i) => `t${i}`),
        edges: new Map(deps.map((d, i) => [`t${i}`, d.map((j) => `t${j}`)])),
      })),
  );

  it('every edge of a DAG goes from a lower level to a higher one, and each node appears once', () => {
    fc.assert(
      fc.property(dag, (g) => {
        const layered = levels(g);
        const levelOf = new Map(layered.flatMap((level, i) => level.map((node) => [node, i] as const)));
        expect([...levelOf.keys()].sort()).toEqual([...g.nodes].sort());
        expect(layered.flat()).toHaveLength(g.nodes.length);
        for (const node of g.nodes) {
          for (const dep of g.edges.get(node) ?? [])
            expect(levelOf.get(dep)!).toBeLessThan(levelOf.get(node)!);
        }
        for (const level of layered) {
          const positions = level.map((node) => g.nodes.indexOf(node));
          expect(positions).toEqual([...positions].sort((a, b) => a - b));
        }
      }),
    );
  });

  it('every node above level 0 has a dependency on the level just before (longest path)', () => {
    fc.assert(
      fc.property(dag, (g) => {
        const levelOf = levelMap(g);
        for (const node of g.nodes) {
          const level = levelOf.get(node)!;
          if (level === 0) continue;
          expect((g.edges.get(node) ?? []).some((dep) => levelOf.get(dep) === level - 1)).toBe(true);
        }
      }),
    );
  });

  it('cycle detection agrees with whether levels can be built', () => {
    fc.assert(
      fc.property(anyGraph, (g) => {
        const cycle = findCycle(g);
        if (cycle === null) {
          expect(() => levels(g)).not.toThrow();
        } else {
          expect(isClosedPath(g, cycle)).toBe(true);
          expect(() => levels(g)).toThrow(CycleError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
