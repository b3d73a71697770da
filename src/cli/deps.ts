import type { Client } from '@temporalio/client';
import { loadConfig, type Config } from '../config.js';
import { openDatabase, type Database } from '../db/client.js';
import { asConnectionError } from '../db/connectionError.js';
import { connectTemporal } from '../temporal/connection.js';

export interface CliDeps {
  config: Config;
  database: Database;
  /** Connects on first use: commands that only read the database never need Temporal up. */
  temporal: () => Promise<Client>;
}

/** Opens the database (checked) for one command, and Temporal when it asks; closes both after. */
export async function withDeps<T>(work: (deps: CliDeps) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = openDatabase(config.databaseUrl, { max: 4, connectTimeoutMs: config.databaseConnectTimeoutMs });
  let temporal: Promise<Client> | undefined;
  try {
    try {
      await database.pool.query('SELECT 1');
    } catch (error) {
      throw asConnectionError(error, config.databaseUrl);
    }
    return await work({ config, database, temporal: () => (temporal ??= connectTemporal(config.temporal)) });
  } finally {
    if (temporal) await (await temporal.catch(() => null))?.connection.close();
    await database.close();
  }
}
