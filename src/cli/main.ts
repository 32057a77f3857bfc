/** The `o3` command line (§11): `o3 serve` runs a node; the other commands talk to one over the API. */
import { Command, CommanderError } from 'commander';
import { errorMessage } from '../errors.js';
import { CliError, ExitCode, formatCliError } from './cli-error.js';
import { registerCatalogueCommands } from './commands/catalogue.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerRequestCommands } from './commands/requests.js';
import { registerServeCommand } from './commands/serve.js';
import { registerSubmitCommands } from './commands/submit.js';

const program = new Command('o3')
  .description('O3, the orchestrator of orchestrators')
  .showHelpAfterError()
  // Usage errors must exit 2, not commander's 1, so a script can tell them from a failed request.
  .exitOverride();

registerServeCommand(program);
registerSubmitCommands(program);
registerRequestCommands(program);
registerLogsCommand(program);
registerCatalogueCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // commander has printed the problem (or the help) already.
    process.exitCode = error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    return;
  }
  if (error instanceof CliError) {
    process.stderr.write(formatCliError(error));
    process.exitCode = error.exitCode;
    return;
  }
  process.stderr.write(`o3: ${errorMessage(error)}\n`);
  process.exit(1);
});
