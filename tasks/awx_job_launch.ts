/**
 * awx_job_launch — the article's AWX task: launches a job template, follows the job until it ends,
 * writes its stdout into the task log, relaunches it on a rerun after failure, cancels it for real.
 *
 * At most one launch per attempt (SPEC §7). Before the launch call the task persists a launch
 * intent; the job carries the intent id in its extra vars (`o3_launch_id`, next to
 * `o3_task_run_uuid`), and the job id is persisted as soon as AWX answers. An instance that finds an
 * intent without a job looks the job up first (AWX forbids filtering on extra_vars, so it lists the
 * template's jobs created since the intent and reads their extra vars) and launches only when the
 * look-up says there is none. A look-up that fails is retried, never replaced by a launch.
 *
 * A relaunch (`POST jobs/{id}/relaunch/`, on a rerun after failure as in the article) cannot carry
 * a new marker: AWX copies the old job's extra vars and takes none. Its intent therefore records
 * the relaunched job, and the look-up asks for jobs of the template with `launch_type=relaunch`, an
 * id above that job's (AWX ids only grow) and the old job's marker in their extra vars. Reruns of a
 * task run happen one after the other, so the first such job is this intent's — unless a person
 * relaunched the same job by hand in that moment, which O3 cannot tell apart.
 *
 * The marker only works when AWX keeps the extra vars: the template must prompt for variables on
 * launch (or have a survey that lets them through). When AWX reports them ignored, the task warns.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Task, TaskFailure, type TaskState } from '../src/index.js';
import {
  AWX_FINAL_STATUSES,
  AWX_STATUS_MAP,
  AwxClient,
  type AwxJob,
} from '../src/integrations/awx-client.js';
import {
  attemptKey,
  graceLeftMs,
  lookupBackoffMs,
  newIntent,
  type LaunchIntent,
} from '../src/integrations/launch-intent.js';
import { fastStartDelayMs } from '../src/integrations/polling.js';
import { TLS_INPUTS, compileTls, plainHttpWarning } from '../src/integrations/tls.js';

/** A launch intent of this task: a new launch, or a relaunch of an earlier job. */
interface AwxIntent extends LaunchIntent {
  kind: 'launch' | 'relaunch';
  /** What the job will carry as `o3_launch_id`: the intent id, or for a relaunch the old job's. */
  marker: string;
  from_job?: number;
}

interface AwxState {
  awx_url: string;
  job_template_id: number;
  extra_vars?: Record<string, unknown> | null;
  awx_token: string;
  ca_file?: string | null;
  tls_verify?: boolean | null;
  awx_jobid: number;
  job_status: string | null;
  /** The `o3_launch_id` in the current job's extra vars. */
  job_marker?: string | null;
  /** The attempt that launched (or adopted) the current job. */
  job_attempt?: string | null;
  launch_intent?: AwxIntent | null;
  following_since?: number | null;
  stdout_logged_for?: number | null;
  cancel_outcome?: string | null;
}

/** Previous states after which a rerun relaunches the old job, as in the article. */
const RELAUNCH_AFTER = new Set(['waiting', 'successful', 'exception', 'failed', 'canceled', 'timeout']);
const ENDED = new Set<TaskState>(['successful', 'failed', 'exception', 'canceled', 'timeout', 'skipped']);
/** AWX and O3 clocks may differ; the look-up reaches this far before the intent. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** How long cancel() waits for AWX to confirm the job is canceled. */
const CANCEL_FOLLOW_MS = 10_000;
const MAX_STDOUT_CHARS = 256 * 1024;

/** The awx_job_launch task class (see the file comment for the at-most-once design). */
export default class AwxJobLaunch extends Task<AwxState> {
  static override meta = {
    name: 'awx_job_launch',
    description:
      'Launches an AWX job template (relaunches the job on a rerun after failure), follows the job ' +
      'to its end and writes its stdout into the task log.',
    inputs: {
      awx_url: {
        type: 'string' as const,
        required: true,
        description: 'The AWX address, e.g. https://awx.example.com',
      },
      job_template_id: {
        type: 'integer' as const,
        required: true,
        description: 'The job template to launch.',
      },
      extra_vars: { type: 'object' as const, description: 'The extra vars of the launch.' },
      awx_token: {
        type: 'string' as const,
        required: true,
        secret: true,
        description: 'An AWX OAuth2 token.',
      },
      ...TLS_INPUTS,
    },
    outputs: {
      awx_jobid: { description: 'The id of the AWX job followed.' },
      job_status: { description: 'The AWX status of that job.' },
      cancel_outcome: { description: 'What a cancel achieved, when the task was canceled.' },
    },
    pingIntervalSeconds: 2,
  };

