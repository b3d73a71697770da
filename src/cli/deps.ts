import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../config.js';
import { openDatabase, type Database } from '../db/client.js';
import { asConnectionError } from '../db/connectionError.js';
import { localDatabaseUrl } from '../dev/localPostgres.js';
import type { RunLauncher } from '../runbooks/launcher.js';
import { temporalLauncher } from '../temporal/launcher.js';

export interface CliDeps {
  config: Config;
  database: Database;
  /** Connects on first use: commands that only read the database never need Temporal up. */
  temporal: () => Promise<Client>;
  /** The starter's and the run controls' way to the workflows, on the same connection. */
  launcher: RunLauncher;
}

/** Opens the database (checked) for one command, and Temporal when it asks; closes both after. */
export async function withDeps<T>(work: (deps: CliDeps) => Promise<T>): Promise<T> {
  const loaded = loadConfig();
  const config = {
    ...loaded,
    databaseUrl: await localDatabaseUrl(loaded.databaseUrl, loaded.databaseUrlGiven),
  };
  const database = openDatabase(config.databaseUrl, { max: 4, connectTimeoutMs: config.databaseConnectTimeoutMs });
  let temporal: Promise<Client> | undefined;
  try {
    try {
      await database.pool.query('SELECT 1');
    } catch (error) {
      throw asConnectionError(error, config.databaseUrl);
    }
    // Imported on first use too: the Temporal client costs every command that never needs it half a second.
    const connect = () =>
      (temporal ??= import('../temporal/connection.js').then(({ connectTemporal }) =>
        connectTemporal(config.temporal),
      ));
    return await work({ config, database, temporal: connect, launcher: temporalLauncher(config, connect) });
  } finally {
    if (temporal) await (await temporal.catch(() => null))?.connection.close();
    await database.close();
  }
}
