/**
 * tfe.workspace_run — starts a run with an uploaded configuration version and waits for the plan.
 * It ends successful when the run waits for confirmation (planned, cost_estimated, policy_checked,
 * post_plan_completed, planned_and_saved) or ended without changes (planned_and_finished).
 *
 * TFE takes a moment to process an upload: while the configuration version is `pending` or
 * `fetching`, the task waits before it creates the run.
 *
 * At most one run per attempt (SPEC §7): a launch intent is persisted before `POST /runs`, and the
 * run's message carries the task run's UUID and the intent id. An instance that finds an intent
 * without a run lists the workspace's runs and looks for that message before creating another.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Task, TaskFailure, type TaskState } from '../../src/index.js';
import {
  attemptKey,
  graceLeftMs,
  lookupBackoffMs,
  newIntent,
  type LaunchIntent,
} from '../../src/integrations/launch-intent.js';
import { fastStartDelayMs } from '../../src/integrations/polling.js';
import type { TfeClient, TfeRun } from '../../src/integrations/tfe-client.js';
import { planTaskState } from '../../src/integrations/tfe-run-status.js';
import {
  TFE_CONNECTION_INPUTS,
  createTfeClient,
  stopRun,
  type TfeConnectionState,
} from '../../src/integrations/tfe-task-support.js';

interface WorkspaceRunState extends TfeConnectionState {
  workspace_id: string;
  config_version_id: string;
  run_id?: string | null;
  run_status?: string | null;
  /** The attempt that created (or adopted) run_id. */
  run_attempt?: string | null;
  launch_intent?: LaunchIntent | null;
  config_wait_since?: number | null;
  following_since?: number | null;
  cancel_outcome?: string | null;
}

const ENDED = new Set<TaskState>(['successful', 'failed', 'exception', 'canceled', 'timeout', 'skipped']);
/** TFE and O3 clocks may differ; the look-up reaches this far before the intent. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** How long the task waits for TFE to process an upload before it gives up. */
const CONFIG_WAIT_MS = 10 * 60 * 1000;

/** The tfe.workspace_run task class. */
export default class WorkspaceRun extends Task<WorkspaceRunState> {
  static override meta = {
    name: 'tfe.workspace_run',
    description: 'Starts a TFE run with the uploaded configuration version and waits for its plan.',
    inputs: {
      ...TFE_CONNECTION_INPUTS,
      workspace_id: { type: 'string' as const, required: true, description: 'The workspace id (ws-…).' },
      config_version_id: {
        type: 'string' as const,
        required: true,
        description: 'The uploaded configuration version (cv-…).',
      },
    },
    outputs: {
      run_id: { description: 'The run id (run-…).' },
      run_status: { description: 'The TFE status of the run.' },
      cancel_outcome: { description: 'What a cancel achieved, when the task was canceled.' },
    },
    pingIntervalSeconds: 2,
  };

  private client: TfeClient | undefined;
  /** The run creation in flight, so cancel() can wait for its answer and stop the run it made. */
  private launching: Promise<void> = Promise.resolve();
  private lookupFailures = 0;

  taskInit(): void {
    this.createStateAttr('run_id', null, { public: true });
    this.createStateAttr('run_status', null, { public: true });
  }

  async run(): Promise<void> {
    this.flog.log(
      `starting a run in workspace ${this.state.workspace_id} with configuration version ` +
        `${this.state.config_version_id} (previous state '${this.lastTaskState}', attempt ${this.attempt})`,
    );
    this.taskState = await this.advance('run');
  }

  async ping(): Promise<TaskState> {
    if (ENDED.has(this.taskState)) return this.taskState;
    return this.advance('ping');
  }

  async cancel(): Promise<void> {
    await this.launching;
    let outcome: string;
    try {
      outcome = await this.stop();
    } catch (error) {
      outcome = `the cancel of the TFE run failed: ${messageOf(error)}`;
    }
    this.createOrUpdateStateAttr('cancel_outcome', outcome, { public: true });
    this.flog.log(outcome);
    this.slog.warning(`TFE run task canceled upon request by the workflow: ${outcome}`);
    this.taskState = 'canceled';
  }

  private async advance(phase: 'run' | 'ping'): Promise<TaskState> {
    const key = attemptKey(this.uuid, this.attempt);
    const pending = this.state.launch_intent;
    if (pending) {
      const found = await this.lookUp(pending, phase);
      if (found === 'unknown') return 'running';
      if (found === 'absent' && pending.attempt_key !== key) {
        this.flog.log(`the launch intent ${pending.id} of an earlier attempt created no run`);
        this.state.launch_intent = null;
      } else if (found === 'absent') {
        this.flog.log(`no run of workspace ${this.state.workspace_id} carries launch id ${pending.id}`);
        const again = { ...pending, at: this.now() };
        await this.checkpoint({ launch_intent: again });
        if (!(await this.create(again))) return 'running';
      }
    }
    if (!this.state.run_id || this.state.run_attempt !== key) {
      if (!(await this.configReady())) return 'running';
      const intent = newIntent(key, this.now());
      await this.checkpoint({ launch_intent: intent });
      if (!(await this.create(intent))) return 'running';
    }
    return this.poll();
  }

