/**
 * A fake Terraform Enterprise (API v2, JSON:API) written from the public API documentation:
 * workspaces by organization and name, configuration versions (status pending → uploaded after the
 * PUT to their upload URL, served by this same fake; with auto-queue-runs on, an upload starts a
 * run by itself, as TFE does), runs (create, show, list newest first with search[basic]), the
 * actions apply/cancel/discard (202, or 409 when the run is not in a state for it), and a timed run
 * state machine: pending → planning → planned → apply_queued → applying → applied, or
 * planned_and_finished (no changes), or errored. It also serves the tarballs a test gives it.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { FakeHttp, type Context, type Fault, type FakeTls, type Reply } from './fake-http.js';

/** How a plan ends. */
export type PlanOutcome = 'changes' | 'no_changes' | 'errored';

/** Options of the fake. */
export interface TfeFakeOptions {
  tokens?: string[];
  /** Tokens that may read but not create or act (403). */
  readOnlyTokens?: string[];
  /** Organization name → its workspace names. */
  organizations?: Record<string, string[]>;
  queueMs?: number;
  planMs?: number;
  applyMs?: number;
  /** How long a configuration version stays `pending` after its upload. */
  uploadProcessingMs?: number;
  plan?: PlanOutcome;
  tls?: FakeTls;
}

interface FakeWorkspace {
  id: string;
  name: string;
  organization: string;
}

/** A configuration version of the fake. */
export interface FakeConfigVersion {
  id: string;
  workspaceId: string;
  autoQueueRuns: boolean;
  uploadToken: string;
  uploadedAt: number | null;
  tarball: Buffer | null;
  error: string | null;
}

/** A run of the fake. */
export interface FakeRun {
  id: string;
  workspaceId: string;
  configVersionId: string;
  message: string;
  createdAt: number;
  plan: PlanOutcome;
  applyRequestedAt: number | null;
  stopped: 'canceled' | 'discarded' | null;
  actions: string[];
}

const JSON_API = { 'content-type': 'application/vnd.api+json' };

/** The fake TFE. */
export class TfeFake {
  readonly http: FakeHttp;
  readonly workspaces: FakeWorkspace[] = [];
  readonly configVersions: FakeConfigVersion[] = [];
  readonly runs: FakeRun[] = [];
  private readonly files = new Map<string, Buffer>();
  private seq = 0;

  private constructor(private readonly options: TfeFakeOptions) {
    this.http = new FakeHttp((headers) => this.authorize(headers));
    for (const [organization, names] of Object.entries(options.organizations ?? { infra: ['project-vms'] })) {
      for (const name of names) this.workspaces.push({ id: this.newId('ws'), name, organization });
    }
    this.routes();
  }

  /** Starts a fake TFE on 127.0.0.1. */
  static async start(options: TfeFakeOptions = {}): Promise<TfeFake> {
    const fake = new TfeFake(options);
    await fake.http.listen(options.tls);
    return fake;
  }

  get url(): string {
    return this.http.url;
  }

  /** Injects a fault into a route: workspace, create_cv, cv, upload, create_run, run, runs, action, file. */
  inject(route: string, fault: Fault): void {
    this.http.inject(route, fault);
  }

  /** Serves `data` at a URL of this fake (no token needed) and returns the URL. */
  addFile(name: string, data: Buffer): string {
    this.files.set(name, data);
    return `${this.url}/files/${name}`;
  }

  /** Sets how the plans of new runs end. */
  setPlanOutcome(plan: PlanOutcome): void {
    this.options.plan = plan;
  }

  /** The runs of a workspace, found by name. */
  runsOf(workspaceName: string): FakeRun[] {
    const workspace = this.workspaces.find((w) => w.name === workspaceName);
    return this.runs.filter((run) => run.workspaceId === workspace?.id);
  }

