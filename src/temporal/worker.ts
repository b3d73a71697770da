import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type pg from 'pg';
import { log } from '@temporalio/activity';
import { createActivities } from '../activities/index.js';
import { firstLine } from '../errors.js';
import { HealthMonitor } from '../runbooks/health/healthMonitor.js';
import type { RunObserver } from '../runbooks/runObserver.js';
import type { Config } from '../config.js';
import { temporalUnavailable, tlsOption } from './connection.js';
import { temporalLauncher } from './launcher.js';

// From the root rather than from this folder, so that the compiled CLI (dist/cli/index.js, two
// folders deep like this file) resolves the same sources.
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

/**
 * A worker for the runbook workflows and activities. Given a prebuilt `workflowBundle` (the
 * launchers' from workerBuild.ts, the tests' from their global setup) it skips bundling the
 * workflow code, which otherwise takes seconds and over 100 MiB of this process's memory.
 */
export async function createWorker(options: {
  connection: NativeConnection;
  config: Config;
  pool: pg.Pool;
  taskQueue?: string;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Told of every batch and hold (the worker's metrics, WORKER_METRICS_PORT); nobody by default. */
  observer?: RunObserver;
}): Promise<Worker> {
  const taskQueue = options.taskQueue ?? options.config.temporal.taskQueue;
  // The runs the deploy workflow starts go to the queue this worker polls.
  const config = { ...options.config, temporal: { ...options.config.temporal, taskQueue } };
  const temporal = new Client({ connection: options.connection, namespace: config.temporal.namespace });
  const connections = Math.max(2, options.pool.options.max ?? 10);
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({
      pool: options.pool,
      health: new HealthMonitor(options.pool, {
        customQuery: config.health.customQuery,
        // Said once per gate and worker; the run goes on without that gate.
        onUnavailable: (gate, why) => {
          log.warn(`health gate ${gate} unavailable, the runs go on without it: ${firstLine(why)}`);
        },
      }),
      outageWindowMs: config.outageWindowMs,
      observer: options.observer,
      starter: { pool: options.pool, launcher: temporalLauncher(config, () => Promise.resolve(temporal)) },
      windowMinuteMs: config.windowMinuteMs,
    }),
    // Heartbeats carry cancellation back to a batch activity: a short throttle lets it stop
    // at the next batch boundary rather than up to 80% of the heartbeat timeout later.
    maxHeartbeatThrottleInterval: '1 second',
    // Each activity, local or not, holds one pooled connection while it runs. Local ones (a
    // tenant's first stretch) and ordinary ones rarely run many at once: a tenant moves from one
    // to the other, and what waits for a connection waits for one batch at most.
    maxConcurrentActivityTaskExecutions: connections,
    maxConcurrentLocalActivityExecutions: connections,
  });
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({
      address: config.temporal.address,
      tls: tlsOption(config.temporal),
      apiKey: config.temporal.apiKey,
    });
  } catch (error) {
    throw temporalUnavailable(config.temporal.address, error);
  }
}
