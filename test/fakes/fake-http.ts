/**
 * The HTTP plumbing of the AWX and TFE fakes: a real node:http(s) server on 127.0.0.1 with a tiny
 * router, a log of every request, and fault injection per route — 5xx or 429 (with Retry-After)
 * for the next N calls, delays, dropped connections, and answers lost (or held back) after the
 * work was done.
 */
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A request as the fake saw it. */
export interface SeenRequest {
  route: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** When it arrived (epoch ms). */
  at: number;
}

/** What a handler answers. */
export interface Reply {
  status: number;
  json?: unknown;
  text?: string;
  body?: Buffer;
  headers?: Record<string, string>;
}

/** What a handler gets. */
export interface Context {
  params: Record<string, string>;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json(): any;
}

/** A fault for the next `times` calls of a route (default 1). */
export type Fault = { times?: number } & (
  | { kind: 'status'; status: number; retryAfter?: string; headers?: Record<string, string> }
  /** Destroys the connection before doing anything. */
  | { kind: 'drop' }
  /** Waits before handling. */
  | { kind: 'delay'; ms: number }
  /** Does the work, then destroys the connection: the answer is lost. */
  | { kind: 'lose_answer' }
  /** Does the work, then waits before answering (a crash can happen meanwhile). */
  | { kind: 'hold_answer'; ms: number }
);

type Handler = (ctx: Context) => Reply | Promise<Reply>;

interface Route {
  name: string;
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
  auth: boolean;
}

/** TLS material for an https fake. */
export interface FakeTls {
  key: string;
  cert: string;
}

/** A fake HTTP server: routes, faults, and the requests it saw. */
export class FakeHttp extends EventEmitter {
  readonly requests: SeenRequest[] = [];
  private readonly routes: Route[] = [];
  private readonly faults = new Map<string, Required<Fault>[]>();
  private readonly sockets = new Set<Socket>();
  private server: http.Server | https.Server | undefined;
  url = '';

  constructor(private readonly authorize: (headers: http.IncomingHttpHeaders, route: Route) => Reply | null) {
    super();
  }

  /** Adds a route; `:name` segments become params. */
  route(
    name: string,
    method: string,
    path: string,
    handler: Handler,
    options: { auth?: boolean } = {},
  ): void {
    const keys: string[] = [];
    const source = path.replace(/:([a-z_]+)/g, (_, key: string) => {
      keys.push(key);
      return '([^/]+)';
    });
    this.routes.push({
      name,
      method,
      pattern: new RegExp(`^${source}$`),
      keys,
      handler,
      auth: options.auth ?? true,
    });
  }

  /** Injects a fault into the next calls of a route. */
  inject(route: string, fault: Fault): void {
    const list = this.faults.get(route) ?? [];
    list.push({ times: 1, ...fault } as Required<Fault>);
    this.faults.set(route, list);
  }

  /** Forgets pending faults and the requests seen so far. */
  reset(): void {
    this.faults.clear();
    this.requests.length = 0;
  }

  /** The requests seen on a route. */
  seen(route: string): SeenRequest[] {
    return this.requests.filter((request) => request.route === route);
  }

  /** Starts listening on 127.0.0.1 on a free port. */
  async listen(tls?: FakeTls): Promise<string> {
    const handle = (req: IncomingMessage, res: ServerResponse): void => void this.handle(req, res);
    this.server = tls
      ? https.createServer({ key: tls.key, cert: tls.cert }, handle)
      : http.createServer(handle);
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return this.url;
  }

  /** Stops the server and drops every open connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const match = this.match(req.method ?? 'GET', url.pathname);
    const seen: SeenRequest = {
      route: match?.route.name ?? 'unknown',
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      at: Date.now(),
    };
    this.requests.push(seen);
    this.emit('request', seen);
    if (!match) return send(res, { status: 404, json: { detail: 'Not found.' } });
    const fault = this.takeFault(match.route.name);
    if (fault?.kind === 'drop') return void req.socket.destroy();
    if (fault?.kind === 'delay') await sleep(fault.ms);
    if (fault?.kind === 'status') {
      const headers = { ...fault.headers, ...(fault.retryAfter ? { 'retry-after': fault.retryAfter } : {}) };
      return send(res, { status: fault.status, json: { detail: 'injected fault' }, headers });
    }
    const refused = match.route.auth ? this.authorize(req.headers, match.route) : null;
    if (refused) return send(res, refused);
    const reply = await match.route.handler({
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      body,
      json: () => (body.length ? JSON.parse(body.toString('utf8')) : {}),
    });
    this.emit('handled', seen, reply);
    if (fault?.kind === 'lose_answer') return void req.socket.destroy();
    if (fault?.kind === 'hold_answer') {
      this.emit('holding', seen, reply);
      await sleep(fault.ms);
      if (req.socket.destroyed) return;
    }
    send(res, reply);
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => (params[key] = decodeURIComponent(found[i + 1] ?? '')));
      return { route, params };
    }
    return undefined;
  }

  private takeFault(route: string): Required<Fault> | undefined {
    const list = this.faults.get(route);
    const fault = list?.[0];
    if (!list || !fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) list.shift();
    return fault;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  let body: Buffer;
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body) {
    body = reply.body;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (reply.text !== undefined) {
    body = Buffer.from(reply.text);
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (reply.json !== undefined) {
    body = Buffer.from(JSON.stringify(reply.json));
    headers['content-type'] ??= 'application/json';
  } else {
    body = Buffer.alloc(0);
  }
  res.writeHead(reply.status, { ...headers, 'content-length': String(body.length) });
  res.end(body);
}
