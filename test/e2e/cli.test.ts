/**
 * The `o3` client commands, run as real processes (`node bin/o3.mjs …`) against a real `o3 serve`,
 * and — for the event stream, whose server side may lag behind — against a fake server on loopback.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { SseParser } from '../../src/cli/sse-parser.js';
import { ROOT, example } from '../helpers/examples.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';
import { waitFor } from '../helpers/test-server.js';

const BIN = path.join(ROOT, 'bin/o3.mjs');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const dir = mkdtempSync(path.join(tmpdir(), 'o3-cli-'));
let o3: O3Process;
let refCounter = 0;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `o3 ARGS` and resolves with its exit code and output (never rejects on a non-zero exit). */
function runCli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (!options.env?.O3_SERVER) delete env.O3_SERVER;
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`o3 ${args.join(' ')} did not exit (${error.message}):\n${stdout}\n${stderr}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** Runs a client command against the real server. */
function o3cli(...args: string[]): Promise<CliResult> {
  return runCli([...args, '--server', o3.url]);
}

/** The article's noop request with a fresh ref and the given delays (seconds) for noop_01..03. */
function noopRequest(delays: [number, number, number] = [0, 0, 0]): any {
  const payload = example('noop_request.json');
  payload.workflow.meta.ref = `cli-${process.pid}-${++refCounter}`;
  delays.forEach((delay, index) => (payload.tasks[`noop_0${index + 1}`].vars.input.delay = delay));
  return payload;
}

/** Writes a document to a file of the temp folder and returns its path. */
function writeFile(name: string, document: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, typeof document === 'string' ? document : JSON.stringify(document, null, 2));
  return file;
}

async function detail(uuid: string) {
  return (await call(o3, 'GET', `/api/v1/workflow/${uuid}`)).body;
}

function uuidOf(output: string): string {
  const match = UUID.exec(output);
  if (!match) throw new Error(`no uuid in:\n${output}`);
  return match[0];
}

/** A template whose one task fails while a flag file exists (so a retry can succeed) and takes a secret. */
const FLAKY_TEMPLATE = {
  name: 'CLI flaky',
  ref_name: 'cli_flaky',
  description: 'fails while its flag file exists',
  schema_version: 1,
  tasks: [
    {
      name: 'flaky',
      ref_name: 'flaky',
      description: 'the flaky task',
      class: 'scripted',
      input: { fail_while_file_exists: '${workflow.input.flag}', secret_token: '${workflow.input.token}' },
      always_run: false,
      depends_on: [],
      optional: false,
    },
  ],
};

beforeAll(async () => {
  const templates = mkdtempSync(path.join(dir, 'templates-'));
  writeFileSync(path.join(templates, 'cli_flaky.json'), JSON.stringify(FLAKY_TEMPLATE));
  o3 = await startO3([
    '--store',
    `sqlite:${path.join(dir, 'o3.db')}`,
    '--tasks',
    'test/fixtures/tasks',
    '--templates',
    'test/fixtures/templates',
    '--templates',
    templates,
  ]);
});

afterAll(async () => {
  if (o3) {
    o3.child.kill('SIGTERM');
    await o3.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('o3 submit', () => {
  it('submit --wait of the noop example prints uuid, ref and warnings, then a summary of 3 successful tasks, and exits 0', async () => {
    const payload = noopRequest();
    const result = await o3cli('submit', writeFile('noop.json', payload), '--wait');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(UUID);
    expect(result.stdout).toContain(payload.workflow.meta.ref);
    expect(result.stdout).toContain('/workflow/vars/global/input/not_mapped');
    expect(result.stdout).toMatch(/3\/3 tasks done/);
    const rows = result.stdout.split('\n').filter((line) => /^noop_0[123]\s+successful\s+\d/.test(line));
    expect(rows).toHaveLength(3);
    expect(result.stdout).toContain(`request ${uuidOf(result.stdout)} ended successful`);
  });

  it('submit - reads a YAML request from stdin, and --json prints the submit answer', async () => {
    const payload = noopRequest();
    const result = await runCli(['submit', '-', '--json', '--server', o3.url], { input: toYaml(payload) });
    expect(result.code, result.stderr).toBe(0);
    const answer = JSON.parse(result.stdout);
    expect(answer).toMatchObject({ ref: payload.workflow.meta.ref, revision: 1 });
    expect((await detail(answer.uuid)).ref).toBe(payload.workflow.meta.ref);
  });

  it('submit --wait exits 1 and shows the error when a task fails', async () => {
    const flag = writeFile('flag-fail', 'fail');
    const payload = flakyRequest(flag);
    const result = await o3cli('submit', writeFile('flaky-fail.json', payload), '--wait');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^flaky\s+failed\s+/m);
    expect(result.stdout).toMatch(/ended failed/);
  });

  it('submit of an invalid request exits 2 and prints each problem with its JSON pointer', async () => {
    const payload = noopRequest();
    delete payload.workflow.meta.ref;
    payload.tasks.nope = { vars: { input: {} } };
    const result = await o3cli('submit', writeFile('bad-submit.json', payload));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^o3: the workflow request is invalid/);
    expect(result.stderr).toMatch(/^ {2}\/workflow\/meta\/ref: /m);
    expect(result.stderr).toMatch(/^ {2}\/tasks\/nope: /m);
  });

  it('submit of a file that is not JSON or YAML exits 2 naming the file', async () => {
    const file = writeFile('broken.json', '{"workflow": ');
    const result = await o3cli('submit', file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`o3: ${file} is not valid JSON`);
  });
});

describe('o3 validate', () => {
  it('validate of a good file exits 0 and prints the warnings and the plan: levels, then resolved inputs', async () => {
    const result = await o3cli('validate', writeFile('good.json', noopRequest([5, 0, 0])));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^valid: /);
    expect(result.stdout).toContain('/tasks/noop_01/vars/input/ignored: ');
    expect(result.stdout).toMatch(/1: noop_01, noop_02\n\s+2: noop_03/);
    expect(result.stdout).toMatch(/noop_01 \(noop\)\n\s+runtime_delay = 5\n\s+expires = 89009/);
    expect(result.stdout).toContain('noop_03 (noop, after noop_01, noop_02)');
  });

  it('validate of a bad file exits 1 and prints every error with its JSON pointer', async () => {
    const payload = noopRequest();
    delete payload.workflow.meta.ref;
    payload.tasks.nope = { vars: { input: {} } };
    const result = await o3cli('validate', writeFile('bad.json', payload));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^invalid: /);
    expect(result.stdout).toMatch(/^ {2}\/workflow\/meta\/ref: /m);
    expect(result.stdout).toMatch(/^ {2}\/tasks\/nope: /m);
  });
});

describe('o3 status, list and logs', () => {
  let uuid: string;
  let ref: string;

  beforeAll(async () => {
    const payload = noopRequest();
    ref = payload.workflow.meta.ref;
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', payload);
    uuid = submitted.body.uuid;
    await waitFor(async () => ((await detail(uuid)).status === 'successful' ? true : undefined));
  });

  it('status prints the request header and a task table with states and outputs', async () => {
    const result = await o3cli('status', uuid);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^request\\s+${uuid}$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^ref\\s+${ref}$`, 'm'));
    expect(result.stdout).toMatch(/^template\s+noop_template_run v1$/m);
    expect(result.stdout).toMatch(/^status\s+successful$/m);
    for (const task of ['noop_01', 'noop_02', 'noop_03'])
      expect(result.stdout).toMatch(new RegExp(`^${task}\\s+noop\\s+successful\\s+1\\s.*rand_no=\\d+`, 'm'));
  });

  it('list filters by ref and status and shows the request in a table', async () => {
    const result = await o3cli('list', '--ref', ref, '--status', 'successful');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^UUID\s+REF\s+TEMPLATE\s+STATUS/);
    expect(result.stdout).toMatch(
      new RegExp(`^${uuid}\\s+${ref}\\s+noop_template_run v1\\s+successful`, 'm'),
    );
    const none = await o3cli('list', '--ref', ref, '--status', 'failed', '--json');
    expect(JSON.parse(none.stdout).items).toEqual([]);
  });

  it('list --limit 1 prints one request and the cursor of the next page', async () => {
    const result = await o3cli('list', '--limit', '1');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(new RegExp(UUID, 'g'))).toHaveLength(1);
    const cursor = /--cursor (\S+)/.exec(result.stdout)?.[1];
    expect(cursor).toBeDefined();
    const next = await o3cli('list', '--limit', '1', '--cursor', cursor!, '--json');
    expect(JSON.parse(next.stdout).items).toHaveLength(1);
  });

  it('list rejects an unknown status as a usage error (exit 2)', async () => {
    const result = await o3cli('list', '--status', 'bogus');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("argument 'bogus' is invalid");
  });

  it('logs prints `ts level [task] message` lines, and --task keeps one task', async () => {
    const all = await o3cli('logs', uuid);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^\S+Z info\s+\[noop_01\] runtime_delay is 0 s$/m);
    expect(all.stdout).toMatch(/^\S+Z info\s+request ended successful$/m);
    const one = await o3cli('logs', uuid, '--task', 'noop_03');
    const tags = new Set(
      one.stdout
        .trim()
        .split('\n')
        .map((line) => /\[(\w+)\]/.exec(line)?.[1]),
    );
    expect([...tags]).toEqual(['noop_03']);
  });

  it('logs --follow of a running request prints lines as they come and returns when it ends', async () => {
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', noopRequest([1, 0, 0]));
    const result = await o3cli('logs', submitted.body.uuid, '--follow');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\[noop_01\] runtime_delay is 1 s/);
    expect(result.stdout.trim().split('\n').at(-1)).toMatch(/request ended successful$/);
    expect((await detail(submitted.body.uuid)).status).toBe('successful');
  });

  it('logs masks secret inputs as the server does', async () => {
    const flag = path.join(dir, 'no-such-flag');
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', flakyRequest(flag));
    await waitFor(async () =>
      (await detail(submitted.body.uuid)).status === 'successful' ? true : undefined,
    );
    const result = await o3cli('logs', submitted.body.uuid, '--task', 'flaky');
    expect(result.stdout).toContain('using token ***');
    expect(result.stdout).not.toContain('hunter2');
  });
});

