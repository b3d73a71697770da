import type { FiledResult } from '../runbooks/approvals/fileChange.js';
import { preflightAndStart } from '../runbooks/preflightAndStart.js';
import type { SavedPreflight } from '../runbooks/preflight.js';
import { parameterText } from '../runbooks/parameters.js';
import { progressText } from '../runbooks/progressText.js';
import { getRunbook } from '../runbooks/registry.js';
import type { StartRequest } from '../runbooks/validateStart.js';
import { runbookWindowState, windowStartText } from '../runbooks/windows/runWindows.js';
import type { WindowState } from '../runbooks/windows/windowSchedule.js';
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
 * Whether a run of the runbook started now would start its tenants at once, or wait for a change
 * window: what the CLI prints after the preflight (and `--json` gives as `window`).
 */
export function startWindow(deps: CliDeps, runbookId: string): Promise<WindowState> {
  return runbookWindowState(deps.database.pool, runbookId, deps.config.windowMinuteMs);
}

/** A start the approval policy holds: the request, and what the approvers run. */
function printFiled(
  filed: FiledResult & { preflight: SavedPreflight | null; window?: WindowState },
  json: boolean,
): void {
  const { changeRequest: request, created } = filed;
  const needed = request.approvalsRequired;
  if (!json) {
    progress(
      `${created ? 'Change request' : 'Already filed (same idempotency key): change request'} ${request.id} filed: needs ${needed} approval${needed === 1 ? '' : 's'}, by ${request.expiresAt.toISOString()}.`,
    );
    progress(
      `An approver runs: ${CLI} changes approve ${request.id} --as <email> --password-stdin --comment "<what they checked>"`,
    );
  }
  printResult(json, filed, () => `${request.id} ${request.status}`);
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
  // When the run would start its tenants: measured before anything is written, as its preflight is.
  let window: WindowState | undefined;
  let fresh = false;
  const printWindow = () => {
    if (window && !options.json) progress(windowStartText(window));
  };
  const started = await preflightAndStart(
    { pool: deps.database.pool, launcher: deps.launcher, approvals: deps.config.approvals },
    { ...request, preflightId: options.preflight ?? null },
    {
      onPreflight: (preflight) => {
        fresh = true;
        if (!options.json) progress(formatPreflight(preflight));
      },
      beforeStart: async () => {
        // None for a replay, which starts nothing new.
        if (fresh || options.preflight !== undefined) {
          window = await startWindow(deps, getRunbook(request.runbook).id);
        }
        // Under the fresh preflight; a named preflight's line waits until the start has taken it.
        if (fresh) printWindow();
        // Reach Temporal before anything is written: an unreachable server is exit 3 with no run recorded.
        return deps.temporal();
      },
    },
  ).catch((error: unknown) => {
    throw withFlagNames(error, request.runbook);
  });
  if (!started.created) window = undefined;
  else if (!fresh) printWindow();
  if ('changeRequest' in started) return printFiled({ ...started, window }, Boolean(options.json));
  const { run, created, preflight } = started;
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
      { run, created, preflight, window },
      () => `${run.id} ${printable(progressText(run, unit))}`,
    );
  const followed = await followRun(deps, run.id, unit);
  printFollowed(Boolean(options.json), followed, unit, { created, preflight, window });
}
