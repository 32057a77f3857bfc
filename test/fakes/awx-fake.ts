/**
 * A fake AWX (API v2) written from the public API documentation: job templates, launch (201 with
 * the job, Bearer token required, 400 with variables_needed_to_start when a survey variable is
 * missing), jobs with a timed state machine (pending → running → successful/failed), relaunch,
 * cancel (202, or 405 once the job ended), stdout as text, and the jobs list with the filters O3
 * uses. Like AWX, it refuses to filter on extra_vars (403). Every job keeps its extra vars, so a
 * test can count launches per task run UUID.
 */
import type http from 'node:http';
import { FakeHttp, type Context, type Fault, type FakeTls, type Reply } from './fake-http.js';

/** A job template of the fake. */
export interface FakeTemplate {
  id: number;
  name?: string;
  /** Survey variables that must be given at launch. */
  required?: string[];
  /** False: extra vars are ignored at launch ("prompt on launch" off), as AWX does. */
  askVariables?: boolean;
}

/** Options of the fake. */
export interface AwxFakeOptions {
  templates?: FakeTemplate[];
  /** Valid tokens. */
  tokens?: string[];
  /** Tokens that may read but not launch, relaunch or cancel (403). */
  readOnlyTokens?: string[];
  pendingMs?: number;
  /** How long a job runs; a function gives each job its own. */
  runMs?: number | (() => number);
  /** How a job ends. */
  outcome?: (job: FakeJob) => 'successful' | 'failed';
  tls?: FakeTls;
}

/** A job of the fake. */
export interface FakeJob {
  id: number;
  templateId: number;
  extraVars: Record<string, unknown>;
  launchType: 'manual' | 'relaunch';
  createdAt: number;
  pendingMs: number;
  runMs: number;
  canceledAt: number | null;
  outcome: 'successful' | 'failed';
}

const PAGE_SIZE_MAX = 200;

/** The fake AWX. */
export class AwxFake {
  readonly http: FakeHttp;
  readonly jobs: FakeJob[] = [];
  private readonly templates = new Map<number, FakeTemplate>();
  private nextId = 100;

  private constructor(private readonly options: AwxFakeOptions) {
    this.http = new FakeHttp((headers) => this.authorize(headers));
    for (const template of options.templates ?? [{ id: 42, name: 'patch web tier' }]) {
      this.templates.set(template.id, template);
    }
    this.routes();
  }

  /** Starts a fake AWX on 127.0.0.1. */
  static async start(options: AwxFakeOptions = {}): Promise<AwxFake> {
    const fake = new AwxFake(options);
    await fake.http.listen(options.tls);
    return fake;
  }

  get url(): string {
    return this.http.url;
  }

  /** Injects a fault into a route: template, launch, relaunch, job, jobs, cancel, stdout. */
  inject(route: string, fault: Fault): void {
    this.http.inject(route, fault);
  }

