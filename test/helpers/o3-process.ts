/** A real `o3 serve` process for end-to-end tests: started, asked over HTTP, killed. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './examples.js';

/** A running o3 process and its base URL. */
export interface O3Process {
  child: ChildProcess;
  url: string;
  /** Every stdout line it printed so far. */
  output: string[];
  /** Resolves with the exit code (or signal) once it exited. */
  exited: Promise<number | string | null>;
}

/** Starts `o3 serve` on a free port with the given store and extra arguments; resolves once it listens. */
export async function startO3(args: string[], env: NodeJS.ProcessEnv = {}): Promise<O3Process> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/o3.mjs'), 'serve', '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, O3_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`o3 did not start:\n${output.join('\n')}`)), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(line);
      const parsed = safeJson(line);
      if (parsed?.msg === 'O3 is listening' && typeof parsed.url === 'string') {
        clearTimeout(timer);
        resolve(parsed.url);
      }
    });
    createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`o3 exited (${String(code)}) before listening:\n${output.join('\n')}`));
    });
  });
  return { child, url, output, exited };
}

/** Sends a JSON request to a running o3 and returns status and parsed body. */
export async function call(o3: O3Process, method: string, urlPath: string, body?: unknown) {
  const response = await fetch(`${o3.url}${urlPath}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function safeJson(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}