  /** True once TFE has processed the upload; fails the task if it never will. */
  private async configReady(): Promise<boolean> {
    const id = this.state.config_version_id;
    const version = await this.tfe().configVersion(id, this.signal);
    const status = version.attributes.status;
    if (status === 'uploaded') return true;
    if (status === 'errored') {
      const why = version.attributes['error-message'] ?? 'no reason given';
      throw TaskFailure.nonRetryable(`TFE could not process configuration version ${id}: ${why}`);
    }
    if (status === 'archived') {
      throw TaskFailure.nonRetryable(`configuration version ${id} is archived: a run can no longer use it`);
    }
    const since = this.state.config_wait_since ?? this.now();
    if (this.state.config_wait_since == null) {
      this.state.config_wait_since = since;
      this.flog.log(`configuration version ${id} is ${status}: waiting for TFE to process the upload`);
    }
    if (this.now() - since > CONFIG_WAIT_MS) {
      throw TaskFailure.nonRetryable(
        `configuration version ${id} is still ${status} after ${CONFIG_WAIT_MS / 60000} minutes: were the files uploaded?`,
      );
    }
    this.pingAgainIn(fastStartDelayMs(since, this.now()) ?? 2000);
    return false;
  }

  private create(intent: LaunchIntent): Promise<boolean> {
    const created = this.createAndRecord(intent);
    this.launching = created.then(
      () => undefined,
      () => undefined,
    );
    return created;
  }

  private async createAndRecord(intent: LaunchIntent): Promise<boolean> {
    const message = `Queued by O3: request ${this.requestUuid}, task run ${this.uuid}, launch ${intent.id}`;
    let run: TfeRun;
    try {
      run = await this.tfe().createRun(this.state.workspace_id, this.state.config_version_id, message);
    } catch (error) {
      if (error instanceof TaskFailure && !error.retryable) {
        await this.checkpoint({ launch_intent: null });
        throw error;
      }
      this.flog.warn(
        `${messageOf(error)}; O3 will look for a run with launch id ${intent.id} before starting another`,
      );
      this.pingAgainIn(graceLeftMs(intent, this.now()));
      return false;
    }
    await this.adopt(run);
    this.slog.info(`TFE run ${run.id} started in workspace ${this.state.workspace_id}.`);
    return true;
  }

  private async lookUp(
    intent: LaunchIntent,
    phase: 'run' | 'ping',
  ): Promise<'adopted' | 'absent' | 'unknown'> {
    const wait = graceLeftMs(intent, this.now());
    if (wait > 0 && phase === 'ping') {
      this.pingAgainIn(wait);
      return 'unknown';
    }
    if (wait > 0) await sleep(wait, undefined, { signal: this.signal });
    let run: TfeRun | undefined;
    try {
      run = await this.findRun(intent, this.signal);
    } catch (error) {
      if ((error instanceof TaskFailure && !error.retryable) || this.signal.aborted) throw error;
      this.lookupFailures += 1;
      const delay = lookupBackoffMs(this.lookupFailures);
      this.flog.warn(
        `could not look for the run with launch id ${intent.id} (${messageOf(error)}); trying again in ` +
          `${delay} ms — O3 does not start another run before it knows`,
      );
      this.pingAgainIn(delay);
      return 'unknown';
    }
    this.lookupFailures = 0;
    if (!run) return 'absent';
    this.flog.log(`found TFE run ${run.id} with launch id ${intent.id}: following it, not starting another`);
    await this.adopt(run);
    return 'adopted';
  }

  private async findRun(intent: LaunchIntent, signal: AbortSignal | undefined): Promise<TfeRun | undefined> {
    // Newest first: once the runs are older than the intent (give or take clock skew), it is not there.
    const oldest = intent.at - CLOCK_SKEW_MS;
    for await (const run of this.tfe().listRuns(this.state.workspace_id, intent.id, signal)) {
      if (run.attributes.message?.includes(intent.id)) return run;
      if (Date.parse(run.attributes['created-at'] ?? '') < oldest) break;
    }
    return undefined;
  }

  private async adopt(run: TfeRun): Promise<void> {
    this.taskState = 'running';
    this.createOrUpdateStateAttr('run_id', run.id, { public: true });
    await this.checkpoint({
      run_status: run.attributes.status,
      run_attempt: attemptKey(this.uuid, this.attempt),
      launch_intent: null,
      following_since: this.now(),
    });
  }

  private async poll(): Promise<TaskState> {
    const id = this.state.run_id ?? '';
    const run = await this.tfe().run(id, this.signal);
    const status = run.attributes.status;
    if (status !== this.state.run_status) this.flog.log(`TFE run ${id} is ${status}`);
    this.state.run_status = status;
    const state = planTaskState(status, run.attributes.actions);
    if (state === 'successful') {
      this.flog.log(
        status === 'planned_and_finished'
          ? `the plan of run ${id} has no changes: nothing to apply`
          : `the plan of run ${id} is done (${status})`,
      );
    } else if (state === 'failed' || state === 'canceled') {
      this.flog.error(`TFE run ${id} ended ${status}`);
      this.slog.error(`TFE run ${id} ended ${status}`);
    } else {
      const hint = fastStartDelayMs(this.state.following_since ?? undefined, this.now());
      if (hint !== undefined) this.pingAgainIn(hint);
    }
    return state;
  }

  private async stop(): Promise<string> {
    const intent = this.state.launch_intent;
    if (intent) {
      await sleep(graceLeftMs(intent, this.now()));
      const run = await this.findRun(intent, undefined);
      if (run) await this.adopt(run);
    }
    const id = this.state.run_id;
    if (!id || this.state.run_attempt !== attemptKey(this.uuid, this.attempt)) {
      return 'no TFE run was started: nothing to cancel';
    }
    return stopRun(this.tfe(), id, `Canceled by O3 task run ${this.uuid}`);
  }

  private tfe(): TfeClient {
    this.client ??= createTfeClient(this.state, this);
    return this.client;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
