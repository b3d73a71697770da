import { and, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import { recordAudit } from '../audit/recordAudit.js';
import { orm } from '../db/orm.js';
import type { Connection } from '../db/orm.js';
import { operationRuns, runStops } from '../db/schema/index.js';
import { inTransaction } from '../db/transaction.js';
import { CAPABILITIES, requireCapability } from './capabilities.js';
import type { ControlDeps, ControlRequest } from './control.js';
import { auditActor, initiatorLabel } from './initiator.js';
import { STOP_ALL_PHRASE } from './model.js';
import { RunbookRefusal } from './refusal.js';
import { UnavailableError } from '../errors.js';
import { refreshRunCounts } from './runItems.js';
import { recordRunPause } from './runs.js';
import { validReason } from './validateStart.js';

/**
 * Starts take this lock shared while they write their run, and a stop takes it alone while it
 * lists the runs to pause: a start either sees the stop, or its run is among those paused.
 */
const STOP_LOCK = "hashtext('platform-ops:run-stops')";

/** The stop that holds now, if any. */
export interface RunStop {
  id: number;
  reason: string;
  stoppedBy: string;
  stoppedAt: Date;
  runIds: string[];
}

export async function currentStop(q: Connection): Promise<RunStop | null> {
  const [row] = await orm(q)
    .select({
      id: runStops.id,
      reason: runStops.reason,
      stoppedBy: runStops.stoppedByLabel,
      stoppedAt: runStops.createdAt,
      runIds: runStops.runIds,
    })
    .from(runStops)
    .where(isNull(runStops.liftedAt));
  return row ?? null;
}

const stoppedRefusal = (stop: RunStop) =>
  new RunbookRefusal(
    'runs_stopped',
    `Every run is stopped (by ${stop.stoppedBy} at ${stop.stoppedAt.toISOString()}: "${stop.reason}"); ` +
      'nothing starts until someone resumes them all (runs resume-all).',
  );

/**
 * Refuses a start while a stop holds. In a start's transaction (`locked`), it waits for a stop
 * being written and keeps one from listing the runs until the start's run is written.
 */
export async function refuseWhileStopped(q: Connection, options: { locked?: boolean } = {}): Promise<void> {
  if (options.locked) await q.query(`SELECT pg_advisory_xact_lock_shared(${STOP_LOCK})`);
  const stop = await currentStop(q);
  if (stop) throw stoppedRefusal(stop);
}

export interface StopAllRequest extends Omit<ControlRequest, 'runId'> {
  reason: string;
  /** The typed confirmation, exactly `STOP ALL RUNS`. */
  confirmation: string | null;
}

/** What a stop did: the runs it paused, and those whose workflow it could not tell (their batches stop all the same). */
export interface StopAllResult {
  stop: RunStop;
  paused: string[];
  untold: string[];
}

/**
 * Pauses every active run (running or queued; those already paused stay as they are) and holds
 * every start until `resumeAllRuns`. Each run is recorded paused at once, with the stop's reason,
 * and its workflow is told: its tenants finish the batch they are in and take no other. Audited
 * once, with the runs it paused.
 */
export async function stopAllRuns(deps: ControlDeps, request: StopAllRequest): Promise<StopAllResult> {
  requireCapability(request.initiator, CAPABILITIES.runsManage, 'stop every run');
  const reason = validReason(request.reason);
  if (request.confirmation !== STOP_ALL_PHRASE) {
    throw new RunbookRefusal(
      'confirmation',
      `Stopping every run needs the typed confirmation "${STOP_ALL_PHRASE}" exactly.`,
    );
  }
  const by = initiatorLabel(request.initiator);
  const stop = await inTransaction(deps.pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(${STOP_LOCK})`);
    const holding = await currentStop(client);
    if (holding)
      throw new RunbookRefusal(
        'runs_stopped',
        `Every run is already stopped (by ${holding.stoppedBy}: "${holding.reason}").`,
      );
    const active = await orm(client)
      .select({ id: operationRuns.id })
      .from(operationRuns)
      .where(and(ne(operationRuns.status, 'completed'), isNull(operationRuns.pausedAt)))
      .for('update');
    const runIds = active.map((run) => run.id);
    for (const runId of runIds) await recordRunPause(client, runId, { by, reason });
    const [row] = await orm(client)
      .insert(runStops)
      .values({
        reason,
        stoppedByLabel: by,
        stoppedByPlatformUserId: request.initiator.kind === 'platform_user' ? request.initiator.id : null,
        runIds,
      })
      .returning({ id: runStops.id, stoppedAt: runStops.createdAt });
    return { id: row!.id, reason, stoppedBy: by, stoppedAt: row!.stoppedAt, runIds };
  });
  // Recorded first: a batch asks its run whether it is paused before it starts, so a workflow
  // told late, or not at all (the server is down), takes no new batch anyway.
  const told = await Promise.allSettled(stop.runIds.map((runId) => deps.launcher.pause(runId, by)));
  const untold = stop.runIds.filter((_, n) => told[n]!.status === 'rejected');
  await Promise.all(stop.runIds.map((runId) => refreshRunCounts(deps.pool, runId)));
  await recordAudit(deps.pool, {
    ...auditActor(request.initiator, request.context),
    action: 'runbook.stopped_all',
    targetKind: 'run_stop',
    targetId: String(stop.id),
    metadata: { reason, source: request.source, runs: stop.runIds },
  });
  return { stop, paused: stop.runIds, untold };
}

/**
 * Lifts the stop: resumes the runs it paused that are still paused by it and not completed
 * (one an operator resumed or cancelled meanwhile is left as it is), and lets starts through.
 */
export async function resumeAllRuns(
  deps: ControlDeps,
  request: Omit<ControlRequest, 'runId'> & { reason: string },
): Promise<{ stop: RunStop; resumed: string[] }> {
  requireCapability(request.initiator, CAPABILITIES.runsManage, 'resume every run');
  const reason = validReason(request.reason);
  const by = initiatorLabel(request.initiator);
  const holding = await currentStop(deps.pool);
  if (!holding) throw new RunbookRefusal('not_stopped', 'No stop holds: every run goes on as it was.');
  const resumed = await stillPausedBy(deps.pool, holding);
  // Told before their runs are recorded as resumed, as one resume is: a workflow that cannot be
  // told would wait for ever, so nothing is lifted until all are (their runs stay paused till then).
  const told = await Promise.allSettled(resumed.map((runId) => deps.launcher.resume(runId, by)));
  const untold = resumed.filter((_, n) => told[n]!.status === 'rejected');
  if (untold.length > 0) {
    throw new UnavailableError(
      `${deps.launcher.name} could not be told to resume ${untold.length} run(s) (${untold.join(', ')}); every run stays stopped. Try again once it answers.`,
    );
  }
  await inTransaction(deps.pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(${STOP_LOCK})`);
    const lifted = await orm(client)
      .update(runStops)
      .set({ liftedAt: sql`now()`, liftedByLabel: by, liftReason: reason })
      .where(and(eq(runStops.id, holding.id), isNull(runStops.liftedAt)))
      .returning({ id: runStops.id });
    if (lifted.length === 0) throw new RunbookRefusal('not_stopped', 'Someone else resumed every run meanwhile.');
    for (const runId of resumed) await recordRunPause(client, runId, null);
  });
  await recordAudit(deps.pool, {
    ...auditActor(request.initiator, request.context),
    action: 'runbook.resumed_all',
    targetKind: 'run_stop',
    targetId: String(holding.id),
    metadata: { reason, source: request.source, runs: resumed },
  });
  return { stop: holding, resumed };
}

/**
 * The runs a stop paused that are still paused by it and not completed: one an operator resumed,
 * paused again or cancelled meanwhile is theirs now.
 */
async function stillPausedBy(q: Connection, stop: RunStop): Promise<string[]> {
  if (stop.runIds.length === 0) return [];
  const rows = await orm(q)
    .select({ id: operationRuns.id })
    .from(operationRuns)
    .where(
      and(
        inArray(operationRuns.id, stop.runIds),
        ne(operationRuns.status, 'completed'),
        eq(operationRuns.pausedBy, stop.stoppedBy),
        eq(operationRuns.pauseReason, stop.reason),
      ),
    );
  return rows.map(({ id }) => id);
}
