/**
 * tfe.workspace_run_apply — applies a planned run and waits for `applied`.
 *
 * Applying is safe to repeat: TFE applies a run once and answers a second apply with 409. So after
 * a restart the task reads the run first: `applied` is success ("already applied"), an apply under
 * way is followed, a run still waiting for confirmation is applied (again). A run whose plan had no
 * changes (`planned_and_finished`) is a success with nothing to apply.
 */
import { Task, TaskFailure, type TaskState } from '../../src/index.js';
import { attemptKey } from '../../src/integrations/launch-intent.js';
import { fastStartDelayMs } from '../../src/integrations/polling.js';
import type { TfeClient } from '../../src/integrations/tfe-client.js';
import { applyTaskState, isReadyToApply } from '../../src/integrations/tfe-run-status.js';
import {
  TFE_CONNECTION_INPUTS,
  createTfeClient,
  stopRun,
  type TfeConnectionState,
} from '../../src/integrations/tfe-task-support.js';

interface ApplyState extends TfeConnectionState {
  run_id: string;
  run_status?: string | null;
  /** The attempt that asked for the apply, and when. */
  apply_requested_for?: string | null;
  apply_requested_at?: number | null;
  following_since?: number | null;
  cancel_outcome?: string | null;
}

const ENDED = new Set<TaskState>(['successful', 'failed', 'exception', 'canceled', 'timeout', 'skipped']);
/** The statuses that show an apply was accepted. */
const APPLY_ACCEPTED = new Set(['confirmed', 'apply_queued', 'applying', 'applied']);

/** The tfe.workspace_run_apply task class. */
export default class WorkspaceRunApply extends Task<ApplyState> {
  static override meta = {
    name: 'tfe.workspace_run_apply',
    description: 'Applies a planned TFE run and waits until it is applied.',
    inputs: {
      ...TFE_CONNECTION_INPUTS,
      run_id: { type: 'string' as const, required: true, description: 'The run to apply (run-…).' },
    },
    outputs: {
      run_status: { description: 'The TFE status of the run.' },
      cancel_outcome: { description: 'What a cancel achieved, when the task was canceled.' },
    },
    pingIntervalSeconds: 2,
  };

  private client: TfeClient | undefined;

  taskInit(): void {
    this.createStateAttr('run_status', null, { public: true });
  }

  async run(): Promise<void> {
    this.flog.log(`applying TFE run ${this.state.run_id} (previous state '${this.lastTaskState}')`);
    this.taskState = await this.advance();
  }

  async ping(): Promise<TaskState> {
    if (ENDED.has(this.taskState)) return this.taskState;
    return this.advance();
  }

  async cancel(): Promise<void> {
    let outcome: string;
    try {
      outcome = await stopRun(this.tfe(), this.state.run_id, `Canceled by O3 task run ${this.uuid}`);
    } catch (error) {
      outcome = `the cancel of TFE run ${this.state.run_id} failed: ${messageOf(error)}`;
    }
    this.createOrUpdateStateAttr('cancel_outcome', outcome, { public: true });
    this.flog.log(outcome);
    this.slog.warning(`TFE apply task canceled upon request by the workflow: ${outcome}`);
    this.taskState = 'canceled';
  }

  private async advance(): Promise<TaskState> {
    const id = this.state.run_id;
    const run = await this.tfe().run(id, this.signal);
    const status = run.attributes.status;
    if (status !== this.state.run_status) this.flog.log(`TFE run ${id} is ${status}`);
    this.state.run_status = status;
    if (isReadyToApply(status, run.attributes.actions)) return this.apply(id);
    const state = applyTaskState(status);
    if (state === 'successful') {
      this.flog.log(this.successLine(id, status));
    } else if (state === 'failed' || state === 'canceled') {
      this.flog.error(`TFE run ${id} ended ${status}`);
      this.slog.error(`TFE run ${id} ended ${status}`);
    } else {
      const hint = fastStartDelayMs(this.state.following_since ?? undefined, this.now());
      if (hint !== undefined) this.pingAgainIn(hint);
    }
    return state;
  }

  private async apply(id: string): Promise<TaskState> {
    const now = this.now();
    await this.checkpoint({
      apply_requested_for: attemptKey(this.uuid, this.attempt),
      apply_requested_at: now,
      following_since: now,
    });
    const answer = await this.tfe().action(id, 'apply', `Applied by O3 task run ${this.uuid}`);
    if (!answer.accepted) {
      // Refused (409): fine if an apply is already under way or done, else the run cannot be applied.
      const status = (await this.tfe().run(id, this.signal)).attributes.status;
      this.state.run_status = status;
      if (!APPLY_ACCEPTED.has(status) && status !== 'planned_and_finished') {
        throw TaskFailure.nonRetryable(
          `TFE refused to apply run ${id} in status ${status} (${answer.reason})`,
        );
      }
      this.flog.log(`run ${id} is ${status}: its apply was already asked for`);
    } else {
      this.flog.log(`asked TFE to apply run ${id}`);
      this.slog.info(`TFE run ${id} apply requested.`);
    }
    this.pingAgainIn(fastStartDelayMs(now, this.now()) ?? 250);
    return 'running';
  }

  private successLine(id: string, status: string): string {
    if (status === 'planned_and_finished') return `the plan of run ${id} has no changes: nothing to apply`;
    return this.state.apply_requested_at
      ? `TFE run ${id} applied`
      : `TFE run ${id} was already applied: nothing to do`;
  }

  private tfe(): TfeClient {
    this.client ??= createTfeClient(this.state, this);
    return this.client;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
