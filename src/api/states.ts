/**
 * Request statuses and task states (§5.3) as API answers name them, and which of them are final.
 * The CLI and the web UI share this one definition; it imports nothing, so the UI can bundle it.
 */

const ENDED_REQUEST_STATUSES = ['successful', 'failed', 'canceled'] as const;

/** Every request status, in the order a request goes through them. */
export const REQUEST_STATUSES = [
  'scheduled',
  'pending',
  'running',
  'canceling',
  ...ENDED_REQUEST_STATUSES,
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

const ACTIVE_TASK_STATES = ['created', 'running', 'waiting'] as const;
const ENDED_TASK_STATES = ['successful', 'failed', 'exception', 'timeout', 'canceled', 'skipped'] as const;

/** Every task state, in the order a task goes through them. */
export const TASK_STATES = ['pending', ...ACTIVE_TASK_STATES, ...ENDED_TASK_STATES] as const;
export type TaskState = (typeof TASK_STATES)[number];

// Read with any string: a client's state is text from the API.
const ENDED_REQUEST: ReadonlySet<string> = new Set(ENDED_REQUEST_STATUSES);
const ACTIVE_TASK: ReadonlySet<string> = new Set(ACTIVE_TASK_STATES);
const ENDED_TASK: ReadonlySet<string> = new Set(ENDED_TASK_STATES);

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
  return ACTIVE_TASK.has(state);
}
