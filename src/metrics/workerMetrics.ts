import type { Config } from '../config.js';
import { openDatabase } from '../db/client.js';
import type { RunObserver } from '../runbooks/runObserver.js';
import { createRegistry } from './registry.js';
import { observeRuns } from './runObserverMetrics.js';
import { registerRunbookMetrics } from './runbookMetrics.js';
import { serveMetrics } from './serveMetrics.js';

export interface WorkerMetrics {
  /** What the worker's batch activity tells, recorded in these metrics. */
  observer: RunObserver;
  url: string;
  close(): Promise<void>;
}

/**
 * The worker's runbook metrics on `WORKER_METRICS_PORT` (null when unset): the runs as the
 * database has them and the batches as this worker sees them. Their reads take a connection of
 * their own, never one a batch is waiting for.
 */
export async function startWorkerMetrics(config: Config): Promise<WorkerMetrics | null> {
  const { host, workerPort } = config.metrics;
  if (workerPort === null) return null;
  const registry = createRegistry();
  const database = openDatabase(config.databaseUrl, { max: 1, connectTimeoutMs: config.databaseConnectTimeoutMs });
  registerRunbookMetrics(registry, database.pool);
  const observer = observeRuns(registry);
  try {
    const server = await serveMetrics(registry, { host, port: workerPort, setting: 'WORKER_METRICS_PORT' });
    return {
      observer,
      url: server.url,
      async close() {
        await server.close();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
