/** How requests look on a terminal: the detail of one, a list, the progress line and the final summary. */
import type {
  ErrorDetail,
  LiveState,
  LogLine,
  RequestDetail,
  RequestSummary,
  TaskRunView,
} from '../../api/answers.js';
import { isTaskActive, isTaskEnded } from '../../store/records.js';
import { durationBetween, formatDuration, formatTime, formatValue, truncate } from './format.js';
import { renderFields, renderTable } from './table.js';

// `status` shows the full outputs with --json; a table row stays readable.
const MAX_OUTPUT_CHARS = 60;
const FAILED_TASK_STATES: ReadonlySet<string> = new Set(['failed', 'exception', 'timeout']);

/** `status ID`: the request's header, its warnings, its tasks and (after a retry or revise) its revisions. */
export function renderRequestDetail(detail: RequestDetail): string {
  const parts = [
    renderFields([
      ['request', detail.uuid],
      ['ref', detail.ref],
      ['name', detail.name],
      ['template', `${detail.template.ref_name} v${detail.template.schema_version}`],
      ['status', detail.status],
      ['revision', detail.revision],
      ['trace id', detail.trace_id],
      ['created (UTC)', formatTime(detail.created_at)],
      ...(detail.scheduled_at ? [['scheduled', formatTime(detail.scheduled_at)] as const] : []),
      ['ended (UTC)', formatTime(detail.ended_at)],
      ['error', detail.error],
    ]),
  ];
  if (detail.warnings.length > 0) parts.push(renderWarnings(detail.warnings));
  parts.push(renderTaskTable(detail.tasks));
  if (detail.revisions.length > 1) parts.push(renderRevisions(detail));
  return parts.join('\n\n');
}

/** The task table of a request: state, attempt, times, public outputs and error. */
export function renderTaskTable(tasks: readonly TaskRunView[]): string {
  if (tasks.length === 0) return 'no task has started yet';
  return renderTable(
    ['task', 'class', 'state', 'attempt', 'started (UTC)', 'duration', 'outputs', 'error'],
    tasks.map((task) => [
      task.ref_name + (task.optional ? ' (optional)' : ''),
      task.class,
      task.state,
      task.attempt,
      formatTime(task.started_at),
      formatDuration(taskDuration(task)),
      formatOutputs(task.outputs),
      task.error,
    ]),
  );
}

/** The summary printed when `--wait` ends: ref, state, duration and error of every task. */
export function renderTaskSummary(tasks: readonly TaskRunView[]): string {
  return renderTable(
    ['task', 'state', 'duration', 'error'],
    tasks.map((task) => [task.ref_name, task.state, formatDuration(taskDuration(task)), task.error]),
  );
}

/** `list`: one row per request. */
export function renderRequestList(items: readonly RequestSummary[]): string {
  if (items.length === 0) return 'no requests';
  return renderTable(
    ['uuid', 'ref', 'template', 'status', 'rev', 'created (UTC)', 'ended (UTC)', 'error'],
    items.map((item) => [
      item.uuid,
      item.ref,
      `${item.template.ref_name} v${item.template.schema_version}`,
      item.status,
      item.revision,
      formatTime(item.created_at),
      formatTime(item.ended_at),
      item.error,
    ]),
  );
}

/** One progress line: `3/5 tasks done, running: noop_01, noop_02` (plus failures and a non-running status). */
export function progressLine(state: LiveState): string {
  if (state.tasks.length === 0) return `request ${state.status}, no task started yet`;
  const done = state.tasks.filter((task) => isTaskEnded(task.state)).length;
  const parts = [`${done}/${state.tasks.length} tasks done`];
  const running = state.tasks.filter((task) => isTaskActive(task.state)).map((t) => t.ref_name);
  if (running.length > 0) parts.push(`running: ${running.join(', ')}`);
  const failed = state.tasks.filter((task) => FAILED_TASK_STATES.has(task.state)).map((t) => t.ref_name);
  if (failed.length > 0) parts.push(`failed: ${failed.join(', ')}`);
  const line = parts.join(', ');
  return state.status === 'running' ? line : `${line} (request ${state.status})`;
}

/** A log line as `ts level [task] message`. */
export function renderLogLine(line: LogLine): string {
  const task = line.task === null ? '' : ` [${line.task}]`;
  return `${line.ts ?? '-'} ${line.level.padEnd(5)}${task} ${line.message}`;
}

/** Warnings (or errors) as indented `pointer: message` lines under a title. */
export function renderWarnings(warnings: readonly ErrorDetail[], title = 'warnings'): string {
  return [`${title}:`, ...warnings.map((w) => `  ${w.path || '/'}: ${w.message}`)].join('\n');
}

function renderRevisions(detail: RequestDetail): string {
  return renderTable(
    ['revision', 'reason', 'status', 'created (UTC)', 'ended (UTC)', 'error'],
    detail.revisions.map((r) => [
      r.revision,
      r.reason,
      r.status,
      formatTime(r.created_at),
      formatTime(r.ended_at),
      r.error,
    ]),
  );
}

function taskDuration(task: TaskRunView): number | null {
  return task.duration_ms ?? durationBetween(task.started_at, task.ended_at);
}

function formatOutputs(outputs: Record<string, unknown> | undefined): string {
  if (!outputs) return '';
  return Object.entries(outputs)
    .map(([name, value]) => `${name}=${truncate(formatValue(value), MAX_OUTPUT_CHARS)}`)
    .join(' ');
}