describe('o3 templates, tasks and dag', () => {
  it('templates lists the registered templates with their versions and task counts', async () => {
    const result = await o3cli('templates');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^noop_template_run\s+1\s+3\s+NOOP Template Run/m);
    expect(result.stdout).toMatch(/^cli_flaky\s+1\s+1\s/m);
  });

  it('tasks lists the task classes with their inputs, secret ones marked', async () => {
    const result = await o3cli('tasks');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^noop\s+runtime_delay:number\s+rand_no\s+/m);
    expect(result.stdout).toMatch(/^scripted\s+.*secret_token:string \(secret\)/m);
    expect(result.stdout).not.toMatch(/delay_ms:number \(secret\)/);
  });

  it('dag draws the levels as text, a Mermaid flowchart and a Graphviz digraph', async () => {
    const text = await o3cli('dag', 'noop_template_run');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /level 1\n\s+noop_01\s+noop\n\s+noop_02\s+noop\nlevel 2\n\s+noop_03\s+noop\s+<- noop_01, noop_02/,
    );
    const mermaid = await o3cli('dag', 'noop_template_run', '--format', 'mermaid');
    expect(mermaid.stdout).toMatch(/^flowchart TD$/m);
    expect(mermaid.stdout).toContain('noop_01 --> noop_03');
    expect(mermaid.stdout).toContain('noop_02 --> noop_03');
    const dot = await o3cli('dag', 'noop_template_run', '--format', 'dot');
    expect(dot.stdout).toMatch(/^digraph "noop_template_run" \{/);
    expect(dot.stdout).toContain('"noop_01" -> "noop_03";');
    expect(dot.stdout.trim().endsWith('}')).toBe(true);
  });

  it('dag marks optional tasks, and names an unknown template in a readable error', async () => {
    const diamond = await o3cli('dag', 'scripted_diamond', '--version', '1');
    expect(diamond.stdout).toMatch(/^\s+c\s+scripted \(optional\)\s+<- a$/m);
    const unknown = await o3cli('dag', 'no_such_template');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("o3: no template 'no_such_template'\n");
  });
});

