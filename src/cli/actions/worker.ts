import { existsSync } from 'node:fs';
import { DefaultLogger, Runtime, type LogEntry, type NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../config.js';
import { openDatabase } from '../../db/client.js';
import { asConnectionError } from '../../db/connectionError.js';
import { UsageError } from '../../errors.js';
import { temporalMetricsExporter } from '../../metrics/temporalExporter.js';
import { startWorkerMetrics, type WorkerMetrics } from '../../metrics/workerMetrics.js';
import { ensureSearchAttributes } from '../../temporal/searchAttributes.js';
import { connectWorker, createWorker } from '../../temporal/worker.js';
import { progress } from '../output.js';

/** One JSON object per log line, for log shippers. */
function jsonLine(entry: LogEntry): void {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  process.stdout.write(`${JSON.stringify({ time, level: entry.level, message: entry.message, ...entry.meta })}\n`);
}

export async function runWorker(options: { json?: boolean; workflowBundle?: string }): Promise<void> {
  const config = loadConfig();
  if (options.workflowBundle !== undefined && !existsSync(options.workflowBundle)) {
    throw new UsageError(`no workflow bundle at ${options.workflowBundle}; build it with: npm run build`);
  }
  // Installed before the first connection, which is what the runtime's logger and its metrics
  // (TEMPORAL_METRICS_PORT: the SDK's own Prometheus endpoint) are bound to.
  const temporalMetrics = temporalMetricsExporter(config.metrics);
  if (options.json || temporalMetrics) {
    Runtime.install({
      ...(options.json ? { logger: new DefaultLogger('INFO', jsonLine) } : {}),
      ...(temporalMetrics ? { telemetryOptions: { metrics: temporalMetrics } } : {}),
    });
  }
  const database = openDatabase(config.databaseUrl, { max: 10, connectTimeoutMs: config.databaseConnectTimeoutMs });
  let connection: NativeConnection;
  try {
    await database.pool.query('SELECT 1');
    connection = await connectWorker(config);
  } catch (error) {
    await database.close();
    throw asConnectionError(error, config.databaseUrl);
  }
  const log = (level: 'INFO' | 'WARN', message: string) =>
    options.json
      ? jsonLine({ level, message: `worker ${message}`, timestampNanos: BigInt(Date.now()) * 1_000_000n })
      : progress(`worker: ${message}`);
  let metrics: WorkerMetrics | null = null;
  try {
    const setup = await ensureSearchAttributes(connection.operatorService, config.temporal.namespace);
    if (!setup.ok) {
      log(
        'WARN',
        `namespace ${config.temporal.namespace} lacks the search attributes ${setup.missing.join(', ')} and refused to register them (${setup.error}); ` +
          `runs start without them. Add them with: ${setup.command}`,
      );
    } else if (setup.registered.length > 0) {
      log(
        'INFO',
        `registered the search attributes ${setup.registered.join(', ')} on namespace ${config.temporal.namespace}`,
      );
    }
    metrics = await startWorkerMetrics(config);
    const worker = await createWorker({
      connection,
      config,
      pool: database.pool,
      workflowBundle: options.workflowBundle === undefined ? undefined : { codePath: options.workflowBundle },
      observer: metrics?.observer,
    });
    if (temporalMetrics) {
      log('INFO', `Temporal SDK metrics at http://${temporalMetrics.prometheus.bindAddress}/metrics`);
    }
    if (metrics) log('INFO', `runbook metrics at ${metrics.url}`);
    log('INFO', `polling task queue ${config.temporal.taskQueue} on ${config.temporal.address}`);
    // The SDK shuts the worker down gracefully on SIGINT/SIGTERM; run() then resolves.
    await worker.run();
  } finally {
    await metrics?.close();
    await connection.close();
    await database.close();
  }
}
