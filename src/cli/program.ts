import { Command } from 'commander';
import { registerDbCommands } from './commands/db.js';
import { registerRunsCommands } from './commands/runs.js';
import { registerSeedCommand } from './commands/seed.js';
import { registerStartRunbookCommand } from './commands/startRunbook.js';
import { registerWorkerCommand } from './commands/worker.js';

export function buildProgram(): Command {
  const program = new Command('tsx src/cli')
    .description('Platform Ops Runbooks: safe, audited, durable backfills across every tenant.')
    .exitOverride();
  registerStartRunbookCommand(program);
  registerRunsCommands(program);
  registerWorkerCommand(program);
  registerDbCommands(program);
  registerSeedCommand(program);
  return program;
}
