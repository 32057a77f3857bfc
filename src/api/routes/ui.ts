/**
 * The web UI: `/ui/*` serves the built assets (content-hashed names are cached for good), and any
 * other GET path outside the API answers index.html, so the UI's own router picks the page
 * (`/requests/{uuid}` can be bookmarked and reloaded). API, health, OpenAPI and docs paths are never
 * shadowed: their routes win anyway, and an unknown one still gets the JSON 404.
 *
 * When ui/dist is missing or older than its sources (a fresh clone started with `o3 serve` rather than
 * `npm start`, or sources edited since), the first page asked for builds it (esbuild, well under a
 * second); a build that fails is logged and answered with a 503 page that says what to run.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RESERVED = [/^\/api(\/|$)/, /^\/healthz$/, /^\/readyz$/, /^\/openapi\.json$/, /^\/docs(\/|$)/];
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9.]+$/;
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
};
// Everything the page loads comes from this server; nothing inline, nothing from elsewhere.
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-cache',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

// Pages and assets, not API operations: kept out of the OpenAPI document.
const HIDDEN = { schema: { hide: true } };

/**
 * The files outside ui/ that the UI bundles, by their path from the folder holding ui/ (the UI
 * imports them relatively). Type-only imports such as src/api/answers.ts never reach the bundle.
 */
export const UI_SHARED_SOURCES = ['src/store/records.ts', 'src/task/secret-inputs.ts'];

/** Where the UI lives: its sources (`src/`, `index.html`, `public/`) and the built `dist/`. */
export interface UiOptions {
  uiDir?: string;
  /** The build script exporting `buildUi({uiDir})`. */
  buildScript?: string;
}

/** The UI routes (register without a prefix). */
export function uiRoutes(options: UiOptions = {}): FastifyPluginAsync {
  const uiDir = options.uiDir ?? path.join(ROOT, 'ui');
  const distDir = path.join(uiDir, 'dist');
  const buildScript = options.buildScript ?? path.join(ROOT, 'scripts', 'build-ui.mjs');
  let ready: Promise<boolean> | undefined;
  // One check per process; a failed build is tried again on the next page asked for.
  const ensureBuilt = (log: FastifyBaseLogger): Promise<boolean> =>
    (ready ??= buildIfStale(uiDir, buildScript, log).then((ok) => {
      if (!ok) ready = undefined;
      return ok;
    }));

  return async (app) => {
    app.get<{ Params: { '*': string } }>('/ui/*', HIDDEN, async (request, reply) => {
      await ensureBuilt(request.log);
      const name = request.params['*'];
      if (!ASSET_NAME.test(name) || name === 'index.html' || name.includes('.tmp-'))
        return reply.callNotFound();
      const body = await readFile(path.join(distDir, name)).catch(() => null);
      if (body === null) return reply.callNotFound();
      return reply
        .header('content-type', TYPES[path.extname(name)] ?? 'application/octet-stream')
        .header(
          'cache-control',
          HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
        )
        .header('x-content-type-options', 'nosniff')
        .send(body);
    });

    const page = async (request: FastifyRequest, reply: FastifyReply) => {
      const pathname = request.url.split('?')[0] ?? '/';
      if (RESERVED.some((pattern) => pattern.test(pathname))) return reply.callNotFound();
      const built = await ensureBuilt(request.log);
      const html = await readFile(path.join(distDir, 'index.html'), 'utf8').catch(() => null);
      if (html === null) {
        return reply
          .status(503)
          .headers({ ...PAGE_HEADERS, 'cache-control': 'no-store' })
          .send(notBuiltPage(built));
      }
      return reply.headers(PAGE_HEADERS).send(html);
    };
    app.get('/', HIDDEN, page);
    app.get('/*', HIDDEN, page);
  };
}

/** Builds the UI when dist is missing or older than its sources; false when a needed build failed. */
async function buildIfStale(uiDir: string, buildScript: string, log: FastifyBaseLogger): Promise<boolean> {
  const built = await stat(path.join(uiDir, 'dist', 'index.html')).catch(() => null);
  const newestSource = await newestMtime([
    path.join(uiDir, 'src'),
    path.join(uiDir, 'index.html'),
    path.join(uiDir, 'public'),
    ...UI_SHARED_SOURCES.map((file) => path.join(uiDir, '..', file)),
  ]);
  if (built && (newestSource === null || newestSource <= built.mtimeMs)) return true;
  if (newestSource === null) return false;
  try {
    // The script is plain JavaScript run by `npm start` too; imported here by URL so tsc leaves it be.
    const module = (await import(pathToFileURL(buildScript).href)) as {
      buildUi: (options: { uiDir: string }) => Promise<{ ms: number }>;
    };
    const result = await module.buildUi({ uiDir });
    log.info({ ms: result.ms }, 'web UI built');
    return true;
  } catch (error) {
    log.error({ err: error }, 'the web UI could not be built');
    return false;
  }
}

/** The newest modification time of the files under these paths (null when none exists). */
async function newestMtime(paths: string[]): Promise<number | null> {
  let newest: number | null = null;
  for (const entry of paths) {
    const info = await stat(entry).catch(() => null);
    if (!info) continue;
    const time = info.isDirectory()
      ? await newestMtime((await readdir(entry)).map((name) => path.join(entry, name)))
      : info.mtimeMs;
    if (time !== null && (newest === null || time > newest)) newest = time;
  }
  return newest;
}

function notBuiltPage(buildSucceeded: boolean): string {
  const reason = buildSucceeded
    ? 'its built files are missing'
    : 'it is not built and could not be built (the server log says why)';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>O3</title></head><body><h1>The O3 web UI is not available</h1><p>The API runs, but ${reason}. Run <code>node scripts/build-ui.mjs</code> (or start O3 with <code>npm start</code>) and reload.</p><p>The REST API is at <a href="/api/v1/workflow">/api/v1</a>.</p></body></html>`;
}