  /** Launches (and relaunches) per task run UUID, from the extra var `o3_task_run_uuid`. */
  launchesPerTaskRun(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const job of this.jobs) {
      const marker = job.extraVars.o3_task_run_uuid;
      const uuid = typeof marker === 'string' ? marker : '(none)';
      counts.set(uuid, (counts.get(uuid) ?? 0) + 1);
    }
    return counts;
  }

  /** Jobs launched from a template. */
  launchesOf(templateId: number): FakeJob[] {
    return this.jobs.filter((job) => job.templateId === templateId);
  }

  /** The status of a job now. */
  status(job: FakeJob, now = Date.now()): string {
    if (job.canceledAt !== null) return 'canceled';
    const age = now - job.createdAt;
    if (age < job.pendingMs) return 'pending';
    if (age < job.pendingMs + job.runMs) return 'running';
    return job.outcome;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private authorize(headers: http.IncomingHttpHeaders): Reply | null {
    const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    if (!token) return { status: 401, json: { detail: 'Authentication credentials were not provided.' } };
    const known = [...(this.options.tokens ?? []), ...(this.options.readOnlyTokens ?? [])];
    if (!known.includes(token)) return { status: 401, json: { detail: 'Invalid token.' } };
    return null;
  }

  private canWrite(ctx: Context): boolean {
    const token = /^Bearer (.+)$/.exec(ctx.headers.authorization ?? '')?.[1] ?? '';
    return !(this.options.readOnlyTokens ?? []).includes(token);
  }

  private routes(): void {
    const h = this.http;
    h.route('template', 'GET', '/api/v2/job_templates/:id/', (ctx) => {
      const template = this.templates.get(Number(ctx.params.id));
      return template ? { status: 200, json: { id: template.id, name: template.name } } : notFound();
    });
    h.route('launch', 'POST', '/api/v2/job_templates/:id/launch/', (ctx) => this.launch(ctx));
    h.route('relaunch', 'POST', '/api/v2/jobs/:id/relaunch/', (ctx) => this.relaunch(ctx));
    h.route('jobs', 'GET', '/api/v2/jobs/', (ctx) => this.list(ctx));
    h.route('job', 'GET', '/api/v2/jobs/:id/', (ctx) => {
      const job = this.job(ctx);
      return job ? { status: 200, json: this.present(job) } : notFound();
    });
    h.route('cancel', 'POST', '/api/v2/jobs/:id/cancel/', (ctx) => this.cancel(ctx));
    h.route('stdout', 'GET', '/api/v2/jobs/:id/stdout/', (ctx) => {
      const job = this.job(ctx);
      if (!job) return notFound();
      const text = [
        `PLAY [fake play of job ${job.id}] ****`,
        `TASK [Gathering Facts] ****`,
        `ok: [web-01]`,
        `PLAY RECAP ****`,
        `web-01 : ok=1 changed=0 unreachable=0 failed=${job.outcome === 'failed' ? 1 : 0}`,
      ].join('\n');
      return ctx.query.get('format') === 'txt'
        ? { status: 200, text }
        : { status: 200, json: { content: text } };
    });
  }

  private launch(ctx: Context): Reply {
    const template = this.templates.get(Number(ctx.params.id));
    if (!template) return notFound();
    if (!this.canWrite(ctx)) return forbidden();
    const payload = ctx.json();
    let extraVars: Record<string, unknown> =
      typeof payload.extra_vars === 'string'
        ? JSON.parse(payload.extra_vars || '{}')
        : (payload.extra_vars ?? {});
    const ignored: Record<string, unknown> = {};
    if (template.askVariables === false && Object.keys(extraVars).length > 0) {
      ignored.extra_vars = extraVars;
      extraVars = {};
    }
    const missing = (template.required ?? []).filter((name) => !(name in extraVars));
    if (missing.length > 0) {
      return {
        status: 400,
        json: { variables_needed_to_start: missing.map((name) => `'${name}' value missing`) },
      };
    }
    const job = this.create(template.id, extraVars, 'manual');
    return { status: 201, json: { ...this.present(job), job: job.id, ignored_fields: ignored } };
  }

  private relaunch(ctx: Context): Reply {
    const old = this.job(ctx);
    if (!old) return notFound();
    if (!this.canWrite(ctx)) return forbidden();
    const job = this.create(old.templateId, { ...old.extraVars }, 'relaunch');
    return { status: 201, json: { ...this.present(job), job: job.id } };
  }

  private cancel(ctx: Context): Reply {
    const job = this.job(ctx);
    if (!job) return notFound();
    if (!this.canWrite(ctx)) return forbidden();
    if (['successful', 'failed', 'canceled'].includes(this.status(job))) {
      return { status: 405, json: { detail: 'Method "POST" not allowed.' } };
    }
    job.canceledAt = Date.now();
    return { status: 202 };
  }

  private list(ctx: Context): Reply {
    const q = ctx.query;
    if ([...q.keys()].some((key) => key.startsWith('extra_vars'))) {
      return { status: 403, json: { detail: 'Filtering on extra_vars is not allowed.' } };
    }
    let jobs = [...this.jobs];
    const template = q.get('job_template');
    if (template) jobs = jobs.filter((job) => job.templateId === Number(template));
    const launchType = q.get('launch_type');
    if (launchType) jobs = jobs.filter((job) => job.launchType === launchType);
    const idGt = q.get('id__gt');
    if (idGt) jobs = jobs.filter((job) => job.id > Number(idGt));
    const createdGte = q.get('created__gte');
    if (createdGte) jobs = jobs.filter((job) => job.createdAt >= Date.parse(createdGte));
    const order = q.get('order_by') ?? 'id';
    jobs.sort((a, b) => (order.startsWith('-') ? b.id - a.id : a.id - b.id));
    const size = Math.min(PAGE_SIZE_MAX, Number(q.get('page_size') ?? 25));
    const page = Number(q.get('page') ?? 1);
    const slice = jobs.slice((page - 1) * size, page * size);
    const next = new URLSearchParams(q);
    next.set('page', String(page + 1));
    return {
      status: 200,
      json: {
        count: jobs.length,
        next: page * size < jobs.length ? `/api/v2/jobs/?${next.toString()}` : null,
        previous: null,
        results: slice.map((job) => this.present(job)),
      },
    };
  }

  private create(
    templateId: number,
    extraVars: Record<string, unknown>,
    launchType: FakeJob['launchType'],
  ): FakeJob {
    const runMs = this.options.runMs;
    const job: FakeJob = {
      id: this.nextId++,
      templateId,
      extraVars,
      launchType,
      createdAt: Date.now(),
      pendingMs: this.options.pendingMs ?? 50,
      runMs: typeof runMs === 'function' ? runMs() : (runMs ?? 300),
      canceledAt: null,
      outcome: 'successful',
    };
    job.outcome = this.options.outcome?.(job) ?? 'successful';
    this.jobs.push(job);
    return job;
  }

  private job(ctx: Context): FakeJob | undefined {
    return this.jobs.find((job) => job.id === Number(ctx.params.id));
  }

  private present(job: FakeJob) {
    const status = this.status(job);
    const ended = ['successful', 'failed', 'canceled'].includes(status);
    return {
      id: job.id,
      type: 'job',
      url: `/api/v2/jobs/${job.id}/`,
      related: {
        stdout: `/api/v2/jobs/${job.id}/stdout/`,
        cancel: `/api/v2/jobs/${job.id}/cancel/`,
        relaunch: `/api/v2/jobs/${job.id}/relaunch/`,
      },
      name: this.templates.get(job.templateId)?.name ?? `template ${job.templateId}`,
      job_template: job.templateId,
      launch_type: job.launchType,
      status,
      failed: status === 'failed',
      created: new Date(job.createdAt).toISOString(),
      finished: ended ? new Date().toISOString() : null,
      elapsed: Math.round((Date.now() - job.createdAt) / 10) / 100,
      job_explanation: status === 'failed' ? 'the play failed on web-01' : '',
      extra_vars: JSON.stringify(job.extraVars),
    };
  }
}

function notFound(): Reply {
  return { status: 404, json: { detail: 'Not found.' } };
}

function forbidden(): Reply {
  return { status: 403, json: { detail: 'You do not have permission to perform this action.' } };
}