describe('o3 cancel, retry and revise', () => {
  it('cancel of a long request ends it canceled, and submit --wait on it exits 1', async () => {
    const payload = noopRequest([30, 30, 0]);
    const waiting = o3cli('submit', writeFile('long.json', payload), '--wait');
    const uuid = await waitFor(async () => {
      const list = await call(o3, 'GET', `/api/v1/workflow?ref=${payload.workflow.meta.ref}`);
      const item = list.body.items[0];
      return item?.status === 'running' ? (item.uuid as string) : undefined;
    });
    const canceled = await o3cli('cancel', uuid);
    expect(canceled.code, canceled.stderr).toBe(0);
    expect(canceled.stdout).toMatch(new RegExp(`^request ${uuid} is (canceling|canceled)$`, 'm'));
    const waited = await waiting;
    expect(waited.code).toBe(1);
    expect(waited.stdout).toMatch(/running: noop_01, noop_02/);
    expect(waited.stdout).toMatch(/ended canceled/);
    const again = await o3cli('cancel', uuid);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^o3: .*already ended/);
  });

  // Waits on the lead's POST /workflow/{uuid}/retry.
  it('retry --wait reruns a failed request as revision 2 and exits 0 once it succeeds', async () => {
    const flag = writeFile('flag-retry', 'fail');
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', flakyRequest(flag));
    const uuid: string = submitted.body.uuid;
    await waitFor(async () => ((await detail(uuid)).status === 'failed' ? true : undefined));
    rmSync(flag);
    const result = await o3cli('retry', uuid, '--wait');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`request ${uuid}: revision 2 started`);
    expect(result.stdout).toMatch(/^flaky\s+successful\s/m);
    expect((await detail(uuid)).revision).toBe(2);
  });

  // Waits on the lead's POST /workflow/{uuid}/retry (409 while running).
  it('retry of a running request is refused with a readable message and exit 1', async () => {
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', noopRequest([30, 0, 0]));
    const uuid: string = submitted.body.uuid;
    try {
      const result = await o3cli('retry', uuid);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^o3: \S/);
      expect(result.stderr).not.toMatch(/no route/);
    } finally {
      await call(o3, 'POST', `/api/v1/workflow/${uuid}/cancel`);
    }
  });

  // Waits on the lead's POST /workflow/{uuid}/revise.
  it('revise --wait with an edited request file reruns only the changed task as revision 2', async () => {
    const payload = noopRequest();
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', payload);
    const uuid: string = submitted.body.uuid;
    await waitFor(async () => ((await detail(uuid)).status === 'successful' ? true : undefined));
    payload.tasks.noop_01.vars.input.delay = 0.1;
    const result = await o3cli('revise', uuid, writeFile('revised.json', payload), '--wait');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`request ${uuid}: revision 2 started`);
    expect(result.stdout).toMatch(/^noop_01\s+successful\s/m);
    expect(result.stdout).toMatch(/^noop_02\s+skipped\s/m);
  });

  // Waits on the lead's POST /workflow/{uuid}/revise (422 with errors).
  it('revise with variables that do not fit the template exits 2 and prints the pointers', async () => {
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', noopRequest());
    await waitFor(async () =>
      (await detail(submitted.body.uuid)).status === 'successful' ? true : undefined,
    );
    const body = { tasks: { nope: { vars: { input: {} } } } };
    const result = await o3cli('revise', submitted.body.uuid, writeFile('bad-revise.json', body));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^o3: \S/);
    expect(result.stderr).toMatch(/^ {2}\/tasks\/nope: /m);
  });
});

