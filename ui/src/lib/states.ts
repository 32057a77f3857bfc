/** Request statuses and task states (§5.3), and which of them are final. */

/** Every request status, in the order a request goes through them. */
export const REQUEST_STATUSES = [
  'scheduled',
  'pending',
  'running',
  'canceling',
  'successful',
  'failed',
  'canceled',
] as const;

/** Every task state, in the order a task goes through them. */
export const TASK_STATES = [
  'pending',
  'created',
  'running',
  'waiting',
  'successful',
  'failed',
  'exception',
  'timeout',
  'canceled',
  'skipped',
] as const;

const ENDED_REQUEST: ReadonlySet<string> = new Set(['successful', 'failed', 'canceled']);
const ENDED_TASK: ReadonlySet<string> = new Set([
  'successful',
  'failed',
  'exception',
  'timeout',
  'canceled',
  'skipped',
]);

/** True once a request can change no more (until a retry or revise adds a revision). */
export function isRequestEnded(status: string): boolean {
  return ENDED_REQUEST.has(status);
}

/** True once a task run has a final state. */
export function isTaskEnded(state: string): boolean {
  return ENDED_TASK.has(state);
}

/** True while a task run is doing work (its bar on the timeline grows). */
export function isTaskActive(state: string): boolean {
  return state === 'created' || state === 'running' || state === 'waiting';
}
