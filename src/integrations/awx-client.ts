/**
 * The AWX / Ansible Tower API v2 calls the awx_job_launch task makes, and the map from AWX job
 * statuses to O3 task states.
 */
import type { TaskState } from '../store/records.js';
import { HttpClient, type HttpClientOptions } from './http-client.js';

/** The fields of an AWX job that O3 reads. */
export interface AwxJob {
  id: number;
  status: string;
  failed?: boolean;
  /** The job's extra vars as AWX stores them: a JSON (or YAML) text. */
  extra_vars?: string;
  launch_type?: string;
  job_template?: number | null;
  job_explanation?: string;
  elapsed?: number;
  created?: string;
  /** On a launch answer: the prompts AWX ignored, e.g. extra_vars when "prompt on launch" is off. */
  ignored_fields?: Record<string, unknown>;
}

/** One page of a list answer. */
interface AwxPage<T> {
  count: number;
  next: string | null;
  results: T[];
}

/** The statuses after which an AWX job does nothing more. */
export const AWX_FINAL_STATUSES: ReadonlySet<string> = new Set(['successful', 'failed', 'error', 'canceled']);

/**
 * AWX job status → O3 task state. The article maps `new` to `created`; O3 maps it to `running`
 * because the job exists and must be followed by ping — a task stored as `created` has `run` called
 * again after a restart, which is for work not yet started.
 */
export const AWX_STATUS_MAP: Readonly<Record<string, TaskState>> = {
  new: 'running',
  pending: 'running',
  waiting: 'running',
  running: 'running',
  successful: 'successful',
  failed: 'failed',
  error: 'failed',
  canceled: 'canceled',
};

/** What a cancel request achieved. */
export type AwxCancelAnswer = 'requested' | 'not_cancelable';

/** The AWX calls, on one client (one AWX, one token). */
export class AwxClient {
  readonly http: HttpClient;

  constructor(options: Omit<HttpClientOptions, 'service' | 'tokenInput'>) {
    this.http = new HttpClient({ ...options, service: 'AWX', tokenInput: 'awx_token' });
  }

  /** POST job_templates/{id}/launch/ — not idempotent: a lost answer is an unknown outcome. */
  async launch(templateId: number, extraVars: Record<string, unknown>): Promise<AwxJob> {
    const answer = await this.http.call({
      method: 'POST',
      path: `api/v2/job_templates/${templateId}/launch/`,
      json: { extra_vars: extraVars },
      what: `launch job template ${templateId}`,
      target: `job template ${templateId}`,
      explain: explainLaunchRefusal,
    });
    return normaliseJob(answer.json<AwxJob & { job?: number }>());
  }

  /** POST jobs/{id}/relaunch/ — a new job with the old job's extra vars. */
  async relaunch(jobId: number): Promise<AwxJob> {
    const answer = await this.http.call({
      method: 'POST',
      path: `api/v2/jobs/${jobId}/relaunch/`,
      json: {},
      what: `relaunch job ${jobId}`,
      target: `job ${jobId}`,
      explain: explainLaunchRefusal,
    });
    return normaliseJob(answer.json<AwxJob & { job?: number }>());
  }

  /** GET jobs/{id}/. */
  async job(jobId: number, signal?: AbortSignal): Promise<AwxJob> {
    return this.http.getJson<AwxJob>({
      path: `api/v2/jobs/${jobId}/`,
      what: `read job ${jobId}`,
      target: `job ${jobId}`,
      signal,
    });
  }

  /** GET jobs/ with filters: yields every job of every page, in the order asked for. */
  async *listJobs(query: Record<string, string | number>, signal?: AbortSignal): AsyncGenerator<AwxJob> {
    let path: string | null = 'api/v2/jobs/';
    let params: Record<string, string | number> | undefined = { page_size: 100, ...query };
    while (path !== null) {
      const page: AwxPage<AwxJob> = await this.http.getJson<AwxPage<AwxJob>>({
        path,
        query: params,
        what: 'list jobs',
        signal,
      });
      yield* page.results;
      // `next` is a full path with the query already in it.
      path = page.next;
      params = undefined;
    }
  }

  /** POST jobs/{id}/cancel/; a 405 means the job can no longer be canceled (it ended). */
  async cancel(jobId: number): Promise<AwxCancelAnswer> {
    const answer = await this.http.call({
      method: 'POST',
      path: `api/v2/jobs/${jobId}/cancel/`,
      json: {},
      // Canceling twice is harmless, so a lost answer may be repeated.
      idempotent: true,
      accept: [405, 409],
      what: `cancel job ${jobId}`,
      target: `job ${jobId}`,
    });
    return answer.status < 300 ? 'requested' : 'not_cancelable';
  }

  /** GET jobs/{id}/stdout/?format=txt. */
  async stdout(jobId: number, signal?: AbortSignal): Promise<string> {
    const answer = await this.http.call({
      path: `api/v2/jobs/${jobId}/stdout/`,
      query: { format: 'txt' },
      headers: { accept: 'text/plain' },
      what: `read the output of job ${jobId}`,
      target: `output of job ${jobId}`,
      signal,
      maxBytes: 8 * 1024 * 1024,
    });
    return answer.text();
  }
}

/** The launch answer carries the new job's id as `id` (and `job`). */
function normaliseJob(job: AwxJob & { job?: number }): AwxJob {
  return { ...job, id: Number(job.id ?? job.job) };
}

/** A 400 on launch names what is missing in `variables_needed_to_start`. */
function explainLaunchRefusal(status: number, body: unknown): string | undefined {
  if (status !== 400 || body === null || typeof body !== 'object') return undefined;
  const record = body as Record<string, unknown>;
  const needed = record.variables_needed_to_start;
  if (Array.isArray(needed) && needed.length > 0) {
    return `variables_needed_to_start: ${needed.map(String).join('; ')}`;
  }
  return undefined;
}
