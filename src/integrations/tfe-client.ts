/** The Terraform Enterprise / HCP Terraform API v2 calls (JSON:API) the tfe.* tasks make. */
import { HttpClient, type HttpClientOptions } from './http-client.js';
import { answerDetail } from './http-failure.js';
import type { TfeRunActions } from './tfe-run-status.js';

/** A JSON:API resource. */
export interface TfeResource<A> {
  id: string;
  type: string;
  attributes: A;
}

/** The fields of a run that O3 reads. */
export interface TfeRunAttributes {
  status: string;
  message?: string | null;
  actions?: TfeRunActions;
  'has-changes'?: boolean;
  'created-at'?: string;
}

/** The fields of a configuration version that O3 reads. */
export interface TfeConfigVersionAttributes {
  status: string;
  'upload-url'?: string | null;
  'error-message'?: string | null;
  'auto-queue-runs'?: boolean;
}

/** A TFE run. */
export type TfeRun = TfeResource<TfeRunAttributes>;
/** A TFE configuration version. */
export type TfeConfigVersion = TfeResource<TfeConfigVersionAttributes>;

/** The outcome of a run action: accepted (202), or refused because the run is not in a state for it (409). */
export type TfeActionAnswer = { accepted: true } | { accepted: false; reason: string };

interface Document<T> {
  data: T;
  meta?: { pagination?: { 'next-page'?: number | null } };
}

const JSON_API = 'application/vnd.api+json';

/** The TFE calls, on one client (one TFE, one token). */
export class TfeClient {
  readonly http: HttpClient;

  constructor(options: Omit<HttpClientOptions, 'service' | 'tokenInput'>) {
    this.http = new HttpClient({ ...options, service: 'TFE', tokenInput: 'tfe_bearer_token' });
  }

  /** GET organizations/:org/workspaces/:name. */
  async workspaceByName(
    organization: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<TfeResource<{ name: string }>> {
    const path = `api/v2/organizations/${encodeURIComponent(organization)}/workspaces/${encodeURIComponent(name)}`;
    return (
      await this.http.getJson<Document<TfeResource<{ name: string }>>>({
        path,
        headers: { accept: JSON_API },
        what: `read workspace '${name}' of organization '${organization}'`,
        target: `workspace '${name}' in organization '${organization}' (or the token may not see it)`,
        signal,
      })
    ).data;
  }

  /**
   * POST workspaces/:id/configuration-versions with auto-queue-runs off, so that the only run is
   * the one O3 creates. Repeating it after a lost answer is harmless (an unused configuration
   * version), so it is retried like a read.
   */
  async createConfigVersion(workspaceId: string): Promise<TfeConfigVersion> {
    const answer = await this.http.call({
      method: 'POST',
      path: `api/v2/workspaces/${encodeURIComponent(workspaceId)}/configuration-versions`,
      headers: { accept: JSON_API, 'content-type': JSON_API },
      json: { data: { type: 'configuration-versions', attributes: { 'auto-queue-runs': false } } },
      idempotent: true,
      what: `create a configuration version in workspace ${workspaceId}`,
      target: `workspace ${workspaceId}`,
    });
    return answer.json<Document<TfeConfigVersion>>().data;
  }

  /** GET configuration-versions/:id. */
  async configVersion(id: string, signal?: AbortSignal): Promise<TfeConfigVersion> {
    return (
      await this.http.getJson<Document<TfeConfigVersion>>({
        path: `api/v2/configuration-versions/${encodeURIComponent(id)}`,
        headers: { accept: JSON_API },
        what: `read configuration version ${id}`,
        target: `configuration version ${id}`,
        signal,
      })
    ).data;
  }

  /** PUT the tarball to a configuration version's pre-signed upload URL (no token: it may be another host). */
  async upload(uploadUrl: string, tarball: Buffer, signal?: AbortSignal): Promise<void> {
    await this.http.call({
      method: 'PUT',
      path: uploadUrl,
      body: tarball,
      headers: { 'content-type': 'application/octet-stream' },
      auth: false,
      what: 'upload the configuration files',
      target: 'upload URL (it may have expired)',
      signal,
    });
  }

  /** POST runs — not idempotent: a lost answer is an unknown outcome. */
  async createRun(workspaceId: string, configVersionId: string, message: string): Promise<TfeRun> {
    const answer = await this.http.call({
      method: 'POST',
      path: 'api/v2/runs',
      headers: { accept: JSON_API, 'content-type': JSON_API },
      json: {
        data: {
          type: 'runs',
          // The apply is a task of its own (tfe.workspace_run_apply), whatever the workspace's auto-apply says.
          attributes: { message, 'auto-apply': false },
          relationships: {
            workspace: { data: { type: 'workspaces', id: workspaceId } },
            'configuration-version': { data: { type: 'configuration-versions', id: configVersionId } },
          },
        },
      },
      what: `start a run in workspace ${workspaceId}`,
      target: `workspace ${workspaceId} or configuration version ${configVersionId}`,
    });
    return answer.json<Document<TfeRun>>().data;
  }

  /** GET runs/:id. */
  async run(id: string, signal?: AbortSignal): Promise<TfeRun> {
    return (
      await this.http.getJson<Document<TfeRun>>({
        path: `api/v2/runs/${encodeURIComponent(id)}`,
        headers: { accept: JSON_API },
        what: `read run ${id}`,
        target: `run ${id}`,
        signal,
      })
    ).data;
  }

  /** GET workspaces/:id/runs, newest first, every page; `search[basic]` narrows it where TFE supports it. */
  async *listRuns(workspaceId: string, search: string, signal?: AbortSignal): AsyncGenerator<TfeRun> {
    for (let page: number | null | undefined = 1; page;) {
      const document: Document<TfeRun[]> = await this.http.getJson<Document<TfeRun[]>>({
        path: `api/v2/workspaces/${encodeURIComponent(workspaceId)}/runs`,
        query: { 'page[size]': 100, 'page[number]': page, 'search[basic]': search },
        headers: { accept: JSON_API },
        what: `list the runs of workspace ${workspaceId}`,
        target: `workspace ${workspaceId}`,
        signal,
      });
      yield* document.data;
      page = document.meta?.pagination?.['next-page'];
    }
  }

  /** POST runs/:id/actions/apply|cancel|discard; a 409 means the run is not in a state for it. */
  async action(
    id: string,
    action: 'apply' | 'cancel' | 'discard',
    comment: string,
  ): Promise<TfeActionAnswer> {
    const answer = await this.http.call({
      method: 'POST',
      path: `api/v2/runs/${encodeURIComponent(id)}/actions/${action}`,
      headers: { accept: JSON_API, 'content-type': JSON_API },
      json: { comment },
      // TFE refuses a second apply/cancel/discard with a 409, so a lost answer may be repeated.
      idempotent: true,
      accept: [409],
      what: `${action} run ${id}`,
      target: `run ${id}`,
    });
    if (answer.status !== 409) return { accepted: true };
    return { accepted: false, reason: answerDetail(answer.body, 'application/json') ?? '409 Conflict' };
  }
}
