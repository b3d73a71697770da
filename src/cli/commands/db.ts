import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { describeDatabaseUrl } from '../../db/describeUrl.js';
import { migrateDatabase } from '../../db/migrate.js';
import { printResult } from '../output.js';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('Database maintenance');
  db.command('migrate')
    .description('Create the database if missing and apply pending migrations from drizzle/')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const { databaseUrl } = loadConfig();
      const result = await migrateDatabase(databaseUrl);
      printResult(Boolean(options.json), result, () =>
        [
          result.createdDatabase ? `Created database ${describeDatabaseUrl(databaseUrl)}.` : null,
          `Applied ${result.applied} migration(s); ${result.total} in total on ${describeDatabaseUrl(databaseUrl)}.`,
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });
}
