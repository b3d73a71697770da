import type pg from 'pg';
import type { RunbookDefinition } from './definition.js';
import { runbookTitle, runbooksWriting } from './registry.js';
import { RunbookRefusal } from './refusal.js';
import { phaseOf } from './runPhase.js';
import { findActiveRuns, type RunRecord } from './runs.js';
import { describeScope, scopesOverlap } from './scope.js';
import type { StoredScope } from './model.js';

/**
 * The active run (of this runbook, or of one that writes the same data) that already covers part
 * of this scope, or null: a start is refused while there is one, and the preflight says so first.
 */
export async function findOverlappingRun(
  q: pg.Pool | pg.PoolClient,
  runbook: RunbookDefinition,
  scope: StoredScope,
): Promise<RunRecord | null> {
  const active = await findActiveRuns(q, runbooksWriting(runbook));
  return active.find((run) => scopesOverlap(run.scope, scope)) ?? null;
}

/** Why a run over a scope that `holder` covers cannot start, with the holder as it is now. */
export function overlapRefusal(holder: RunRecord, runbook: RunbookDefinition): RunbookRefusal {
  const other = holder.runbook !== runbook.id;
  return new RunbookRefusal(
    'overlapping_run',
    `Run ${holder.id}${other ? ` of ${runbookTitle(holder.runbook)}` : ''} ` +
      `(${phaseOf(holder)}, ${describeScope(holder.scope)}, by ${holder.initiatorLabel})` +
      `${other ? `, which writes ${runbook.writes} too,` : ''} already covers this scope; wait for it to finish or cancel it.`,
  );
}