  private client: AwxClient | undefined;
  /** The launch call in flight, so cancel() can wait for its answer and cancel the job it made. */
  private launching: Promise<void> = Promise.resolve();
  private lookupFailures = 0;

  taskInit(): void {
    this.createStateAttr('awx_jobid', 0, { public: true });
    this.createStateAttr('job_status', null, { public: true });
  }

  async run(): Promise<void> {
    this.flog.log(
      `${this.name}: job template ${this.state.job_template_id}, previous state '${this.lastTaskState}', ` +
        `attempt ${this.attempt}, always_run ${this.alwaysRun}`,
    );
    await this.ensureJob('run');
  }

  async ping(): Promise<TaskState> {
    if (ENDED.has(this.taskState)) return this.taskState;
    if (!(await this.ensureJob('ping'))) return 'running';
    return this.poll();
  }

  async cancel(): Promise<void> {
    await this.launching;
    const outcome = await this.cancelJob();
    this.createOrUpdateStateAttr('cancel_outcome', outcome, { public: true });
    this.flog.log(outcome);
    this.slog.warning(`AWX task canceled upon request by the workflow: ${outcome}`);
    this.taskState = 'canceled';
  }

  /** Makes sure this attempt has a job to follow; false while that is still undecided. */
  private async ensureJob(phase: 'run' | 'ping'): Promise<boolean> {
    const key = attemptKey(this.uuid, this.attempt);
    const pending = this.state.launch_intent;
    if (pending) {
      const found = await this.lookUp(pending, phase);
      if (found !== 'absent') return found === 'adopted';
      if (pending.attempt_key === key) {
        this.flog.log(`no AWX job carries launch id ${pending.marker}: launching now`);
        // A fresh time: if this answer is lost too, the next look-up waits for this call, not the first.
        const again = { ...pending, at: this.now() };
        await this.checkpoint({ launch_intent: again });
        return this.launch(again);
      }
      this.flog.log(`the launch intent ${pending.id} of an earlier attempt created no job`);
      this.state.launch_intent = null;
    }
    if (this.state.awx_jobid > 0 && this.state.job_attempt === key) {
      this.taskState = 'running';
      return true;
    }
    const intent = this.intentFor(key);
    await this.checkpoint({ launch_intent: intent });
    return this.launch(intent);
  }

  private intentFor(key: string): AwxIntent {
    const base = newIntent(key, this.now());
    const previous = this.state.awx_jobid;
    if (previous > 0 && RELAUNCH_AFTER.has(this.lastTaskState) && this.state.job_marker) {
      this.flog.log(`previous state was '${this.lastTaskState}': relaunching AWX job ${previous}`);
      return { ...base, kind: 'relaunch', marker: this.state.job_marker, from_job: previous };
    }
    this.flog.log(`launching job template ${this.state.job_template_id} with launch id ${base.id}`);
    return { ...base, kind: 'launch', marker: base.id };
  }

  private launch(intent: AwxIntent): Promise<boolean> {
    const launched = this.launchAndRecord(intent);
    this.launching = launched.then(
      () => undefined,
      () => undefined,
    );
    return launched;
  }

