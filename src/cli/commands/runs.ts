import { InvalidArgumentError, type Command } from 'commander';
import type { RunAction } from '../../runbooks/control.js';
import { EXPORT_FORMATS, type ExportFormat } from '../../runbooks/exportFormats.js';
import { GATE_FIELD_NAMES, GATE_FIELDS, kebabCase } from '../../runbooks/health/gateFields.js';
import { RUN_FILTERS, STOP_ALL_PHRASE, type RunFilter } from '../../runbooks/model.js';
import { lazyAction } from '../lazy.js';
import { batchSizeOption, batchTargetOption, wholeNumber } from '../options.js';

function exportFormat(raw: string): ExportFormat {
  if (!EXPORT_FORMATS.includes(raw as ExportFormat))
    throw new InvalidArgumentError(`expected one of ${EXPORT_FORMATS.join(', ')}.`);
  return raw as ExportFormat;
}

function runStatus(raw: string): RunFilter {
  if (!RUN_FILTERS.includes(raw as RunFilter))
    throw new InvalidArgumentError(`expected one of ${RUN_FILTERS.join(', ')}.`);
  return raw as RunFilter;
}

export function registerRunsCommands(program: Command): void {
  const runs = program.command('runs').description('Inspect and control operation runs');

  runs
    .command('list')
    .description('Runs, newest first')
    .option(
      '--status <status>',
      `only runs in this state, or completed with this outcome (${RUN_FILTERS.join(', ')})`,
      runStatus,
    )
    .option('--runbook <name>', 'only runs of this runbook (its CLI name or id)')
    .option('--limit <n>', 'how many', wholeNumber(1, 1000), 20)
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/runsList.js')).runsList));

  runs
    .command('show')
    .description('A run: status, counts, per-tenant items and audit trail')
    .argument('<id>', 'the run id')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/runsShow.js')).runsShow));

  runs
    .command('follow')
    .description('Follow a run to its end (Ctrl-C stops following, not the run); exit 0 only when it succeeded')
    .argument('<id>', 'the run id')
    .option('--json', 'print machine-readable JSON at the end')
    .action(lazyAction(async () => (await import('../actions/runsFollow.js')).runsFollow));

  runs
    .command('export')
    .description('Write a run, its per-tenant items and its audit timeline as CSV or JSON')
    .argument('<id>', 'the run id')
    .option('--format <format>', `one of ${EXPORT_FORMATS.join(', ')} (default: csv; json with --json)`, exportFormat)
    .option('--output <file>', 'write to this file instead of standard output')
    .option(
      '--json',
      'machine-readable JSON on standard output: the export itself, or with --output what was written where',
    )
    .action(lazyAction(async () => (await import('../actions/runsExport.js')).runsExport));

  runs
    .command('retry-failed')
    .description('Start a new run over exactly the failed tenants of a run (preflight, then start), linked to it')
    .argument('<id>', 'the run whose failed tenants to retry')
    .requiredOption('--reason <text>', 'why (10–500 characters)')
    .option('--idempotency-key <key>', 'the same key and parameters return the existing run')
    .option('--wait', 'follow the new run to its end; exit 0 only when it succeeded')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/runsRetryFailed.js')).runsRetryFailed));

  const tune = runs
    .command('tune')
    .description(
      "Change a running run's child parallelism (1–64), batch size (auto, or 50–50,000 rows) and health-gate thresholds; " +
        'new children and batches use them',
    )
    .argument('<id>', 'the run id')
    .option('--parallelism <n>', 'tenant workflows at once', wholeNumber(0))
    .option(
      '--batch-size <auto|rows>',
      'auto: batches sized to take --batch-target; or rows per batch',
      batchSizeOption,
    )
    .option(
      '--batch-target <duration>',
      'what an auto-sized batch aims to take (makes the run size them itself)',
      batchTargetOption,
    );
  // Each health-gate threshold, as its environment setting names it (HEALTH_MAX_REPLICA_LAG, …).
  for (const name of GATE_FIELD_NAMES) tune.option(`--${kebabCase(name)} <value>`, GATE_FIELDS[name].help);
  tune
    .requiredOption('--reason <text>', 'why (10–500 characters)')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/runsTune.js')).runsTune));

  const actions: Array<[RunAction, string]> = [
    ['cancel', 'Cancel a queued or running run (its tenants stop; the run completes as cancelled)'],
    ['pause', 'Pause a multi-tenant run: running tenants finish, no new tenant starts'],
    ['resume', 'Resume a paused multi-tenant run'],
  ];
  for (const [action, description] of actions) {
    runs
      .command(action)
      .description(description)
      .argument('<id>', 'the run id')
      .option('--reason <text>', 'why (10–500 characters); audited, and shown on a paused run')
      .option('--json', 'print machine-readable JSON')
      .action(lazyAction(async () => (await import('../actions/runsControl.js')).runsControl(action)));
  }

  runs
    .command('stop-all')
    .description(
      'Pause every active run (their tenants finish the batch they are in) and refuse every start, until resume-all',
    )
    .requiredOption('--reason <text>', 'why (10–500 characters); audited, and shown on every paused run')
    .option('--confirm <phrase>', `typed confirmation: "${STOP_ALL_PHRASE}"`)
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/runsStopAll.js')).runsStopAll));
  runs
    .command('resume-all')
    .description('Lift a stop-all: resume the runs it paused and allow starts again')
    .requiredOption('--reason <text>', 'why (10–500 characters); audited')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/runsStopAll.js')).runsResumeAll));
}
