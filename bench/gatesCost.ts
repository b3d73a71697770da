import { openDatabase } from '../src/db/client.js';
import { connectTemporal } from '../src/temporal/connection.js';
import type { Config } from '../src/config.js';
import { round } from './profile.js';
import { precheckAndPreflight, startAndWait } from './startRun.js';

/** What the health gates cost a run: item 2's run again with them off, and the ratio. */
export interface GatesCost {
  onSeconds: number;
  offSeconds: number;
  /** Run time with the gates over run time without: 1.0 is free. */
  cost: number;
}

/**
 * Item 2b: the all-tenants run of item 2 again, on a fresh copy at the same URL (the workers'),
 * started with the health gates off: the price of the snapshot every batch consults.
 */
export async function measureGatesCost(options: {
  url: string;
  config: Config;
  gatesOnSeconds: number;
  reason: string;
}): Promise<GatesCost> {
  const database = openDatabase(options.url);
  const config: Config = {
    ...options.config,
    health: { ...options.config.health, gates: { ...options.config.health.gates, enabled: false } },
  };
  const temporal = await connectTemporal(config.temporal);
  try {
    const { preflight } = await precheckAndPreflight(database.pool, options.reason);
    const { runSeconds } = await startAndWait({ pool: database.pool, temporal, config }, preflight, options.reason);
    return {
      onSeconds: options.gatesOnSeconds,
      offSeconds: runSeconds,
      cost: round(options.gatesOnSeconds / runSeconds),
    };
  } finally {
    await temporal.connection.close();
    await database.close();
  }
}
