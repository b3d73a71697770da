import { inDeclaredOrder, parameterText } from '../../runbooks/parameters.js';
import { progressText } from '../../runbooks/progressText.js';
import { getRunbook } from '../../runbooks/registry.js';
import type { RunGuards } from '../../runbooks/model.js';
import { auditReason, findRetriesOf, getRunAuditTrail, getRunItems, type RunItemRecord } from '../../runbooks/runs.js';
import { describeScope } from '../../runbooks/scope.js';
import { formatGateDuration } from '../../runbooks/health/gateSettings.js';
import { gatesLine } from '../../runbooks/health/gateFields.js';
import { batchSizeText } from '../../runbooks/sizing/batchSizeText.js';
import type { RunRecord } from '../../runbooks/runs.js';
import { phaseOf, runClock } from '../../runbooks/runPhase.js';
import { withDeps } from '../deps.js';
import { CLI, heldHint, pauseHint } from '../hints.js';
import { instant, printResult } from '../output.js';
import { printable } from '../printable.js';
import { existingRun } from '../existingRun.js';

/** `runs show` lists this many tenants; a 10,000-tenant run's full list is for export. */
const SHOWN_ITEMS = 50;

/** The tenants that need a look first: failed, then cancelled, running, pending, succeeded. */
function failedFirst(items: RunItemRecord[]): RunItemRecord[] {
  const rank: Record<RunItemRecord['status'], number> = {
    failed: 0,
    cancelled: 1,
    running: 2,
    pending: 3,
    succeeded: 4,
  };
  return [...items].sort((a, b) => rank[a.status] - rank[b.status] || a.tenantId - b.tenantId);
}

function guardsLine(guards: RunGuards): string | null {
  const parts = [
    guards.maxFailedTenants !== undefined ? `pauses when more than ${guards.maxFailedTenants} tenants fail` : null,
    guards.maxFailedPercent !== undefined ? `pauses when more than ${guards.maxFailedPercent}% of tenants fail` : null,
    guards.canary ? `canary wave of ${guards.canary.count} tenant${guards.canary.count === 1 ? '' : 's'}` : null,
  ].filter(Boolean);
  return parts.length ? `  guards: ${parts.join('; ')}` : null;
}

/** How the run sizes its batches, and where an auto size stands (as of the run's last refresh). */
function sizingLine(run: RunRecord): string | null {
  const text = batchSizeText(run.settings, run.counts.batchSize);
  return text && `  ${text}`;
}

export async function runsShow(id: string, options: { json?: boolean }): Promise<void> {
  await withDeps(async ({ database }) => {
    const run = await existingRun(database.pool, id);
    const [items, audit, retries] = await Promise.all([
      getRunItems(database.pool, run.id),
      getRunAuditTrail(database.pool, run.id),
      findRetriesOf(database.pool, run.id),
    ]);
    printResult(Boolean(options.json), { run, items, audit, retries }, () =>
      [
        `Run ${run.id} — ${run.runbook} on ${printable(describeScope(run.scope))}`,
        `  ${printable(progressText(run, getRunbook(run.runbook).unit))}`,
        `  source ${run.source}, by ${printable(run.initiatorLabel, 200)}: "${printable(run.reason)}"`,
        ...inDeclaredOrder(getRunbook(run.runbook).parameters, run.parameters).map(
          ([name, value]) => `  parameter ${name}: ${printable(parameterText(value), 200)}`,
        ),
        `  as of ${instant(run.asOf)}`,
        `  created ${instant(run.createdAt)}, started ${instant(run.startedAt)}, completed ${instant(run.completedAt)}`,
        run.pausedAt ? `  ${pauseHint(run)}` : null,
        phaseOf(run) === 'held' ? `  ${heldHint(run)}` : null,
        run.heldMs > 0 || run.heldSince
          ? `  held by the health gates ${formatGateDuration(runClock(run, new Date()).heldMs)} in all`
          : null,
        `  health gates: ${gatesLine(run.settings.gates)}`,
        sizingLine(run),
        guardsLine(run.guards),
        run.retryOf ? `  retries the failed tenants of run ${run.retryOf}` : null,
        ...retries.map(
          (retry) => `  retried by run ${retry.id} (${retry.status}${retry.outcome ? `, ${retry.outcome}` : ''})`,
        ),
        run.error ? `  error: ${printable(run.error)}` : null,
        `Tenants (${items.length}${items.length > SHOWN_ITEMS ? `, failed first; the first ${SHOWN_ITEMS} shown` : ''}):`,
        ...failedFirst(items)
          .slice(0, SHOWN_ITEMS)
          .map(
            (item) =>
              `  ${printable(item.externalId, 80).padEnd(16)} ${item.status.padEnd(9)} changed ${item.counts.changed ?? 0} of ${item.counts.examined ?? 0}` +
              (item.error ? `  error: ${printable(item.error)}` : ''),
          ),
        items.length > SHOWN_ITEMS
          ? `  … and ${items.length - SHOWN_ITEMS} more: ${CLI} runs export ${run.id} (or runs show --json) lists them all`
          : null,
        'Audit trail:',
        ...audit.map((event) => {
          const reason = auditReason(event);
          return `  ${instant(event.occurredAt)}  ${event.action}  ${printable(event.actorLabel ?? event.actorKind, 200)}${reason ? `: "${printable(reason)}"` : ''}`;
        }),
      ]
        .filter((line) => line !== null)
        .join('\n'),
    );
  });
}
