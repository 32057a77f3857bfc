/**
 * Pure functions over a task graph: cycles, levels, reachability. Edges point from a node to the
 * nodes it depends on. All walks are iterative so a long chain of tasks cannot overflow the stack.
 */

/** A dependency graph: `nodes` in template order, `edges` from a node to its dependencies. */
export interface Graph {
  nodes: readonly string[];
  edges: ReadonlyMap<string, readonly string[]>;
}

/** Raised by `levels` on a cyclic graph; `cycle` is the path, e.g. ['a', 'b', 'a']. */
export class CycleError extends Error {
  readonly cycle: string[];

  constructor(cycle: string[]) {
    super(`the dependencies form a cycle: ${cycle.join(' -> ')}`);
    this.name = 'CycleError';
    this.cycle = cycle;
  }
}

/** The distinct dependencies of `node` that are nodes of the graph (unknown names are ignored here). */
export function dependenciesOf(graph: Graph, node: string): string[] {
  return knownDependencies(graph, new Set(graph.nodes), node);
}

function knownDependencies(graph: Graph, known: ReadonlySet<string>, node: string): string[] {
  return [...new Set(graph.edges.get(node) ?? [])].filter((dep) => known.has(dep));
}

/** The first cycle found, as a closed path like ['a', 'b', 'a'], or null when there is none. */
export function findCycle(graph: Graph): string[] | null {
  return findCycles(graph)[0] ?? null;
}

/**
 * One cycle per back edge of a depth-first walk in template order, so two separate cycles are
 * both reported (a template author fixes them all in one go). Each is a closed path.
 */
export function findCycles(graph: Graph): string[][] {
  const known = new Set(graph.nodes);
  const state = new Map<string, 'active' | 'done'>();
  const cycles: string[][] = [];
  for (const root of graph.nodes) {
    if (state.has(root)) continue;
    walkFrom(root, graph, known, state, cycles);
  }
  return cycles;
}

/** Iterative DFS from `root`; the explicit stack doubles as the current path for cycle reports. */
function walkFrom(
  root: string,
  graph: Graph,
  known: ReadonlySet<string>,
  state: Map<string, 'active' | 'done'>,
  cycles: string[][],
): void {
  const path: string[] = [root];
  const cursors: number[] = [0];
  state.set(root, 'active');
  while (path.length > 0) {
    const depth = path.length - 1;
    const node = path[depth] as string;
    const deps = graph.edges.get(node) ?? [];
    const index = cursors[depth] ?? 0;
    if (index >= deps.length) {
      state.set(node, 'done');
      path.pop();
      cursors.pop();
      continue;
    }
    cursors[depth] = index + 1;
    const next = deps[index] as string;
    if (!known.has(next)) continue;
    const seen = state.get(next);
    if (seen === 'active') cycles.push([...path.slice(path.indexOf(next)), next]);
    if (seen !== undefined) continue;
    state.set(next, 'active');
    path.push(next);
    cursors.push(0);
  }
}

/**
 * Longest-path layering: a node's level is one more than its deepest dependency's, so every
 * edge goes from a lower level to a higher one. Nodes keep template order inside a level.
 * Throws CycleError when the graph has a cycle.
 */
export function levels(graph: Graph): string[][] {
  const levelOf = levelMap(graph);
  const result: string[][] = [];
  for (const node of graph.nodes) {
    const level = levelOf.get(node) as number;
    while (result.length <= level) result.push([]);
    result[level]?.push(node);
  }
  return result;
}

/** The level of every node (Kahn's algorithm); throws CycleError when some node is never freed. */
export function levelMap(graph: Graph): Map<string, number> {
  const known = new Set(graph.nodes);
  const waiting = new Map<string, number>();
  const dependents = invert(graph);
  const level = new Map<string, number>();
  const queue: string[] = [];
  for (const node of graph.nodes) {
    const count = knownDependencies(graph, known, node).length;
    waiting.set(node, count);
    if (count === 0) {
      level.set(node, 0);
      queue.push(node);
    }
  }
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head] as string;
    const nodeLevel = level.get(node) ?? 0;
    for (const dependent of dependents.get(node) ?? []) {
      level.set(dependent, Math.max(level.get(dependent) ?? 0, nodeLevel + 1));
      const left = (waiting.get(dependent) ?? 0) - 1;
      waiting.set(dependent, left);
      if (left === 0) queue.push(dependent);
    }
  }
  if (queue.length < graph.nodes.length) throw new CycleError(findCycle(graph) ?? []);
  return level;
}

/** The reverse graph: each node to the nodes that depend on it, without repeats, in template order. */
export function invert(graph: Graph): Map<string, string[]> {
  const known = new Set(graph.nodes);
  const dependents = new Map<string, string[]>(graph.nodes.map((node) => [node, []]));
  for (const node of graph.nodes) {
    for (const dep of knownDependencies(graph, known, node)) dependents.get(dep)?.push(node);
  }
  return dependents;
}

/** Every node that depends on `node`, directly or not, in template order (e.g. to skip after a failure). */
export function descendants(graph: Graph, node: string): string[] {
  const dependents = invert(graph);
  const seen = new Set<string>();
  const stack = [...(dependents.get(node) ?? [])];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(dependents.get(next) ?? []));
  }
  return graph.nodes.filter((n) => seen.has(n));
}

/** Every node `node` depends on, directly or not, in template order. */
export function ancestors(graph: Graph, node: string): string[] {
  const known = new Set(graph.nodes);
  const seen = new Set<string>();
  const stack = [...(graph.edges.get(node) ?? [])];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (seen.has(next) || !known.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.edges.get(next) ?? []));
  }
  return graph.nodes.filter((n) => seen.has(n));
}