  private async launchAndRecord(intent: AwxIntent): Promise<boolean> {
    const awx = this.awx();
    let job: AwxJob;
    try {
      // Not aborted by cancel: the answer holds the id of the job that cancel must stop.
      job =
        intent.kind === 'relaunch'
          ? await awx.relaunch(intent.from_job ?? 0)
          : await awx.launch(this.templateId(), this.extraVarsWith(intent.marker));
    } catch (error) {
      if (error instanceof TaskFailure && !error.retryable) {
        // AWX refused (4xx): it created nothing, so the intent is void.
        await this.checkpoint({ launch_intent: null });
        this.slog.error(error.message);
        throw error;
      }
      this.flog.warn(
        `${messageOf(error)}; O3 will look for a job with launch id ${intent.marker} before launching again`,
      );
      this.taskState = 'running';
      this.pingAgainIn(graceLeftMs(intent, this.now()));
      return false;
    }
    if (job.ignored_fields?.extra_vars !== undefined) {
      this.flog.warn(
        `AWX ignored the extra vars (job template ${this.templateId()} does not prompt for variables on ` +
          'launch): after a crash O3 cannot recognise this job by its launch id',
      );
    }
    await this.adopt(job, intent);
    this.slog.info(
      `AWX job ${job.id} ${intent.kind === 'relaunch' ? 'relaunched' : 'launched'} successfully.`,
    );
    return true;
  }

  /** Looks up the job of an intent: adopted, absent (safe to launch), or unknown (try again later). */
  private async lookUp(intent: AwxIntent, phase: 'run' | 'ping'): Promise<'adopted' | 'absent' | 'unknown'> {
    const wait = graceLeftMs(intent, this.now());
    if (wait > 0 && phase === 'ping') {
      this.pingAgainIn(wait);
      return 'unknown';
    }
    if (wait > 0) await sleep(wait, undefined, { signal: this.signal });
    let job: AwxJob | undefined;
    try {
      job = await this.findJob(intent, this.signal);
    } catch (error) {
      if ((error instanceof TaskFailure && !error.retryable) || this.signal.aborted) throw error;
      this.lookupFailures += 1;
      const delay = lookupBackoffMs(this.lookupFailures);
      this.flog.warn(
        `could not look for the job with launch id ${intent.marker} (${messageOf(error)}); ` +
          `trying again in ${delay} ms — O3 does not launch again before it knows`,
      );
      this.taskState = 'running';
      this.pingAgainIn(delay);
      return 'unknown';
    }
    this.lookupFailures = 0;
    if (!job) return 'absent';
    this.flog.log(
      `found AWX job ${job.id} with launch id ${intent.marker}: following it, not launching again`,
    );
    await this.adopt(job, intent);
    return 'adopted';
  }

  private async findJob(intent: AwxIntent, signal: AbortSignal | undefined): Promise<AwxJob | undefined> {
    const awx = this.awx();
    const query: Record<string, string | number> =
      intent.kind === 'relaunch'
        ? {
            job_template: this.templateId(),
            launch_type: 'relaunch',
            id__gt: intent.from_job ?? 0,
            order_by: 'id',
          }
        : {
            job_template: this.templateId(),
            created__gte: new Date(intent.at - CLOCK_SKEW_MS).toISOString(),
            order_by: '-id',
          };
    for await (const job of awx.listJobs(query, signal)) {
      const extraVars = job.extra_vars ?? (await awx.job(job.id, signal)).extra_vars ?? '';
      if (extraVars.includes(intent.marker)) return job;
    }
    return undefined;
  }

  private async adopt(job: AwxJob, intent: AwxIntent): Promise<void> {
    this.taskState = 'running';
    await this.checkpoint({
      awx_jobid: job.id,
      job_status: job.status,
      job_marker: intent.marker,
      job_attempt: attemptKey(this.uuid, this.attempt),
      launch_intent: null,
      following_since: this.now(),
      stdout_logged_for: null,
    });
  }

  private async poll(): Promise<TaskState> {
    const id = this.state.awx_jobid;
    const job = await this.awx().job(id, this.signal);
    if (job.status !== this.state.job_status) this.flog.log(`AWX job ${id} is ${job.status}`);
    this.state.job_status = job.status;
    const mapped = AWX_STATUS_MAP[job.status];
    if (mapped === undefined) {
      this.flog.warn(`AWX job ${id} has the unknown status '${job.status}'; still following it`);
      return 'running';
    }
    if (AWX_FINAL_STATUSES.has(job.status)) {
      await this.report(job);
      return mapped;
    }
    const hint = fastStartDelayMs(this.state.following_since ?? undefined, this.now());
    if (hint !== undefined) this.pingAgainIn(hint);
    return mapped;
  }

