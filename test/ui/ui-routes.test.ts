import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_SHARED_SOURCES, uiRoutes } from '../../src/api/routes/ui.js';
import { ROOT } from '../helpers/examples.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

const get = (url: string) => server.app.inject({ method: 'GET', url });

describe('the UI routes', () => {
  it('answer index.html at / and at every client-side page path, never cached', async () => {
    for (const url of ['/', '/requests/0b1e', '/templates/noop_template_run?version=1', '/submit']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toContain("default-src 'self'");
      expect(response.body).toMatch(/<script type="module" src="\/ui\/main-[A-Z0-9]{8}\.js">/);
    }
  });

  it('serve the hashed assets index.html links, cached for good', async () => {
    const html = (await get('/')).body;
    const script = /src="(\/ui\/main-[A-Z0-9]{8}\.js)"/.exec(html)?.[1];
    const style = /href="(\/ui\/main-[A-Z0-9]{8}\.css)"/.exec(html)?.[1];
    const js = await get(script!);
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.body.length).toBeGreaterThan(1000);
    const css = await get(style!);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toContain('.dag-node');
  });

  it('answer a missing or crafted asset name with a 404, not the page', async () => {
    for (const url of [
      '/ui/nope.js',
      '/ui/..%2fpackage.json',
      '/ui/%2e%2e%2fpackage.json',
      '/ui/index.html',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(404);
      expect(response.body, url).not.toContain('<!doctype html>');
    }
    // Dot segments are resolved before routing (as browsers do): this is the page path /package.json.
    expect((await get('/ui/../package.json')).body).not.toContain('"dependencies"');
  });

  it('leave the API, health, OpenAPI and docs paths to their own routes', async () => {
    const unknownApi = await get('/api/v1/nope');
    expect(unknownApi.statusCode).toBe(404);
    expect(unknownApi.json().error.code).toBe('not_found');
    expect((await get('/api')).headers['content-type']).toContain('application/json');
    expect((await get('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await get('/readyz')).statusCode).toBe(200);
    expect((await get('/openapi.json')).json().openapi).toMatch(/^3\./);
    expect((await get('/api/v1/templates')).json().templates.length).toBeGreaterThan(0);
    const docs = await get('/docs/');
    expect(docs.body).not.toContain('/ui/main-');
  });

  it('stay out of the OpenAPI document', async () => {
    const paths = Object.keys((await get('/openapi.json')).json().paths ?? {});
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => p === '/' || p.startsWith('/ui') || p === '/*')).toEqual([]);
  });
});

describe('uiRoutes', () => {
  it('builds the UI on the first page asked for when ui/dist is missing (a fresh clone run without npm start)', async () => {
    // Inside the repository (under the ignored .tmp/) so the bundler finds node_modules.
    const copy = path.join(ROOT, '.tmp', `ui-build-${process.pid}-${Date.now()}`);
    const uiDir = path.join(copy, 'ui');
    mkdirSync(uiDir, { recursive: true });
    for (const part of ['src', 'public', 'index.html'])
      cpSync(path.join(ROOT, 'ui', part), path.join(uiDir, part), { recursive: true });
    // Beside ui/ as in the repository, where the UI's relative imports find them.
    for (const file of UI_SHARED_SOURCES) {
      mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
      cpSync(path.join(ROOT, file), path.join(copy, file));
    }
    const app = Fastify();
    try {
      await app.register(uiRoutes({ uiDir }));
      expect(existsSync(path.join(uiDir, 'dist'))).toBe(false);
      const page = await app.inject({ method: 'GET', url: '/requests/x' });
      expect(page.statusCode).toBe(200);
      expect(page.body).toMatch(/\/ui\/main-[A-Z0-9]{8}\.js/);
      expect(existsSync(path.join(uiDir, 'dist', 'index.html'))).toBe(true);
    } finally {
      await app.close();
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
