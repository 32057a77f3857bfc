/** A template's DAG as text (levels with arrows), a Mermaid flowchart or a Graphviz digraph. */
import type { TemplateDetail } from '../../api/answers.js';

/** The formats `o3 dag --format` knows. */
export const DAG_FORMATS = ['text', 'mermaid', 'dot'] as const;
export type DagFormat = (typeof DAG_FORMATS)[number];

/** Renders a template's DAG in one of the formats. */
export function renderDag(template: TemplateDetail, format: DagFormat): string {
  if (format === 'mermaid') return renderMermaid(template);
  if (format === 'dot') return renderDot(template);
  return renderText(template);
}

/** Each level on its own, each task with the tasks it waits for (`<-`). */
function renderText(template: TemplateDetail): string {
  const classOf = new Map(template.tasks.map((task) => [task.ref_name, task]));
  const lines = [
    `${template.ref_name} v${template.schema_version}${template.name ? `: ${template.name}` : ''}` +
      ` (${template.tasks.length} tasks, ${template.dag.levels.length} levels)`,
  ];
  template.dag.levels.forEach((level, index) => {
    lines.push(`level ${index + 1}`);
    const width = Math.max(...level.map((ref) => ref.length));
    for (const ref of level) {
      const task = classOf.get(ref);
      const upstream = template.dag.edges.filter((edge) => edge.to === ref).map((edge) => edge.from);
      const arrows = upstream.length > 0 ? `  <- ${upstream.join(', ')}` : '';
      const optional = task?.optional ? ' (optional)' : '';
      lines.push(`  ${ref.padEnd(width)}  ${task?.class ?? '?'}${optional}${arrows}`.trimEnd());
    }
  });
  return lines.join('\n');
}

function renderMermaid(template: TemplateDetail): string {
  const ids = mermaidIds(template.tasks.map((task) => task.ref_name));
  const lines = ['flowchart TD'];
  for (const task of template.tasks) {
    const label = `${task.ref_name}<br/>${task.class}`.replaceAll('"', '#quot;');
    lines.push(`  ${ids.get(task.ref_name)}["${label}"]`);
  }
  for (const edge of template.dag.edges) {
    lines.push(`  ${ids.get(edge.from) ?? edge.from} --> ${ids.get(edge.to) ?? edge.to}`);
  }
  const optional = template.tasks.filter((task) => task.optional).map((task) => ids.get(task.ref_name));
  if (optional.length > 0) {
    lines.push('  classDef optional stroke-dasharray: 5 5');
    lines.push(`  class ${optional.join(',')} optional`);
  }
  return lines.join('\n');
}

/**
 * Mermaid ids: the ref_name itself where Mermaid reads it as a plain id (so the text stays
 * readable), else `t1`, `t2`… — `end` and names with dots or dashes would break the chart.
 */
function mermaidIds(refs: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set(refs);
  let counter = 0;
  for (const ref of refs) {
    if (/^[A-Za-z][A-Za-z0-9_]*$/.test(ref) && ref.toLowerCase() !== 'end') {
      ids.set(ref, ref);
      continue;
    }
    let id: string;
    do id = `t${++counter}`;
    while (taken.has(id));
    taken.add(id);
    ids.set(ref, id);
  }
  return ids;
}

function renderDot(template: TemplateDetail): string {
  const lines = [`digraph ${dotString(template.ref_name)} {`, '  rankdir=TB;', '  node [shape=box];'];
  for (const task of template.tasks) {
    const style = task.optional ? ', style=dashed' : '';
    lines.push(
      `  ${dotString(task.ref_name)} [label=${dotString(`${task.ref_name}\n${task.class}`)}${style}];`,
    );
  }
  for (const edge of template.dag.edges) lines.push(`  ${dotString(edge.from)} -> ${dotString(edge.to)};`);
  lines.push('}');
  return lines.join('\n');
}

/** A Graphviz quoted string. */
function dotString(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n')}"`;
}
