import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { runPreflight, type SavedPreflight } from '../../runbooks/preflight.js';
import { progressText } from '../../runbooks/progressText.js';
import type { RunbookDefinition } from '../../runbooks/definition.js';
import { parameterFields, parameterText } from '../../runbooks/parameters.js';
import { getRunbook, RUNBOOKS } from '../../runbooks/registry.js';
import type { ScopeInput } from '../../runbooks/scope.js';
import { preflightAndStart } from '../../runbooks/preflightAndStart.js';
import { ALL_TENANTS_PHRASE, type GuardsInput, type StartRequest } from '../../runbooks/validateStart.js';
import { withDeps, type CliDeps } from '../deps.js';
import { followRun, printFollowed } from '../followRun.js';
import { CLI } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printResult, progress } from '../output.js';
import { printable } from '../printable.js';
import { wholeNumber } from '../options.js';
import { addParameterFlags, flagOf, flagOfParameter, parametersFromFlags, withFlagNames } from '../parameterFlags.js';

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
  maxFailedTenants?: number;
  maxFailedPercent?: number;
  canary?: number;
  canaryTenants?: string;
}

function guardsOf(options: StartOptions): GuardsInput | undefined {
  const tenants = options.canaryTenants
    ?.split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const canary = options.canary !== undefined || tenants?.length ? { count: options.canary, tenants } : undefined;
  if (options.maxFailedTenants === undefined && options.maxFailedPercent === undefined && !canary) return undefined;
  return { maxFailedTenants: options.maxFailedTenants, maxFailedPercent: options.maxFailedPercent, canary };
}

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

function scopeOf(options: StartOptions): ScopeInput {
  const tenants = options.tenant ?? [];
  if (options.allTenants && tenants.length > 0)
    throw new UsageError('Give either --tenant or --all-tenants, not both.');
  if (options.allTenants) return { kind: 'all_tenants' };
  if (tenants.length === 0)
    throw new UsageError('Choose a scope: --tenant <external_id> (repeatable, or comma-separated) or --all-tenants.');
  return { kind: 'tenants', externalIds: tenants };
}

function formatPreflight(preflight: SavedPreflight): string {
  const { report } = preflight;
  const lines = [
    `Preflight ${preflight.id} — ${report.title} on ${printable(report.scope.description)}`,
    ...Object.entries(report.parameters).map(
      ([name, value]) =>
        `  ${(flagOfParameter(report.runbook, name) + ':').padEnd(20)}${printable(parameterText(value), 200)}`,
    ),
    `  as of:              ${report.asOf}`,
    `  tenants in scope:   ${report.tenantsInScope.toLocaleString('en-US')}`,
    `  ${report.unit} in scope:  ${report.inScope.toLocaleString('en-US')}`,
    `  ${report.unit} to change: ${report.toChange.toLocaleString('en-US')}`,
  ];
  const fields = Object.entries(report.breakdown).filter(([, count]) => count > 0);
  if (fields.length)
    lines.push(`  by field: ${fields.map(([field, count]) => `${field} ${count.toLocaleString('en-US')}`).join(', ')}`);
  if (report.topTenants.length) {
    lines.push(
      `  most changes: ${report.topTenants
        .slice(0, 5)
        .map((t) => `${printable(t.externalId, 80)} (${t.toChange})`)
        .join(', ')}`,
    );
  }
  return lines.join('\n');
}

/**
 * The runbook a command line starts, when it names a registered one (`start-runbook <name> …`):
 * its parameters become flags of the command before commander parses it.
 */
function runbookNamedIn(argv: readonly string[]): RunbookDefinition | null {
  const at = argv.indexOf('start-runbook');
  const name = at < 0 ? undefined : argv.slice(at + 1).find((arg) => !arg.startsWith('-'));
  return RUNBOOKS.find((runbook) => runbook.cliName === name || runbook.id === name) ?? null;
}

