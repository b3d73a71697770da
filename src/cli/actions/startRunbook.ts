import { UsageError } from '../../errors.js';
import type { RunbookDefinition } from '../../runbooks/definition.js';
import { runPreflight } from '../../runbooks/preflight.js';
import { getRunbook } from '../../runbooks/registry.js';
import type { ScopeInput } from '../../runbooks/scope.js';
import type { BatchSizeChoice } from '../../runbooks/sizing/batchSizeText.js';
import type { StartRequest } from '../../runbooks/validateStart.js';
import type { GuardsInput } from '../../runbooks/model.js';
import { windowStartText } from '../../runbooks/windows/runWindows.js';
import { withDeps } from '../deps.js';
import { cliInitiator } from '../initiator.js';
import { printResult } from '../output.js';
import { parametersFromFlags, withFlagNames } from '../parameterFlags.js';
import { formatPreflight, startFromCli, startWindow } from '../startFromCli.js';

export interface StartOptions {
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
  batchSize?: BatchSizeChoice;
  batchTarget?: number;
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

function scopeOf(options: StartOptions): ScopeInput {
  const tenants = options.tenant ?? [];
  if (options.allTenants && tenants.length > 0)
    throw new UsageError('Give either --tenant or --all-tenants, not both.');
  if (options.allTenants) return { kind: 'all_tenants' };
  if (tenants.length === 0)
    throw new UsageError('Choose a scope: --tenant <external_id> (repeatable, or comma-separated) or --all-tenants.');
  return { kind: 'tenants', externalIds: tenants };
}

/** `start-runbook`: `named` is the runbook whose parameters the command line's flags gave. */
export function startRunbook(named: RunbookDefinition | null) {
  return async (runbookName: string, options: StartOptions): Promise<void> => {
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
        const window = await startWindow(deps, preflight.report.runbook);
        return printResult(
          Boolean(options.json),
          { ...preflight, window },
          () => `${formatPreflight(preflight)}\n${windowStartText(window)}`,
        );
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
        sizing: { batchSize: options.batchSize, batchTargetMs: options.batchTarget },
      };
      await startFromCli(deps, request, options);
    });
  };
}
