import type pg from 'pg';
import type { SavedPreflight } from '../src/runbooks/preflight.js';
import { workflowIdFor } from '../src/temporal/workflowIds.js';
import { readRunTree, summarizeTasks, type TaskSummary } from './histories.js';
import type { PhysicalLimit } from './physicalLimit.js';
import type { PreflightFigures } from './preflight.js';
import { profiled, round, type Profile, type ProfileTarget } from './profile.js';
import type { WorkerProcess } from './processes.js';
import { startAndWait, type BenchDeps } from './startRun.js';

export interface RunbookFigures {
  runId: string;
  tenants: number;
  examined: number;
  changed: number;
  batches: number;
  /** The environment's: `batchTargetMs` is the target of auto sizing (`batchSize` its start), null for a fixed size. */
  settings: { batchSize: number; batchTargetMs: number | null; childParallelism: number; continueAsNewAfter: number };
  /** Start → completed. */
  seconds: number;
  findingsPerSecond: number;
  changedPerSecond: number;
  ratioToPhysical: number;
  /** Precheck + preflight + start + run, as the CLI goes through them. */
  endToEnd: { seconds: number; ratioToPhysical: number };
  /**
   * Where the wall time went, in seconds. Batches and verification are the summed time of their
   * statements (as the items record it) divided by the tenants run at once (as if every slot were busy with them); the rest of
   * the run is orchestration: workflow tasks, bookkeeping activities, waiting for pollers and
   * slots left idle.
   */
  split: {
    precheck: number;
    preflight: number;
    start: number;
    /** The drift check the start makes, timed apart just before it (bench/preflight.ts). */
    driftCheck: number;
    batches: number;
    verification: number;
    orchestration: number;
  };
  /** Activities and workflow tasks of the children and of the parent, from their histories. */
  tasks: { children: Record<string, TaskSummary>; parent: Record<string, TaskSummary> };
  /** Summed child wall time over (tenants at once × run time): how full the slots were. */
  slotOccupancy: number;
  /** The worker's resident memory in MiB: its peak (start-up and run), the peak it had at start-up alone, and after the run. */
  workerMemoryMiB: { peak: number; peakAtReady: number | null; afterRun: number };
  profile: Profile;
}

/** The batches' statements and the verifications of all the run's tenants, as their items record them. */
async function secondsSpent(pool: pg.Pool, runId: string): Promise<{ batches: number; verification: number }> {
  const { rows } = await pool.query<{ batches: number; verification: number }>(
    `SELECT coalesce(sum((counts -> 'spentMs' ->> 'batches')::bigint), 0) / 1000.0 AS batches,
            coalesce(sum((counts -> 'spentMs' ->> 'verification')::bigint), 0) / 1000.0 AS verification
       FROM operation_run_items WHERE run_id = $1`,
    [runId],
  );
  return { batches: Number(rows[0]?.batches ?? 0), verification: Number(rows[0]?.verification ?? 0) };
}

/** Item 2: an all-tenants run against the preflight just measured, on its own copy. */
export async function measureRunbookRun(options: {
  deps: BenchDeps;
  preflight: { saved: SavedPreflight; figures: PreflightFigures };
  physical: PhysicalLimit;
  worker: WorkerProcess;
  profileTarget: ProfileTarget;
  reason: string;
}): Promise<RunbookFigures> {
  const { deps, physical, worker } = options;
  const { result: finished, profile } = await profiled(options.profileTarget, () =>
    startAndWait(deps, options.preflight.saved, options.reason),
  );
  const memory = worker.memoryMiB();
  const { run, runSeconds, startSeconds } = finished;
  const tree = await readRunTree(deps.temporal, workflowIdFor(run.id));
  const children = summarizeTasks(tree.children);
  const parallelism = deps.config.runs.childParallelism;
  const spent = await secondsSpent(deps.pool, run.id);
  const batches = spent.batches / parallelism;
  const verification = spent.verification / parallelism;
  const childWallSeconds = tree.children.reduce((sum, child) => sum + (child.closeMs - child.startMs) / 1000, 0);
  const examined = run.counts.examined ?? 0;
  const f = options.preflight.figures;
  const endToEnd = f.precheckSeconds + f.preflightSeconds + runSeconds;
  return {
    runId: run.id,
    tenants: run.counts.tenants ?? 0,
    examined,
    changed: run.counts.changed ?? 0,
    batches: run.counts.batches ?? 0,
    settings: {
      batchSize: deps.config.runs.batchSize,
      batchTargetMs: deps.config.runs.batchTargetMs ?? null,
      childParallelism: parallelism,
      continueAsNewAfter: deps.config.runs.continueAsNewAfter,
    },
    seconds: runSeconds,
    findingsPerSecond: Math.round(examined / runSeconds),
    changedPerSecond: Math.round((run.counts.changed ?? 0) / runSeconds),
    ratioToPhysical: round(runSeconds / physical.seconds),
    endToEnd: { seconds: round(endToEnd, 3), ratioToPhysical: round(endToEnd / physical.seconds) },
    split: {
      precheck: f.precheckSeconds,
      preflight: f.preflightSeconds,
      start: startSeconds,
      driftCheck: f.driftCheckSeconds,
      batches: round(batches),
      verification: round(verification),
      orchestration: round(runSeconds - startSeconds - batches - verification),
    },
    tasks: { children, parent: summarizeTasks(tree.parent) },
    slotOccupancy: round(childWallSeconds / (parallelism * runSeconds)),
    workerMemoryMiB: { peak: memory.peak, peakAtReady: worker.peakAtReadyMiB, afterRun: memory.now },
    profile,
  };
}
