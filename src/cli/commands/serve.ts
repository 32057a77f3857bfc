/** `o3 serve`: runs the engine and the REST API. */
import { InvalidArgumentError, type Command } from 'commander';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new InvalidArgumentError('a port is 0 to 65535');
  return parsed;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Registers `serve`. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the engine and the REST API')
    .option('--host <host>', 'address to listen on (O3_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (O3_PORT, default 8080)', port)
    .option('--store <url>', 'sqlite:PATH, postgres://… or redis://… (O3_STORE, default sqlite:./data/o3.db)')
    .option('--templates <dir>', 'another template folder (repeatable; O3_TEMPLATE_DIRS)', collect)
    .option('--tasks <dir>', 'another task folder (repeatable; O3_TASK_DIRS)', collect)
    .option('--strict', 'refuse to start when a template or task module is invalid')
    .option('--log-level <level>', 'trace, debug, info, warn or error (O3_LOG_LEVEL)')
    .action(
      async (options: {
        host?: string;
        port?: number;
        store?: string;
        templates?: string[];
        tasks?: string[];
        strict?: boolean;
        logLevel?: string;
      }) => {
        // Loaded here, not at the top: the client commands start in a third of the time without the server stack.
        const { exitOnSignals, startServer } = await import('../../main.js');
        const server = await startServer({
          host: options.host,
          port: options.port,
          store: options.store,
          templateDirs: options.templates,
          taskDirs: options.tasks,
          strict: options.strict,
          logLevel: options.logLevel,
        });
        exitOnSignals(server);
      },
    );
}
