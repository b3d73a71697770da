import { loadConfig } from '../../config.js';
import { describeDatabaseUrl } from '../../db/describeUrl.js';
import { migrateDatabase } from '../../db/migrate.js';
import { printResult } from '../output.js';

export async function dbMigrate(options: { json?: boolean }): Promise<void> {
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
}
