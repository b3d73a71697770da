import type { Command } from 'commander';
import { ALL_TENANTS_PHRASE } from '../../runbooks/model.js';
import { lazyAction } from '../lazy.js';
import { batchSizeOption, batchTargetOption, wholeNumber } from '../options.js';
import type { StartRunbookCatalog } from '../startRunbookCatalog.js';

/** `--tenant a --tenant b` and `--tenant a,b`: one value per flag, so nothing swallows the runbook name. */
function collectTenants(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  ];
}

/** `catalog` is null when the command line does not start a runbook: its help then names none. */
export function registerStartRunbookCommand(program: Command, catalog: StartRunbookCatalog | null): void {
  const named = catalog?.named;
  const command = program
    .command('start-runbook')
    .description(
      named
        ? `Preflight and start ${named.title} (${named.cliName}) for tenants or all tenants`
        : 'Preflight and start a runbook for tenants or all tenants',
    )
    .argument('<runbook>', catalog ? `the runbook: ${catalog.cliNames.join(', ')}` : 'the runbook')
    .option(
      '--tenant <external_id>',
      'a tenant by external id; repeat the flag or separate ids with commas',
      collectTenants,
      [],
    )
    .option('--all-tenants', 'every customer tenant (needs --confirm "ALL TENANTS")')
    .option('--reason <text>', 'why this run is needed (10–500 characters)')
    .option('--confirm <phrase>', `typed confirmation for --all-tenants: "${ALL_TENANTS_PHRASE}"`)
    .option('--idempotency-key <key>', 'the same key and parameters return the existing run')
    .option('--preflight <id>', 'start against this saved preflight (default: run a fresh one)')
    .option('--preflight-only', 'print the preflight and stop')
    .option(
      '--max-failed-tenants <n>',
      'error budget: pause the run when more tenants than this have failed',
      wholeNumber(0),
    )
    .option(
      '--max-failed-percent <p>',
      'error budget: pause the run when more than this share of tenants has failed',
      wholeNumber(0, 100),
    )
    .option('--canary <n>', 'run n tenants first (the first by id), then pause for a go-ahead (resume)', wholeNumber(1))
    .option('--canary-tenants <external_ids>', 'the canary tenants, comma-separated (instead of the first by id)')
    .option(
      '--batch-size <auto|rows>',
      'auto: each batch sized to take --batch-target; or a fixed number of rows (default: RUNBOOK_BATCH_SIZE, auto)',
      batchSizeOption,
    )
    .option('--batch-target <duration>', 'what an auto-sized batch aims to take (default 1s)', batchTargetOption)
    .option('--wait', 'follow the run to its end; exit 0 only when it succeeded')
    .option('--json', 'print machine-readable JSON');
  catalog?.describe(command);
  command.action(lazyAction(async () => (await import('../actions/startRunbook.js')).startRunbook(named ?? null)));
}
