/** `o3 templates`, `o3 tasks` and `o3 dag TEMPLATE`: what the server can run. */
import { Option, type Command } from 'commander';
import type { TaskClassList, TemplateDetail, TemplateList } from '../../api/answers.js';
import { ExitCode } from '../cli-error.js';
import { clientCommand, clientOf, exitWith, positiveInteger, type ClientOptions } from '../client-options.js';
import { print, printJson } from '../output.js';
import { renderTaskClasses, renderTemplates } from '../render/catalogue.js';
import { DAG_FORMATS, renderDag, type DagFormat } from '../render/dag.js';

/** Registers the catalogue commands. */
export function registerCatalogueCommands(program: Command): void {
  clientCommand(program.command('templates').description('list the registered templates')).action(
    exitWith(templates),
  );
  clientCommand(
    program.command('tasks').description('list the task classes with their inputs (secret ones marked)'),
  ).action(exitWith(tasks));
  clientCommand(
    program
      .command('dag')
      .description("draw a template's DAG")
      .argument('<template>', "the template's ref_name")
      .addOption(new Option('--format <format>', 'how to draw it').choices(DAG_FORMATS).default('text'))
      .option('--version <n>', 'this schema_version of the template (default: the highest)', positiveInteger),
    { json: false },
  ).action(exitWith(dag));
}

async function templates(options: ClientOptions): Promise<ExitCode> {
  const answer = await clientOf(options).json<TemplateList>('GET', '/templates');
  if (options.json) printJson(answer);
  else print(renderTemplates(answer.templates));
  return ExitCode.ok;
}

async function tasks(options: ClientOptions): Promise<ExitCode> {
  const answer = await clientOf(options).json<TaskClassList>('GET', '/tasks');
  if (options.json) printJson(answer);
  else print(renderTaskClasses(answer.tasks));
  return ExitCode.ok;
}

async function dag(
  ref: string,
  options: ClientOptions & { format: DagFormat; version?: number },
): Promise<ExitCode> {
  const query = options.version === undefined ? '' : `?version=${options.version}`;
  const template = await clientOf(options).json<TemplateDetail>(
    'GET',
    `/templates/${encodeURIComponent(ref)}${query}`,
  );
  print(renderDag(template, options.format));
  return ExitCode.ok;
}
