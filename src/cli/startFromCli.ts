import { preflightAndStart } from '../runbooks/preflightAndStart.js';
import type { SavedPreflight } from '../runbooks/preflight.js';
import { parameterText } from '../runbooks/parameters.js';
import { progressText } from '../runbooks/progressText.js';
import { getRunbook } from '../runbooks/registry.js';
import type { StartRequest } from '../runbooks/validateStart.js';
import type { CliDeps } from './deps.js';
import { followRun, printFollowed } from './followRun.js';
import { CLI } from './hints.js';
import { printResult, progress } from './output.js';
import { flagOfParameter, withFlagNames } from './parameterFlags.js';
import { printable } from './printable.js';

export function formatPreflight(preflight: SavedPreflight): string {
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
