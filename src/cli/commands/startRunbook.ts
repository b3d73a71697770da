import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { runPreflight, type SavedPreflight } from '../../runbooks/preflight.js';
import { progressText } from '../../runbooks/progressText.js';
import { getRunbook } from '../../runbooks/registry.js';
import type { ScopeInput } from '../../runbooks/scope.js';
import { precheckStart, startRunbook } from '../../runbooks/start.js';
import { ALL_TENANTS_PHRASE, type StartRequest } from '../../runbooks/validateStart.js';
import { withDeps } from '../deps.js';
import { followRun, printFollowed } from '../followRun.js';
import { cliInitiator } from '../initiator.js';
import { printResult, progress } from '../output.js';

interface StartOptions {
  tenant?: string[];
  allTenants?: boolean;
  reason?: string;
  confirm?: string;
  idempotencyKey?: string;
  preflight?: string;
  preflightOnly?: boolean;
  wait?: boolean;
  json?: boolean;
}

function scopeOf(options: StartOptions): ScopeInput {
  const tenants = options.tenant ?? [];
  if (options.allTenants && tenants.length > 0) throw new UsageError('Give either --tenant or --all-tenants, not both.');
  if (options.allTenants) return { kind: 'all_tenants' };
  if (tenants.length === 0) throw new UsageError('Choose a scope: --tenant <external_id> (repeatable) or --all-tenants.');
  return { kind: 'tenants', externalIds: tenants };
}

export function formatPreflight(preflight: SavedPreflight): string {
  const { report } = preflight;
  const lines = [
    `Preflight ${preflight.id} — ${report.title} on ${report.scope.description}`,
    `  tenants in scope:   ${report.tenantsInScope.toLocaleString('en-US')}`,
    `  ${report.unit} in scope:  ${report.inScope.toLocaleString('en-US')}`,
    `  ${report.unit} to change: ${report.toChange.toLocaleString('en-US')}`,
  ];
  const fields = Object.entries(report.breakdown).filter(([, count]) => count > 0);
  if (fields.length) lines.push(`  by field: ${fields.map(([field, count]) => `${field} ${count.toLocaleString('en-US')}`).join(', ')}`);
  if (report.topTenants.length) {
    lines.push(`  most changes: ${report.topTenants.slice(0, 5).map((t) => `${t.externalId} (${t.toChange})`).join(', ')}`);
  }
  return lines.join('\n');
}

export function registerStartRunbookCommand(program: Command): void {
  program
    .command('start-runbook')
    .description('Preflight and start a runbook (findings-lifecycle) for tenants or all tenants')
    .argument('<runbook>', 'the runbook: findings-lifecycle')
    .option('--tenant <external_id...>', 'a tenant by external id (repeatable)')
    .option('--all-tenants', 'every customer tenant (needs --confirm "ALL TENANTS")')
    .option('--reason <text>', 'why this run is needed (10–500 characters)')
    .option('--confirm <phrase>', `typed confirmation for --all-tenants: "${ALL_TENANTS_PHRASE}"`)
    .option('--idempotency-key <key>', 'the same key and parameters return the existing run')
    .option('--preflight <id>', 'start against this saved preflight (default: run a fresh one)')
    .option('--preflight-only', 'print the preflight and stop')
    .option('--wait', 'follow the run to its end; exit 0 only when it succeeded')
    .option('--json', 'print machine-readable JSON')
    .action(async (runbookName: string, options: StartOptions) => {
      const runbook = getRunbook(runbookName);
      const scope = scopeOf(options);
      if (!options.preflightOnly && !options.reason) throw new UsageError('--reason "<why>" is required to start a run.');
      const initiator = cliInitiator();
      await withDeps(async (deps) => {
        const request: StartRequest = {
          runbook: runbook.id,
          scope,
          initiator,
          reason: options.reason ?? '',
          source: 'cli',
          idempotencyKey: options.idempotencyKey ?? null,
          confirmation: options.confirm ?? null,
          preflightId: options.preflight ?? null,
        };
        if (!options.preflightOnly) await precheckStart(deps.database.pool, request);
        let preflight: SavedPreflight | null = null;
        if (!options.preflight || options.preflightOnly) {
          preflight = await runPreflight(deps.database.pool, { runbook, scope, initiator });
          if (options.preflightOnly) return printResult(Boolean(options.json), preflight, () => formatPreflight(preflight!));
          if (!options.json) progress(formatPreflight(preflight));
        }
        const { run, created } = await startRunbook(
          { pool: deps.database.pool, temporal: await deps.temporal(), config: deps.config },
          { ...request, preflightId: options.preflight ?? preflight!.id },
        );
        if (!options.json) {
          progress(`${created ? 'Started' : 'Already started (same idempotency key)'}: run ${run.id} (workflow ${run.workflowId}).`);
          if (!options.wait) progress(`Follow it with: tsx src/cli runs follow ${run.id}`);
        }
        if (!options.wait) return printResult(Boolean(options.json), { run, created, preflight }, () => `${run.id} ${progressText(run, runbook.unit)}`);
        const followed = await followRun(deps, run.id, runbook.unit);
        printFollowed(Boolean(options.json), followed, runbook.unit, { created, preflight });
      });
    });
}
