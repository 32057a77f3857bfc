import { describe, expect, it } from 'vitest';
import { AWX_FINAL_STATUSES, AWX_STATUS_MAP } from '../../src/integrations/awx-client.js';
import {
  TFE_RUN_STATUSES,
  applyTaskState,
  isReadyToApply,
  planTaskState,
  stopActionFor,
} from '../../src/integrations/tfe-run-status.js';

describe('AWX_STATUS_MAP', () => {
  it('maps every AWX job status, following the article except new, which is followed as running', () => {
    expect(AWX_STATUS_MAP).toEqual({
      new: 'running',
      pending: 'running',
      waiting: 'running',
      running: 'running',
      successful: 'successful',
      failed: 'failed',
      error: 'failed',
      canceled: 'canceled',
    });
    for (const status of AWX_FINAL_STATUSES) expect(AWX_STATUS_MAP[status]).not.toBe('running');
  });
});

describe('planTaskState (tfe.workspace_run)', () => {
  const expected: Record<string, string> = {
    pending: 'running',
    fetching: 'running',
    fetching_completed: 'running',
    pre_plan_running: 'running',
    pre_plan_completed: 'running',
    queuing: 'running',
    plan_queued: 'running',
    planning: 'running',
    planned: 'successful',
    cost_estimating: 'running',
    cost_estimated: 'successful',
    policy_checking: 'running',
    policy_override: 'waiting',
    policy_soft_failed: 'failed',
    policy_checked: 'successful',
    confirmed: 'successful',
    post_plan_running: 'running',
    post_plan_completed: 'successful',
    planned_and_finished: 'successful',
    planned_and_saved: 'successful',
    apply_queued: 'successful',
    applying: 'successful',
    applied: 'successful',
    discarded: 'failed',
    errored: 'failed',
    canceled: 'canceled',
    force_canceled: 'canceled',
  };

  it('maps each of the 27 TFE run statuses', () => {
    expect(Object.keys(expected).sort()).toEqual([...TFE_RUN_STATUSES].sort());
    for (const status of TFE_RUN_STATUSES)
      expect([status, planTaskState(status, undefined)]).toEqual([status, expected[status]]);
  });

  it('keeps waiting on a finished plan that TFE does not yet let anyone confirm (more checks follow)', () => {
    expect(planTaskState('planned', { 'is-confirmable': false })).toBe('running');
    expect(isReadyToApply('cost_estimated', { 'is-confirmable': true })).toBe(true);
    expect(isReadyToApply('planning', { 'is-confirmable': true })).toBe(false);
  });
});

describe('applyTaskState and stopActionFor (tfe.workspace_run_apply, cancel)', () => {
  it('ends successful only when applied or when there was nothing to apply', () => {
    const successes = TFE_RUN_STATUSES.filter((status) => applyTaskState(status) === 'successful');
    expect(successes.sort()).toEqual(['applied', 'planned_and_finished']);
    expect(applyTaskState('applying')).toBe('running');
    expect(applyTaskState('errored')).toBe('failed');
  });

  it('discards a run waiting for confirmation, cancels one planning or applying, leaves an ended one alone', () => {
    expect(stopActionFor('planned', undefined)).toBe('discard');
    expect(stopActionFor('pending', undefined)).toBe('discard');
    expect(stopActionFor('planning', undefined)).toBe('cancel');
    expect(stopActionFor('applying', undefined)).toBe('cancel');
    expect(stopActionFor('applied', undefined)).toBeNull();
    expect(stopActionFor('policy_checked', { 'is-discardable': true })).toBe('discard');
    expect(stopActionFor('planning', { 'is-cancelable': false, 'is-discardable': false })).toBeNull();
  });
});