  /** At the job's end: its stdout into the task log, and one line for the system log. */
  private async report(job: AwxJob): Promise<void> {
    if (this.state.stdout_logged_for !== job.id) {
      try {
        const stdout = await this.awx().stdout(job.id, this.signal);
        const shown =
          stdout.length > MAX_STDOUT_CHARS
            ? `… (first ${stdout.length - MAX_STDOUT_CHARS} characters left out)\n${stdout.slice(-MAX_STDOUT_CHARS)}`
            : stdout;
        this.flog.log(`AWX job ${job.id} stdout:\n${shown}`);
        this.state.stdout_logged_for = job.id;
      } catch (error) {
        if (this.signal.aborted) throw error;
        this.flog.warn(`could not read the stdout of AWX job ${job.id}: ${messageOf(error)}`);
      }
    }
    const summary = `AWX job ${job.id} ended ${job.status}${job.elapsed !== undefined ? ` after ${job.elapsed} s` : ''}`;
    if (job.status === 'successful') {
      this.slog.info(`${summary}.`);
    } else {
      const why = job.job_explanation ? `: ${job.job_explanation}` : '';
      this.flog.error(`${summary}${why}`);
      this.slog.error(`${summary}${why}`);
    }
  }

  /** Cancels this attempt's job (finding it first if its launch answer never came) and says what happened. */
  private async cancelJob(): Promise<string> {
    const key = attemptKey(this.uuid, this.attempt);
    const intent = this.state.launch_intent;
    if (intent) {
      try {
        await sleep(graceLeftMs(intent, this.now()));
        const job = await this.findJob(intent, undefined);
        if (job) await this.adopt(job, intent);
      } catch (error) {
        return `could not look for the AWX job with launch id ${intent.marker} to cancel it: ${messageOf(error)}`;
      }
    }
    const id = this.state.awx_jobid;
    if (id <= 0 || this.state.job_attempt !== key) return 'no AWX job was launched: nothing to cancel';
    try {
      const answer = await this.awx().cancel(id);
      if (answer === 'not_cancelable') {
        const job = await this.awx().job(id);
        this.state.job_status = job.status;
        return `AWX job ${id} had already ended ${job.status}: nothing to cancel`;
      }
      return await this.followCancel(id);
    } catch (error) {
      return `the cancel of AWX job ${id} failed: ${messageOf(error)}`;
    }
  }

  private async followCancel(id: number): Promise<string> {
    const deadline = Date.now() + CANCEL_FOLLOW_MS;
    for (;;) {
      const job = await this.awx().job(id);
      this.state.job_status = job.status;
      if (AWX_FINAL_STATUSES.has(job.status)) {
        await this.report(job).catch(() => undefined);
        return job.status === 'canceled'
          ? `AWX job ${id} canceled`
          : `AWX job ${id} ended ${job.status} before the cancel took effect`;
      }
      if (Date.now() > deadline) return `cancel of AWX job ${id} requested; it is still ${job.status}`;
      await sleep(250);
    }
  }

  private awx(): AwxClient {
    if (this.client) return this.client;
    const warn = (message: string): void => {
      this.flog.warn(message);
      this.slog.warn(message);
    };
    const plain = plainHttpWarning(this.state.awx_url, 'awx_url');
    if (plain) warn(plain);
    this.client = new AwxClient({
      baseUrl: this.state.awx_url,
      token: this.state.awx_token,
      tls: compileTls(this.state, this.state.awx_url, warn),
      onRetry: (message) => this.flog.warn(message),
    });
    return this.client;
  }

  private templateId(): number {
    const id = Number(this.state.job_template_id);
    if (!Number.isInteger(id) || id <= 0) {
      throw TaskFailure.nonRetryable(`job_template_id must be a positive whole number, not '${String(id)}'`);
    }
    return id;
  }

  /** The request's extra vars plus the markers that let O3 find the job again. */
  private extraVarsWith(marker: string): Record<string, unknown> {
    let vars = this.state.extra_vars ?? {};
    if (typeof vars === 'string') {
      try {
        vars = JSON.parse(vars) as Record<string, unknown>;
      } catch {
        throw TaskFailure.nonRetryable('extra_vars is text that is not JSON; give an object');
      }
    }
    if (typeof vars !== 'object' || Array.isArray(vars)) {
      throw TaskFailure.nonRetryable('extra_vars must be an object of variables');
    }
    return { ...vars, o3_task_run_uuid: this.uuid, o3_launch_id: marker };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
