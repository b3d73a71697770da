import type { Command } from 'commander';
import { lazyAction } from '../lazy.js';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('Database maintenance');
  db.command('migrate')
    .description('Create the database if missing and apply pending migrations from drizzle/')
    .option('--json', 'print the result as JSON')
    .action(lazyAction(async () => (await import('../actions/dbMigrate.js')).dbMigrate));
}
