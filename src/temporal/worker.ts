import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities } from '../activities/index.js';
import type { Config } from '../config.js';
import { temporalUnavailable, tlsOption } from './connection.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/**
 * A worker for the runbook workflows and activities. Tests pass a prebuilt `workflowBundle`
 * so that each test file does not bundle the workflow code again.
 */
export async function createWorker(options: {
  connection: NativeConnection;
  config: Config;
  pool: pg.Pool;
  taskQueue?: string;
  workflowBundle?: WorkerOptions['workflowBundle'];
}): Promise<Worker> {
  const taskQueue = options.taskQueue ?? options.config.temporal.taskQueue;
  // The runs the deploy workflow starts go to the queue this worker polls.
  const config = { ...options.config, temporal: { ...options.config.temporal, taskQueue } };
  const temporal = new Client({ connection: options.connection, namespace: config.temporal.namespace });
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: createActivities({ pool: options.pool, outageWindowMs: config.outageWindowMs, starter: { pool: options.pool, temporal, config } }),
    // Heartbeats carry cancellation back to a batch activity: a short throttle lets it stop
    // at the next batch boundary rather than up to 80% of the heartbeat timeout later.
    maxHeartbeatThrottleInterval: '1 second',
    // Each activity holds one pooled connection while it runs.
    maxConcurrentActivityTaskExecutions: Math.max(2, options.pool.options.max ?? 10),
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