function catalogHelp(): string {
  const lines = ['', 'Runbooks (give one to see its parameters: start-runbook <runbook> --help):'];
  for (const runbook of RUNBOOKS) {
    const flags = parameterFields(runbook.parameters).map(flagOf);
    lines.push(`  ${runbook.cliName.padEnd(24)} ${runbook.title}${flags.length ? `; ${flags.join(' ')}` : ''}`);
  }
  return lines.join('\n');
}

export function registerStartRunbookCommand(program: Command, argv: readonly string[]): void {
  const named = runbookNamedIn(argv);
  const command = program
    .command('start-runbook')
    .description(
      named
        ? `Preflight and start ${named.title} (${named.cliName}) for tenants or all tenants`
        : 'Preflight and start a runbook for tenants or all tenants',
    )
    .argument('<runbook>', `the runbook: ${RUNBOOKS.map((runbook) => runbook.cliName).join(', ')}`)
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
    .option('--wait', 'follow the run to its end; exit 0 only when it succeeded')
    .option('--json', 'print machine-readable JSON');
  if (named) addParameterFlags(command, named);
  else command.addHelpText('after', catalogHelp());
  command.action(async (runbookName: string, options: StartOptions) => {
    const scope = scopeOf(options);
    if (options.preflight !== undefined && options.preflight.trim() === '') {
      throw new UsageError('--preflight needs the id of a saved preflight; leave it out to run a fresh one.');
    }
    if (!options.preflightOnly && !options.reason) throw new UsageError('--reason "<why>" is required to start a run.');
    const initiator = cliInitiator();
    await withDeps(async (deps) => {
      const { pool } = deps.database;
      const parameters = named ? parametersFromFlags(named, options) : {};
      if (options.preflightOnly) {
        const preflight = await runPreflight(pool, {
          runbook: getRunbook(runbookName),
          scope,
          parameters,
          initiator,
        }).catch((error: unknown) => {
          throw withFlagNames(error, runbookName);
        });
        return printResult(Boolean(options.json), preflight, () => formatPreflight(preflight));
      }
      const request: StartRequest = {
        runbook: runbookName,
        scope,
        parameters,
        initiator,
        reason: options.reason ?? '',
        source: 'cli',
        idempotencyKey: options.idempotencyKey ?? null,
        confirmation: options.confirm ?? null,
        preflightId: options.preflight ?? null,
        guards: guardsOf(options),
      };
      await startFromCli(deps, request, options);
    });
  });
}

/**
 * The CLI's way through the one starter, for `start-runbook` and `runs retry-failed`: refuse a
 * bad request and find a replay before spending a preflight on either (`precheckStart`), print
 * the preflight, start, and print or follow the run.
 */
export async function startFromCli(
  deps: CliDeps,
  request: StartRequest,
  options: { json?: boolean; wait?: boolean; preflight?: string },
): Promise<void> {
  const { run, created, preflight } = await preflightAndStart(
    { pool: deps.database.pool, launcher: deps.launcher },
    { ...request, preflightId: options.preflight ?? null },
    {
      onPreflight: (fresh) => {
        if (!options.json) progress(formatPreflight(fresh));
      },
      // Reach Temporal before anything is written: an unreachable server is exit 3 with no run recorded.
      beforeStart: () => deps.temporal(),
    },
  ).catch((error: unknown) => {
    throw withFlagNames(error, request.runbook);
  });
  const unit = getRunbook(run.runbook).unit;
  if (!options.json) {
    progress(
      `${created ? 'Started' : 'Already started (same idempotency key)'}: run ${run.id} (workflow ${run.workflowId}).`,
    );
    if (!options.wait) progress(`Follow it with: ${CLI} runs follow ${run.id}`);
  }
  if (!options.wait)
    return printResult(
      Boolean(options.json),
      { run, created, preflight },
      () => `${run.id} ${printable(progressText(run, unit))}`,
    );
  const followed = await followRun(deps, run.id, unit);
  printFollowed(Boolean(options.json), followed, unit, { created, preflight });
}
