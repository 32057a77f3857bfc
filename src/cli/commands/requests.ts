/** `o3 status`, `list`, `cancel`, `retry` and `revise`: one request, many, and what can be done to one. */
import { Option, type Command } from 'commander';
import type {
  CancelAnswer,
  RequestDetail,
  RequestPage,
  RetryAnswer,
  ReviseAnswer,
} from '../../api/answers.js';
import { REQUEST_STATUSES } from '../../store/records.js';
import { CliError, ExitCode } from '../cli-error.js';
import { clientCommand, clientOf, exitWith, positiveInteger, type ClientOptions } from '../client-options.js';
import { print, printJson } from '../output.js';
import { renderRequestDetail, renderRequestList, renderWarnings } from '../render/request.js';
import { readDocument } from '../read-document.js';
import { waitForEnd } from '../wait-for-end.js';

/** Registers the request commands. */
export function registerRequestCommands(program: Command): void {
  clientCommand(
    program
      .command('status')
      .description('show a request: its header and task table')
      .argument('<id>', 'request uuid'),
  ).action(exitWith(status));

  clientCommand(
    program
      .command('list')
      .description('list requests, newest first')
      .addOption(new Option('--status <status>', 'only requests in this status').choices(REQUEST_STATUSES))
      .option('--template <ref_name>', 'only requests of this template')
      .option('--ref <ref>', "only the request with this caller's ref")
      .option('--trace-id <id>', 'only requests with this trace id')
      .option('--limit <n>', 'at most this many (1 to 1000, default 100)', positiveInteger)
      .option('--cursor <cursor>', 'the next page, as printed under the previous one'),
  ).action(exitWith(list));

  clientCommand(
    program
      .command('cancel')
      .description('cancel a request (running tasks are canceled)')
      .argument('<id>', 'request uuid'),
  ).action(exitWith(cancel));

  clientCommand(
    program
      .command('retry')
      .description('run a request again with the same variables, as a new revision')
      .argument('<id>', 'request uuid')
      .option('--wait', 'show progress until the revision ends; exit 0 only if it succeeded'),
  ).action(exitWith(retry));

  clientCommand(
    program
      .command('revise')
      .description('run a request again with new variables, as a new revision')
      .argument('<id>', 'request uuid')
      .argument('<file>', '{vars, tasks, schedule} or a whole request payload (JSON or YAML, - for stdin)')
      .option('--wait', 'show progress until the revision ends; exit 0 only if it succeeded'),
  ).action(exitWith(revise));
}

async function status(id: string, options: ClientOptions): Promise<ExitCode> {
  const detail = await clientOf(options).json<RequestDetail>('GET', requestPath(id));
  if (options.json) printJson(detail);
  else print(renderRequestDetail(detail));
  return ExitCode.ok;
}

interface ListOptions extends ClientOptions {
  status?: string;
  template?: string;
  ref?: string;
  traceId?: string;
  limit?: number;
  cursor?: string;
}

async function list(options: ListOptions): Promise<ExitCode> {
  const query = new URLSearchParams();
  const filters = { status: options.status, template: options.template, ref: options.ref };
  for (const [name, value] of Object.entries(filters)) if (value !== undefined) query.set(name, value);
  if (options.traceId !== undefined) query.set('trace_id', options.traceId);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.cursor !== undefined) query.set('cursor', options.cursor);
  const page = await clientOf(options).json<RequestPage>('GET', `/workflow?${query.toString()}`);
  if (options.json) printJson(page);
  else {
    print(renderRequestList(page.items));
    if (page.next_cursor) print(`\nmore: o3 list --cursor ${page.next_cursor} (with the same filters)`);
  }
  return ExitCode.ok;
}

async function cancel(id: string, options: ClientOptions): Promise<ExitCode> {
  const answer = await clientOf(options).json<CancelAnswer>('POST', `${requestPath(id)}/cancel`);
  if (options.json) printJson(answer);
  else print(`request ${answer.uuid} is ${answer.status}`);
  return ExitCode.ok;
}

async function retry(id: string, options: ClientOptions & { wait?: boolean }): Promise<ExitCode> {
  const client = clientOf(options);
  const answer = await client.json<RetryAnswer>('POST', `${requestPath(id)}/retry`);
  return reportRevision(answer, options, () => waitForEnd(client, answer.uuid, options.json));
}

async function revise(
  id: string,
  file: string,
  options: ClientOptions & { wait?: boolean },
): Promise<ExitCode> {
  const client = clientOf(options);
  const body = revisionBody(await readDocument(file), file);
  const answer = await client.json<ReviseAnswer>('POST', `${requestPath(id)}/revise`, body);
  return reportRevision(answer, options, () => waitForEnd(client, answer.uuid, options.json));
}

function reportRevision(
  answer: RetryAnswer & Partial<ReviseAnswer>,
  options: ClientOptions & { wait?: boolean },
  wait: () => Promise<ExitCode>,
): Promise<ExitCode> {
  if (!options.json) {
    print(`request ${answer.uuid}: revision ${answer.revision} started (status ${answer.status})`);
    if (answer.warnings && answer.warnings.length > 0) print(renderWarnings(answer.warnings));
  }
  if (options.wait) return wait();
  if (options.json) printJson(answer);
  return Promise.resolve(ExitCode.ok);
}

/**
 * The revise body: `{vars, tasks, schedule}` as given, or taken out of a whole request payload
 * (`workflow.vars`, `tasks`, `workflow.schedule`) so the file that was submitted can be edited and sent.
 */
export function revisionBody(document: unknown, file: string): Record<string, unknown> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new CliError(`${file === '-' ? 'stdin' : file} must hold an object`, ExitCode.usage);
  }
  const fields = document as Record<string, unknown>;
  const workflow = fields.workflow as Record<string, unknown> | undefined;
  if (workflow === undefined || typeof workflow !== 'object') return fields;
  const body: Record<string, unknown> = {};
  if (workflow.vars !== undefined) body.vars = workflow.vars;
  if (fields.tasks !== undefined) body.tasks = fields.tasks;
  if (workflow.schedule !== undefined) body.schedule = workflow.schedule;
  return body;
}

function requestPath(id: string): string {
  return `/workflow/${encodeURIComponent(id)}`;
}
