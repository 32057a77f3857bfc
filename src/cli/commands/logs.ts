/** `o3 logs ID [--task REF] [--follow]`: a request's log, or one task's, as `ts level [task] message`. */
import type { Command } from 'commander';
import type { LogLine, LogPage } from '../../api/answers.js';
import { ExitCode } from '../cli-error.js';
import { clientCommand, clientOf, exitWith, type ClientOptions } from '../client-options.js';
import { followRequest, logsPath } from '../follow-request.js';
import { notice, print } from '../output.js';
import { renderLogLine } from '../render/request.js';

/** Registers `logs`. */
export function registerLogsCommand(program: Command): void {
  clientCommand(program.command('logs'), { json: false })
    .description("print a request's log (`ts level [task] message`)")
    .argument('<id>', 'request uuid')
    .option('--task <ref>', "only this task's lines")
    .option('--follow', 'keep printing new lines until the request ends')
    .option('--json', 'print each line as one JSON object (JSON lines)')
    .action(exitWith(logs));
}

interface LogsOptions extends ClientOptions {
  task?: string;
  follow?: boolean;
}

async function logs(id: string, options: LogsOptions): Promise<ExitCode> {
  const client = clientOf(options);
  const show = (line: LogLine) => print(options.json ? JSON.stringify(line) : renderLogLine(line));
  if (options.follow) {
    await followRequest(client, id, { task: options.task, onLog: show, onNotice: notice });
    return ExitCode.ok;
  }
  let after: number | undefined;
  for (;;) {
    const page = await client.json<LogPage>('GET', logsPath(id, options.task, after, false));
    page.lines.forEach(show);
    // Read until an empty page: the server may cap a page below the limit asked for.
    const last = page.lines.at(-1);
    if (!last) return ExitCode.ok;
    after = last.seq;
  }
}
