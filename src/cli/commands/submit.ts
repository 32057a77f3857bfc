/** `o3 submit FILE [--wait]` and `o3 validate FILE`. */
import type { Command } from 'commander';
import type { SubmitAnswer, ValidateAnswer } from '../../api/answers.js';
import { toApiError } from '../api-client.js';
import { ExitCode } from '../cli-error.js';
import { clientCommand, clientOf, exitWith, type ClientOptions } from '../client-options.js';
import { print, printJson } from '../output.js';
import { renderValidation } from '../render/plan.js';
import { renderWarnings } from '../render/request.js';
import { readDocument } from '../read-document.js';
import { waitForEnd } from '../wait-for-end.js';

/** Registers `submit` and `validate`. */
export function registerSubmitCommands(program: Command): void {
  clientCommand(
    program
      .command('submit')
      .description('submit a workflow request (a JSON or YAML file, - for stdin)')
      .argument('<file>', 'the request payload')
      .option('--wait', 'show progress until the request ends; exit 0 only if it succeeded'),
  ).action(exitWith(submit));

  clientCommand(
    program
      .command('validate')
      .description('check a request without running it: errors, warnings and the plan; exit 1 if invalid')
      .argument('<file>', 'the request payload (JSON or YAML, - for stdin)'),
  ).action(exitWith(validate));
}

async function submit(file: string, options: ClientOptions & { wait?: boolean }): Promise<ExitCode> {
  const client = clientOf(options);
  const payload = await readDocument(file);
  const answer = await client.json<SubmitAnswer>('POST', '/workflow/submit', payload);
  if (!options.json) print(renderSubmitted(answer));
  if (options.wait) return waitForEnd(client, answer.uuid, options.json);
  if (options.json) printJson(answer);
  return ExitCode.ok;
}

async function validate(file: string, options: ClientOptions): Promise<ExitCode> {
  const payload = await readDocument(file);
  const answer = await clientOf(options).raw('POST', '/workflow/validate', payload);
  const body = answer.body as ValidateAnswer | null;
  // 422 with `valid: false` is the answer "invalid", not a failed call.
  if (typeof body?.valid !== 'boolean' || (answer.status !== 200 && answer.status !== 422)) {
    throw toApiError(answer);
  }
  if (options.json) printJson(body);
  else print(renderValidation(file === '-' ? 'stdin' : file, body));
  return body.valid ? ExitCode.ok : ExitCode.failed;
}

function renderSubmitted(answer: SubmitAnswer): string {
  const lines = [
    answer.created === false
      ? `already submitted: ref ${answer.ref} was sent before with the same payload`
      : `submitted`,
    `  uuid      ${answer.uuid}`,
    `  ref       ${answer.ref}`,
    `  revision  ${answer.revision}`,
    `  status    ${answer.status}`,
  ];
  if (answer.warnings && answer.warnings.length > 0) lines.push(renderWarnings(answer.warnings));
  return lines.join('\n');
}
