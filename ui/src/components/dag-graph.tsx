/**
 * A DAG drawn as SVG, laid out by dagre (left to right, as the work flows). Nodes carry their task's
 * state in `data-state`, which styles.css turns into colour; with `onSelect` they are buttons that
 * Enter and Space press too.
 */
import { Graph, layout } from '@dagrejs/dagre';
import { useEffect, useId, useMemo, useRef, useState } from 'preact/hooks';

/** One node: a task. */
export interface DagNode {
  id: string;
  title: string;
  subtitle: string;
  state?: string;
}

/** One edge: `from` must end before `to` starts. */
export interface DagEdge {
  from: string;
  to: string;
}

interface Point {
  x: number;
  y: number;
}

interface PlacedNode {
  x: number;
  y: number;
  width: number;
}

interface Placement {
  width: number;
  height: number;
  nodes: Map<string, PlacedNode>;
  edges: { from: string; to: string; points: Point[] }[];
}

const NODE_HEIGHT = 56;
const MAX_TITLE = 30;
const LONGEST_STATE = 'successful'.length;

/** The graph. */
export function DagGraph(props: {
  nodes: DagNode[];
  edges: DagEdge[];
  label: string;
  selected?: string | null;
  onSelect?: (id: string) => void;
}) {
  const { nodes, edges, label, selected, onSelect } = props;
  const markerId = `arrow-${useId()}`;
  const [box, width] = useWidth();
  // Layout depends on the shape only, so state changes recolour without moving anything.
  const shape = JSON.stringify([nodes.map((n) => [n.id, n.title, n.subtitle, n.state === undefined]), edges]);
  const across = useMemo(() => place(nodes, edges, 'LR'), [shape]);
  // Too wide for the screen (a phone): top to bottom reads better than scrolling sideways.
  const direction = width > 0 && across.width > width ? 'TB' : 'LR';
  const down = useMemo(() => (direction === 'TB' ? place(nodes, edges, 'TB') : null), [shape, direction]);
  const placement = down ?? across;
  // A little too wide still: shrink it to fit; much too wide: keep the text readable and scroll.
  const fit = width > 0 && placement.width > width ? width / placement.width : 1;
  const scale = fit >= 0.7 ? fit : 1;
  if (nodes.length === 0) return <p class="muted">This graph has no tasks.</p>;
  const stateOf = new Map(nodes.map((node) => [node.id, node.state]));

  return (
    <div class="dag-scroll" ref={box} data-direction={direction}>
      <svg
        class="dag"
        role="group"
        aria-label={label}
        width={Math.floor(placement.width * scale)}
        height={Math.floor(placement.height * scale)}
        viewBox={`0 0 ${placement.width} ${placement.height}`}
      >
        <defs>
          <marker
            id={markerId}
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" class="dag-arrow" />
          </marker>
        </defs>
        {placement.edges.map((edge) => (
          <path
            key={`${edge.from}->${edge.to}`}
            class="dag-edge"
            data-from-state={stateOf.get(edge.from) ?? 'none'}
            d={curve(edge.points)}
            marker-end={`url(#${markerId})`}
          />
        ))}
        {nodes.map((node) => {
          const at = placement.nodes.get(node.id);
          return at ? (
            <NodeBox key={node.id} node={node} at={at} selected={selected === node.id} onSelect={onSelect} />
          ) : null;
        })}
      </svg>
    </div>
  );
}

function NodeBox(props: {
  node: DagNode;
  at: PlacedNode;
  selected: boolean;
  onSelect?: (id: string) => void;
}) {
  const { node, at, selected, onSelect } = props;
  const select = onSelect ? () => onSelect(node.id) : undefined;
  const title = node.title.length > MAX_TITLE ? `${node.title.slice(0, MAX_TITLE - 1)}…` : node.title;
  const description = `${node.title}, ${node.subtitle}${node.state ? `, ${node.state}` : ''}`;
  return (
    <g
      class={`dag-node${selected ? ' is-selected' : ''}${select ? ' is-interactive' : ''}`}
      data-task={node.id}
      data-state={node.state ?? 'none'}
      transform={`translate(${at.x - at.width / 2},${at.y - NODE_HEIGHT / 2})`}
      tabindex={select ? 0 : undefined}
      role={select ? 'button' : 'img'}
      aria-pressed={select ? selected : undefined}
      aria-label={description}
      onClick={select}
      onKeyDown={(event) => {
        if (select && (event.key === 'Enter' || event.key === ' ')) {
          event.preventDefault();
          select();
        }
      }}
    >
      <title>{description}</title>
      <rect class="dag-node-box" width={at.width} height={NODE_HEIGHT} rx="8" />
      <circle class="dag-node-dot" cx="18" cy={NODE_HEIGHT / 2} r="5" />
      <text class="dag-node-title" x="32" y="23">
        {title}
      </text>
      <text class="dag-node-sub" x="32" y="41">
        {node.state ? `${node.subtitle} · ${node.state}` : node.subtitle}
      </text>
    </g>
  );
}

