import type { Command } from 'commander';
import { lazyAction } from '../lazy.js';

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('Run the Temporal worker for the runbook workflows and activities (until SIGINT/SIGTERM)')
    .addHelpText(
      'after',
      '\nA run carries the settings of the process that started it (RUNBOOK_BATCH_SIZE, RUNBOOK_CHILD_PARALLELISM,\n' +
        'RUNBOOK_CONTINUE_AS_NEW_AFTER, RUNBOOK_MAX_ATTEMPTS, RUNBOOK_HEARTBEAT_TIMEOUT_SECONDS); they have no effect here.\n' +
        "The worker's own settings: DATABASE_URL, TEMPORAL_*, RUNBOOK_OUTAGE_WINDOW_SECONDS, and its metrics\n" +
        '(TEMPORAL_METRICS_PORT, WORKER_METRICS_PORT, METRICS_HOST; docs/operations.md).\n' +
        'Without --workflow-bundle the worker bundles src/workflows itself at start-up: seconds longer, and over\n' +
        '100 MiB more memory for as long as it runs. `npm run build` compiles the CLI and the bundle into dist/ and\n' +
        'prints the command line that starts the worker with the least memory, as npm start and the bench do.',
    )
    .option('--json', 'log as JSON lines on stdout')
    .option(
      '--workflow-bundle <file>',
      'run the workflow code of this prebuilt bundle (npm run build writes dist/workflow-bundle.js)',
    )
    .action(lazyAction(async () => (await import('../actions/worker.js')).runWorker));
}
