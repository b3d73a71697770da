import type { Command } from 'commander';
import { lazyAction } from '../lazy.js';

export function registerRunbooksCommands(program: Command): void {
  const runbooks = program.command('runbooks').description('The runbook catalog');
  runbooks
    .command('list')
    .description('Every runbook with what it does, what it writes and its parameters (type, bounds, default)')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/runbooksList.js')).runbooksList));
}