  /** The status of a run now. */
  runStatus(run: FakeRun, now = Date.now()): string {
    if (run.stopped) return run.stopped;
    const queue = this.options.queueMs ?? 50;
    const plan = this.options.planMs ?? 200;
    const age = now - run.createdAt;
    if (age < queue) return 'pending';
    if (age < queue + plan) return 'planning';
    if (run.plan === 'errored') return 'errored';
    if (run.plan === 'no_changes') return 'planned_and_finished';
    if (run.applyRequestedAt === null) return 'planned';
    const since = now - run.applyRequestedAt;
    if (since < queue) return 'apply_queued';
    if (since < queue + (this.options.applyMs ?? 200)) return 'applying';
    return 'applied';
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private newId(prefix: string): string {
    this.seq += 1;
    return `${prefix}-${String(this.seq).padStart(4, '0')}${randomBytes(6).toString('hex')}`;
  }

  private authorize(headers: http.IncomingHttpHeaders): Reply | null {
    const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
    const known = [...(this.options.tokens ?? []), ...(this.options.readOnlyTokens ?? [])];
    return token && known.includes(token) ? null : errors(401, 'unauthorized');
  }

  private canWrite(ctx: Context): boolean {
    const token = /^Bearer (.+)$/.exec(ctx.headers.authorization ?? '')?.[1] ?? '';
    return !(this.options.readOnlyTokens ?? []).includes(token);
  }

  private routes(): void {
    const h = this.http;
    h.route('workspace', 'GET', '/api/v2/organizations/:org/workspaces/:name', (ctx) => {
      const ws = this.workspaces.find((w) => w.organization === ctx.params.org && w.name === ctx.params.name);
      return ws ? ok({ data: this.presentWorkspace(ws) }) : errors(404, 'not found');
    });
    h.route('create_cv', 'POST', '/api/v2/workspaces/:id/configuration-versions', (ctx) =>
      this.createCv(ctx),
    );
    h.route('cv', 'GET', '/api/v2/configuration-versions/:id', (ctx) => {
      const cv = this.configVersions.find((c) => c.id === ctx.params.id);
      return cv ? ok({ data: this.presentCv(cv) }) : errors(404, 'not found');
    });
    h.route('upload', 'PUT', '/_archivist/upload/:token', (ctx) => this.upload(ctx), { auth: false });
    h.route('create_run', 'POST', '/api/v2/runs', (ctx) => this.createRun(ctx));
    h.route('run', 'GET', '/api/v2/runs/:id', (ctx) => {
      const run = this.runs.find((r) => r.id === ctx.params.id);
      return run ? ok({ data: this.presentRun(run) }) : errors(404, 'not found');
    });
    h.route('runs', 'GET', '/api/v2/workspaces/:id/runs', (ctx) => this.listRuns(ctx));
    h.route('action', 'POST', '/api/v2/runs/:id/actions/:action', (ctx) => this.action(ctx));
    h.route(
      'file',
      'GET',
      '/files/:name',
      (ctx) => {
        const data = this.files.get(ctx.params.name ?? '');
        return data
          ? { status: 200, body: data, headers: { 'content-type': 'application/gzip' } }
          : { status: 404 };
      },
      { auth: false },
    );
  }

  private createCv(ctx: Context): Reply {
    const ws = this.workspaces.find((w) => w.id === ctx.params.id);
    if (!ws) return errors(404, 'not found');
    if (!this.canWrite(ctx)) return errors(403, 'forbidden');
    const attributes = ctx.json().data?.attributes ?? {};
    const cv: FakeConfigVersion = {
      id: this.newId('cv'),
      workspaceId: ws.id,
      autoQueueRuns: attributes['auto-queue-runs'] ?? true,
      uploadToken: randomBytes(12).toString('hex'),
      uploadedAt: null,
      tarball: null,
      error: null,
    };
    this.configVersions.push(cv);
    return { status: 201, json: { data: this.presentCv(cv) }, headers: JSON_API };
  }

  private upload(ctx: Context): Reply {
    const cv = this.configVersions.find((c) => c.uploadToken === ctx.params.token);
    if (!cv) return { status: 404 };
    cv.tarball = ctx.body;
    cv.uploadedAt = Date.now();
    try {
      gunzipSync(ctx.body);
    } catch {
      cv.error = 'the uploaded file is not a gzip tarball';
    }
    if (cv.autoQueueRuns && !cv.error) this.newRun(cv, 'Queued automatically after an upload');
    return { status: 200 };
  }

  private cvStatus(cv: FakeConfigVersion, now = Date.now()): string {
    if (cv.uploadedAt === null || now - cv.uploadedAt < (this.options.uploadProcessingMs ?? 0))
      return 'pending';
    return cv.error ? 'errored' : 'uploaded';
  }

  private createRun(ctx: Context): Reply {
    if (!this.canWrite(ctx)) return errors(403, 'forbidden');
    const data = ctx.json().data ?? {};
    const wsId = data.relationships?.workspace?.data?.id;
    const cvId = data.relationships?.['configuration-version']?.data?.id;
    if (!this.workspaces.some((w) => w.id === wsId)) return errors(404, 'not found');
    const cv = this.configVersions.find((c) => c.id === cvId && c.workspaceId === wsId);
    if (!cv) return errors(404, 'not found');
    // Strict on purpose: the run task must wait until the upload was processed.
    if (this.cvStatus(cv) !== 'uploaded') {
      return errors(
        422,
        'invalid attribute',
        'Configuration version has not been uploaded and processed yet',
      );
    }
    const run = this.newRun(cv, String(data.attributes?.message ?? ''));
    return { status: 201, json: { data: this.presentRun(run) }, headers: JSON_API };
  }

  private newRun(cv: FakeConfigVersion, message: string): FakeRun {
    const run: FakeRun = {
      id: this.newId('run'),
      workspaceId: cv.workspaceId,
      configVersionId: cv.id,
      message,
      createdAt: Date.now(),
      plan: this.options.plan ?? 'changes',
      applyRequestedAt: null,
      stopped: null,
      actions: [],
    };
    this.runs.push(run);
    return run;
  }

  private listRuns(ctx: Context): Reply {
    const ws = this.workspaces.find((w) => w.id === ctx.params.id);
    if (!ws) return errors(404, 'not found');
    const search = ctx.query.get('search[basic]') ?? '';
    const all = this.runs
      .filter(
        (r) => r.workspaceId === ws.id && (!search || r.id.includes(search) || r.message.includes(search)),
      )
      .reverse();
    const size = Math.min(100, Number(ctx.query.get('page[size]') ?? 20));
    const page = Number(ctx.query.get('page[number]') ?? 1);
    const pages = Math.max(1, Math.ceil(all.length / size));
    return ok({
      data: all.slice((page - 1) * size, page * size).map((run) => this.presentRun(run)),
      meta: {
        pagination: {
          'current-page': page,
          'next-page': page < pages ? page + 1 : null,
          'prev-page': page > 1 ? page - 1 : null,
          'total-pages': pages,
          'total-count': all.length,
        },
      },
    });
  }

  private action(ctx: Context): Reply {
    const run = this.runs.find((r) => r.id === ctx.params.id);
    if (!run) return errors(404, 'not found');
    if (!this.canWrite(ctx)) return errors(403, 'forbidden');
    const action = ctx.params.action ?? '';
    const status = this.runStatus(run);
    run.actions.push(action);
    if (action === 'apply' && status === 'planned') {
      run.applyRequestedAt = Date.now();
    } else if (action === 'discard' && (status === 'pending' || status === 'planned')) {
      run.stopped = 'discarded';
    } else if (action === 'cancel' && ['planning', 'apply_queued', 'applying'].includes(status)) {
      run.stopped = 'canceled';
    } else if (['apply', 'discard', 'cancel'].includes(action)) {
      const why =
        action === 'cancel'
          ? 'Run was not planning or applying; cancel not allowed.'
          : `Run was not paused for confirmation or priority; ${action} not allowed.`;
      return errors(409, 'transition not allowed', why);
    } else {
      return errors(404, 'not found');
    }
    return { status: 202 };
  }

  private presentWorkspace(ws: FakeWorkspace) {
    return { id: ws.id, type: 'workspaces', attributes: { name: ws.name, 'auto-apply': false } };
  }

  private presentCv(cv: FakeConfigVersion) {
    return {
      id: cv.id,
      type: 'configuration-versions',
      attributes: {
        'auto-queue-runs': cv.autoQueueRuns,
        error: cv.error ? 'errored' : null,
        'error-message': cv.error,
        source: 'tfe-api',
        status: this.cvStatus(cv),
        'upload-url': cv.uploadedAt === null ? `${this.url}/_archivist/upload/${cv.uploadToken}` : null,
      },
    };
  }

  private presentRun(run: FakeRun) {
    const status = this.runStatus(run);
    return {
      id: run.id,
      type: 'runs',
      attributes: {
        status,
        message: run.message,
        'auto-apply': false,
        'has-changes': run.plan === 'changes',
        'created-at': new Date(run.createdAt).toISOString(),
        actions: {
          'is-cancelable': ['planning', 'apply_queued', 'applying'].includes(status),
          'is-confirmable': status === 'planned',
          'is-discardable': status === 'pending' || status === 'planned',
          'is-force-cancelable': false,
        },
      },
      relationships: {
        workspace: { data: { id: run.workspaceId, type: 'workspaces' } },
        'configuration-version': { data: { id: run.configVersionId, type: 'configuration-versions' } },
      },
    };
  }
}

function ok(json: unknown): Reply {
  return { status: 200, json, headers: JSON_API };
}

function errors(status: number, title: string, detail?: string): Reply {
  return {
    status,
    json: { errors: [{ status: String(status), title, ...(detail ? { detail } : {}) }] },
    headers: JSON_API,
  };
}
