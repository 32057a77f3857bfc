// Bundles the web UI (ui/src/main.tsx and the CSS it imports) into ui/dist with content-hashed names,
// so the server can let browsers cache assets for good. Every file is written to a temporary name
// and renamed, and index.html last: a server reading ui/dist meanwhile (or a second build running at
// the same time, as parallel test workers may) never sees a half-written file or a page pointing at
// assets not yet there. Run by `npm start` (prestart) and, when ui/dist is missing or older than
// its sources, by the server itself on the first page asked for.
import * as esbuild from 'esbuild';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));

/** Builds the UI into `<uiDir>/dist`; resolves with the asset names index.html links and the time taken. */
export async function buildUi({ uiDir = UI_DIR } = {}) {
  const started = performance.now();
  const distDir = path.join(uiDir, 'dist');
  const result = await esbuild.build({
    entryPoints: [path.join(uiDir, 'src/main.tsx')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: distDir,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  await mkdir(distDir, { recursive: true });
  const keep = new Set(['index.html']);
  for (const file of result.outputFiles) {
    keep.add(path.basename(file.path));
    await writeAtomically(file.path, file.contents);
  }
  const entry = entryOutputs(result.metafile, distDir);
  for (const name of await publicFiles(uiDir)) {
    keep.add(name);
    await copyAtomically(path.join(uiDir, 'public', name), path.join(distDir, name));
  }
  const html = (await readFile(path.join(uiDir, 'index.html'), 'utf8'))
    .replace('/ui/main.js', `/ui/${entry.js}`)
    .replace('/ui/main.css', `/ui/${entry.css}`);
  await writeAtomically(path.join(distDir, 'index.html'), html);
  await removeStale(distDir, keep);
  return { js: entry.js, css: entry.css, ms: Math.round(performance.now() - started) };
}

/** The hashed names of the entry's script and stylesheet, from esbuild's metafile. */
function entryOutputs(metafile, distDir) {
  for (const [outPath, output] of Object.entries(metafile.outputs)) {
    if (output.entryPoint !== undefined && outPath.endsWith('.js')) {
      const js = path.basename(outPath);
      const css = output.cssBundle === undefined ? undefined : path.basename(output.cssBundle);
      if (css === undefined) throw new Error('ui/src/main.tsx imports no stylesheet');
      return { js, css };
    }
  }
  throw new Error(`esbuild wrote no entry script into ${distDir}`);
}

async function publicFiles(uiDir) {
  try {
    return (await readdir(path.join(uiDir, 'public'), { withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

function temporaryName(file) {
  return `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

async function writeAtomically(file, contents) {
  const temporary = temporaryName(file);
  await writeFile(temporary, contents);
  await rename(temporary, file);
}

async function copyAtomically(from, to) {
  const temporary = temporaryName(to);
  await copyFile(from, temporary);
  await rename(temporary, to);
}

// Assets of earlier builds go, but another build's temporary files are left to it.
async function removeStale(distDir, keep) {
  for (const name of await readdir(distDir)) {
    if (!keep.has(name) && !name.includes('.tmp-')) await rm(path.join(distDir, name), { force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const built = await buildUi();
    console.error(`o3: web UI built into ui/dist in ${built.ms} ms (${built.js}, ${built.css})`);
  } catch (error) {
    const messages = error?.errors?.map(
      (e) => `${e.location?.file ?? ''}:${e.location?.line ?? ''} ${e.text}`,
    );
    console.error(`o3: the web UI could not be built: ${messages?.join('\n') ?? String(error)}`);
    process.exitCode = 1;
  }
}