/** The width of the element the ref is put on, kept current as it resizes. */
function useWidth(): [{ current: HTMLDivElement | null }, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(element.clientWidth));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

function nodeWidth(node: DagNode): number {
  const title = Math.min(node.title.length, MAX_TITLE) * 7.6;
  // Room for the longest state, so a node keeps its size (and the layout its shape) as states change.
  const subtitle = (node.subtitle.length + (node.state === undefined ? 0 : LONGEST_STATE + 3)) * 6.4;
  return Math.round(Math.min(300, Math.max(150, Math.max(title, subtitle) + 48)));
}

function place(nodes: DagNode[], edges: DagEdge[], rankdir: 'LR' | 'TB'): Placement {
  const graph = new Graph();
  graph.setGraph({
    rankdir,
    nodesep: rankdir === 'LR' ? 18 : 24,
    ranksep: rankdir === 'LR' ? 56 : 40,
    marginx: 6,
    marginy: 6,
  });
  graph.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((node) => node.id));
  for (const node of nodes) graph.setNode(node.id, { width: nodeWidth(node), height: NODE_HEIGHT });
  // dagre tends to put the source of the last edge added first; adding them in reverse keeps
  // siblings in template order (noop_01 above noop_02) where the layout allows it.
  for (const edge of [...edges].reverse()) {
    if (ids.has(edge.from) && ids.has(edge.to)) graph.setEdge(edge.from, edge.to);
  }
  layout(graph);
  const placed = new Map<string, PlacedNode>();
  for (const id of graph.nodes()) {
    const label = graph.node(id) as { x: number; y: number; width: number };
    placed.set(id, { x: label.x, y: label.y, width: label.width });
  }
  const size = graph.graph() as { width?: number; height?: number };
  return {
    width: Math.ceil(size.width ?? 0),
    height: Math.ceil(size.height ?? 0),
    nodes: placed,
    edges: graph.edges().map((edge) => ({
      from: edge.v,
      to: edge.w,
      points: ((graph.edge(edge) as { points?: Point[] }).points ?? []).map((p) => ({ x: p.x, y: p.y })),
    })),
  };
}

/** A smooth path through dagre's points (the B-spline d3's curveBasis draws). */
export function curve(points: Point[]): string {
  const [first, second] = points;
  if (!first) return '';
  if (!second) return `M${first.x},${first.y}`;
  const parts = [`M${first.x},${first.y}`];
  const f = (n: number) => Math.round(n * 10) / 10;
  for (let i = 2; i < points.length; i++) {
    const p0 = points[i - 2] as Point;
    const p1 = points[i - 1] as Point;
    const p = points[i] as Point;
    if (i === 2) parts.push(`L${f((5 * p0.x + p1.x) / 6)},${f((5 * p0.y + p1.y) / 6)}`);
    parts.push(
      `C${f((2 * p0.x + p1.x) / 3)},${f((2 * p0.y + p1.y) / 3)} ${f((p0.x + 2 * p1.x) / 3)},${f((p0.y + 2 * p1.y) / 3)} ${f((p0.x + 4 * p1.x + p.x) / 6)},${f((p0.y + 4 * p1.y + p.y) / 6)}`,
    );
  }
  const last = points[points.length - 1] as Point;
  const beforeLast = points[points.length - 2] as Point;
  if (points.length > 2) {
    parts.push(
      `C${f((2 * beforeLast.x + last.x) / 3)},${f((2 * beforeLast.y + last.y) / 3)} ${f((beforeLast.x + 2 * last.x) / 3)},${f((beforeLast.y + 2 * last.y) / 3)} ${f((beforeLast.x + 5 * last.x) / 6)},${f((beforeLast.y + 5 * last.y) / 6)}`,
    );
  }
  parts.push(`L${f(last.x)},${f(last.y)}`);
  return parts.join(' ');
}
