import { existsSync } from 'node:fs';
import { DefaultLogger, Runtime, type LogEntry, type NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../config.js';
import { openDatabase } from '../../db/client.js';
import { asConnectionError } from '../../db/connectionError.js';
import { UsageError } from '../../errors.js';
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
  // Installed before the first connection, which is what the runtime's logger is bound to.
  if (options.json) Runtime.install({ logger: new DefaultLogger('INFO', jsonLine) });
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
    const worker = await createWorker({
      connection,
      config,
      pool: database.pool,
      workflowBundle: options.workflowBundle === undefined ? undefined : { codePath: options.workflowBundle },
    });
    log('INFO', `polling task queue ${config.temporal.taskQueue} on ${config.temporal.address}`);
    // The SDK shuts the worker down gracefully on SIGINT/SIGTERM; run() then resolves.
    await worker.run();
  } finally {
    await connection.close();
    await database.close();
  }
}