describe('o3 errors', () => {
  it('status of an unknown uuid exits 1 with the server message', async () => {
    const result = await o3cli('status', '00000000-0000-4000-8000-000000000000');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('o3: no request 00000000-0000-4000-8000-000000000000\n');
  });

  it('a server that is not running is named, with how to start one, and exits 2', async () => {
    const url = await closedPortUrl();
    const result = await runCli(['list', '--server', url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `o3: cannot reach the O3 server at ${url} (is it running? start it with 'npm start')\n`,
    );
  });

  it('O3_SERVER picks the server when --server is not given', async () => {
    const result = await runCli(['templates', '--json'], { env: { O3_SERVER: `${o3.url}/` } });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).templates.map((t: any) => t.ref_name)).toContain('noop_template_run');
  });
});

describe('o3 against the event stream', () => {
  it('submit --wait shows one progress line per state event, stops at `end`, and exits 1 for a failed request', async () => {
    const fake = await startFake((request, response) => {
      if (request.method === 'POST')
        return sendJson(response, 201, { uuid: 'u1', ref: 'r1', revision: 1, status: 'running' });
      if (request.url?.startsWith('/api/v1/workflow/u1/logs?follow=1')) {
        return streamEvents(response, [
          ': ping\n\n',
          stateEvent('running', [
            ['a', 'running'],
            ['b', 'pending'],
          ]),
          // A CRLF split across two writes must not cut the event short.
          stateEvent('running', [
            ['a', 'successful'],
            ['b', 'running'],
          ])
            .replaceAll('\n', '\r\n')
            .slice(0, -1),
          '\n',
          'id: 7\nevent: log\ndata: {"seq":7,"ts":"2024-01-01T00:00:00.000Z","level":"info","task":"b","message":"hi"}\n\n',
          stateEvent('failed', [
            ['a', 'successful'],
            ['b', 'failed'],
          ]),
          'event: end\ndata: {"status":"failed"}\n\n',
        ]);
      }
      if (request.url === '/api/v1/workflow/u1') return sendJson(response, 200, fakeDetail('failed'));
      return sendJson(response, 404, { error: { code: 'not_found', message: 'no route', details: [] } });
    });
    try {
      const result = await runCli([
        'submit',
        writeFile('fake.json', { any: 1 }),
        '--wait',
        '--server',
        fake.url,
      ]);
      expect(result.code).toBe(1);
      const progress = result.stdout.split('\n').filter((line) => line.includes('tasks done'));
      expect(progress).toEqual([
        '0/2 tasks done, running: a',
        '1/2 tasks done, running: b',
        '2/2 tasks done, failed: b (request failed)',
      ]);
      expect(result.stdout).toMatch(/^b\s+failed\s+2\.0 s\s+boom$/m);
      // Progress came from the stream: the detail was read once, for the summary, never polled.
      expect(fake.requests.filter((url) => url === '/api/v1/workflow/u1')).toHaveLength(1);
    } finally {
      await fake.close();
    }
  });

  it('logs --follow prints the log events of one task and returns at `end`', async () => {
    const fake = await startFake((request, response) => {
      streamEvents(response, [
        stateEvent('running', [['b', 'running']]),
        'id: 3\nevent: log\ndata: {"seq":3,"ts":"2024-01-01T00:00:00.000Z","level":"info","task":"b","message":"line one"}\n\n',
        'event: log\ndata: {"seq":4,"ts":"2024-01-01T00:00:01.000Z","level":"error","task":"b",\ndata: "message":"line two"}\n\n',
        'event: end\ndata: {"status":"successful"}\n\n',
      ]);
    });
    try {
      const result = await runCli(['logs', 'u1', '--task', 'b', '--follow', '--server', fake.url]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(
        '2024-01-01T00:00:00.000Z info  [b] line one\n2024-01-01T00:00:01.000Z error [b] line two\n',
      );
      expect(fake.requests).toEqual(['/api/v1/workflow/u1/logs?follow=1&task=b']);
    } finally {
      await fake.close();
    }
  });

  it('submit --wait polls the request when the stream closes before `end`', async () => {
    const fake = await startFake((request, response) => {
      if (request.method === 'POST')
        return sendJson(response, 201, { uuid: 'u1', ref: 'r1', revision: 1, status: 'running' });
      if (request.url?.includes('/logs')) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(
          stateEvent('running', [
            ['a', 'running'],
            ['b', 'pending'],
          ]),
        );
        return;
      }
      sendJson(response, 200, fakeDetail('successful'));
    });
    try {
      const result = await runCli([
        'submit',
        writeFile('fake.json', { any: 1 }),
        '--wait',
        '--server',
        fake.url,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain('polling instead');
      expect(result.stdout).toContain('ended successful');
    } finally {
      await fake.close();
    }
  });
});

describe('SseParser', () => {
  it('SseParser joins data lines, keeps the last id, skips comments, and waits for the blank line', () => {
    const parser = new SseParser();
    expect(parser.push('\uFEFF: hello\nid: 1\nevent: log\ndata: a\nda')).toEqual([]);
    expect(parser.push('ta:b\n\ndata: c\r')).toEqual([{ event: 'log', data: 'a\nb', id: '1' }]);
    expect(parser.push('\n\r\n')).toEqual([{ event: 'message', data: 'c', id: '1' }]);
    expect(parser.push('event: x\n\n')).toEqual([]);
    expect(parser.push('data: cut off')).toEqual([]);
    expect(parser.end()).toEqual([]);
  });

  it('SseParser dispatches an event ended by CR CR at the end of the stream', () => {
    const parser = new SseParser();
    expect(parser.push('data: x\r\r')).toEqual([]);
    expect(parser.end()).toEqual([{ event: 'message', data: 'x', id: undefined }]);
  });
});

function flakyRequest(flag: string): any {
  return {
    workflow: {
      meta: { ref: `cli-flaky-${process.pid}-${++refCounter}`, template: 'cli_flaky' },
      vars: { workflow: { input: { flag, token: 'hunter2' } } },
    },
    tasks: {},
    schema_version: 2,
  };
}

/** A URL where nothing listens: a port that was free a moment ago. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

interface Fake {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** A stand-in O3 on loopback: answers with `handle`, records every URL asked for. */
async function startFake(
  handle: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<Fake> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(request.url ?? '');
    request.resume();
    request.on('end', () => handle(request, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** Writes the chunks 30 ms apart and leaves the stream open, as a server that has not closed yet. */
function streamEvents(response: ServerResponse, chunks: string[]): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  chunks.forEach((chunk, index) => setTimeout(() => response.write(chunk), 30 * (index + 1)));
}

function stateEvent(status: string, tasks: [string, string][]): string {
  const state = {
    uuid: 'u1',
    status,
    revision: 1,
    tasks: tasks.map(([ref_name, state]) => ({
      ref_name,
      state,
      attempt: 1,
      started_at: null,
      ended_at: null,
      error: null,
    })),
  };
  return `event: state\ndata: ${JSON.stringify(state)}\n\n`;
}

function fakeDetail(status: string) {
  const task = (ref_name: string, state: string, error: string | null) => ({
    ref_name,
    class: 'noop',
    state,
    attempt: 1,
    optional: false,
    started_at: '2024-01-01T00:00:00.000Z',
    ended_at: '2024-01-01T00:00:02.000Z',
    duration_ms: 2000,
    outputs: {},
    error,
  });
  return {
    uuid: 'u1',
    ref: 'r1',
    trace_id: 't1',
    name: null,
    description: null,
    template: { ref_name: 'fake', schema_version: 1 },
    status,
    revision: 1,
    scheduled_at: null,
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: null,
    ended_at: '2024-01-01T00:00:02.000Z',
    error: status === 'failed' ? 'task b failed' : null,
    warnings: [],
    tasks: [
      task('a', 'successful', null),
      task('b', status === 'failed' ? 'failed' : 'successful', status === 'failed' ? 'boom' : null),
    ],
    revisions: [],
  };
}
