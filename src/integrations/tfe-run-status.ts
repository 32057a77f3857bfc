/**
 * Terraform Enterprise / HCP Terraform run statuses and what they mean for the two run tasks:
 * `tfe.workspace_run` waits for the plan, `tfe.workspace_run_apply` applies and waits for `applied`.
 */
import type { TaskState } from '../store/records.js';

/** Every run status of the TFE API. */
export const TFE_RUN_STATUSES = [
  'pending',
  'fetching',
  'fetching_completed',
  'pre_plan_running',
  'pre_plan_completed',
  'queuing',
  'plan_queued',
  'planning',
  'planned',
  'cost_estimating',
  'cost_estimated',
  'policy_checking',
  'policy_override',
  'policy_soft_failed',
  'policy_checked',
  'confirmed',
  'post_plan_running',
  'post_plan_completed',
  'planned_and_finished',
  'planned_and_saved',
  'apply_queued',
  'applying',
  'applied',
  'discarded',
  'errored',
  'canceled',
  'force_canceled',
] as const;

/** A TFE run status. */
export type TfeRunStatus = (typeof TFE_RUN_STATUSES)[number];

/** The `actions` object of a run: what may be done with it now. */
export interface TfeRunActions {
  'is-cancelable'?: boolean;
  'is-confirmable'?: boolean;
  'is-discardable'?: boolean;
  'is-force-cancelable'?: boolean;
}

/** The plan is done and the run may wait for confirmation in these (unless more checks follow). */
const PLAN_DONE: ReadonlySet<string> = new Set([
  'planned',
  'cost_estimated',
  'policy_checked',
  'post_plan_completed',
  'planned_and_saved',
]);
/** The plan was done and the apply is under way or over. */
const APPLY_UNDER_WAY: ReadonlySet<string> = new Set(['confirmed', 'apply_queued', 'applying', 'applied']);
const FAILED: ReadonlySet<string> = new Set(['errored', 'discarded', 'policy_soft_failed']);
const CANCELED: ReadonlySet<string> = new Set(['canceled', 'force_canceled']);
/** Waiting for priority or confirmation: stopped with `discard`. */
const DISCARDABLE: ReadonlySet<string> = new Set([
  'pending',
  'planned',
  'cost_estimated',
  'policy_checked',
  'policy_override',
  'post_plan_completed',
  'planned_and_saved',
]);
/** Nothing more happens to a run in these statuses. */
const FINAL: ReadonlySet<string> = new Set([
  'applied',
  'planned_and_finished',
  'discarded',
  'errored',
  'canceled',
  'force_canceled',
  'policy_soft_failed',
]);

/** True when nothing more happens to the run. */
export function isRunFinal(status: string): boolean {
  return FINAL.has(status);
}

/**
 * True when the run waits for an apply: the plan is done and TFE says it can be confirmed. When
 * the answer has no `actions`, the status alone decides (`planned` may then be followed by cost
 * estimation, which is confirmable too).
 */
export function isReadyToApply(status: string, actions: TfeRunActions | undefined): boolean {
  if (!PLAN_DONE.has(status)) return false;
  return actions?.['is-confirmable'] ?? true;
}

/** The task state of `tfe.workspace_run` (plan and wait) for a run status. */
export function planTaskState(status: string, actions: TfeRunActions | undefined): TaskState {
  if (status === 'planned_and_finished' || APPLY_UNDER_WAY.has(status)) return 'successful';
  if (isReadyToApply(status, actions)) return 'successful';
  return endedOrRunning(status);
}

/** The task state of `tfe.workspace_run_apply` for a run status, once the apply was asked for or is not needed. */
export function applyTaskState(status: string): TaskState {
  if (status === 'applied' || status === 'planned_and_finished') return 'successful';
  return endedOrRunning(status);
}

/** How a canceled run is stopped: `discard` while it waits for confirmation or priority, else `cancel`. */
export function stopActionFor(
  status: string,
  actions: TfeRunActions | undefined,
): 'discard' | 'cancel' | null {
  if (FINAL.has(status)) return null;
  if (actions?.['is-discardable'] ?? DISCARDABLE.has(status)) return 'discard';
  return (actions?.['is-cancelable'] ?? true) ? 'cancel' : null;
}

function endedOrRunning(status: string): TaskState {
  if (FAILED.has(status)) return 'failed';
  if (CANCELED.has(status)) return 'canceled';
  // A soft-failed policy check waits for a person to override it in TFE.
  if (status === 'policy_override') return 'waiting';
  return 'running';
}
