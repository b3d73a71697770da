import { Command } from 'commander';
import { printableLines } from './printable.js';
import { registerChangesCommands } from './commands/changes.js';
import { registerDbCommands } from './commands/db.js';
import { registerDeployHookCommand } from './commands/deployHook.js';
import { registerCustomerUserCommands, registerPlatformUserCommands } from './commands/platformUser.js';
import { registerRunbookNewCommand } from './commands/runbookNew.js';
import { registerRunbooksCommands } from './commands/runbooks.js';
import { registerRunsCommands } from './commands/runs.js';
import { registerSeedCommand } from './commands/seed.js';
import { registerStartRunbookCommand } from './commands/startRunbook.js';
import { registerWindowsCommands } from './commands/windows.js';
import { registerWorkerCommand } from './commands/worker.js';

/**
 * The CLI; `argv` decides which runbook's parameters `start-runbook` takes as flags. Only a
 * command line with `start-runbook` in it loads the catalog to register the command.
 */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('npm run cli --')
    .description('Platform Ops Runbooks: safe, audited, durable backfills across every tenant.')
    .exitOverride()
    // Commander echoes the arguments it rejects: a 100 KB argument is not printed back whole.
    .configureOutput({ outputError: (text, write) => write(printableLines(text, 300)) });
  const catalog = argv.includes('start-runbook')
    ? (await import('./startRunbookCatalog.js')).startRunbookCatalog(argv)
    : null;
  registerStartRunbookCommand(program, catalog);
  registerRunbooksCommands(program);
  registerRunbookNewCommand(program);
  registerRunsCommands(program);
  registerChangesCommands(program);
  registerWindowsCommands(program);
  registerDeployHookCommand(program);
  registerWorkerCommand(program);
  registerDbCommands(program);
  registerSeedCommand(program);
  registerPlatformUserCommands(program);
  registerCustomerUserCommands(program);
  return program;
}
