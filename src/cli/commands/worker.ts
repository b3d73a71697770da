import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import { openDatabase } from '../../db/client.js';
import { connectWorker, createWorker } from '../../temporal/worker.js';
import { progress } from '../output.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run the Temporal worker for the runbook workflows and activities (until SIGINT/SIGTERM)')
    .action(async () => {
      const config = loadConfig();
      const database = openDatabase(config.databaseUrl, { max: 10 });
      const connection = await connectWorker(config);
      try {
        const worker = await createWorker({ connection, config, pool: database.pool });
        progress(`worker: polling task queue ${config.temporal.taskQueue} on ${config.temporal.address}`);
        // The SDK shuts the worker down gracefully on SIGINT/SIGTERM; run() then resolves.
        await worker.run();
      } finally {
        await connection.close();
        await database.close();
      }
    });
}
