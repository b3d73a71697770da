import { round } from './profile.js';
import type { WorkerProcess } from './processes.js';
import type { TinyRunFigures } from './orchestration.js';

/** Temporal warns about a workflow whose history passes this many events. */
const HISTORY_WARNING_EVENTS = 10_240;

export interface ScaleOutFigures {
  continueAsNewAfter: number;
  oneWorker: TinyRunFigures;
  twoWorkers: TinyRunFigures;
  /** Tenants/s with two workers over tenants/s with one, same settings and server. */
  speedup: number;
  /** The two-worker run's parent chain: events per continuation, and the largest. */
  parentHistoryEvents: number[];
  maxParentHistoryEvents: number;
  historyWarningEvents: number;
  /** Activities and workflow tasks each worker process took in the two-worker run. */
  byWorker: Array<{
    name: string;
    pid: number;
    activities: number;
    workflowTasks: number;
    peakRssMiB: number;
    peakAtReadyMiB: number | null;
  }>;
  bothWorkersTookWork: boolean;
}

/** Item 6 from its two runs: which worker took what, by the identities in the histories. */
export function scaleOutFigures(
  oneWorker: TinyRunFigures,
  twoWorkers: TinyRunFigures,
  workers: Array<{ name: string; process: WorkerProcess }>,
): ScaleOutFigures {
  const byWorker = workers.map(({ name, process }) => {
    const taken = Object.entries(twoWorkers.byWorker)
      .filter(([identity]) => identity.startsWith(process.identityPrefix))
      .reduce(
        (sum, [, tasks]) => ({
          activities: sum.activities + tasks.activities,
          workflowTasks: sum.workflowTasks + tasks.workflowTasks,
        }),
        {
          activities: 0,
          workflowTasks: 0,
        },
      );
    return {
      name,
      pid: process.pid,
      ...taken,
      peakRssMiB: process.memoryMiB().peak,
      peakAtReadyMiB: process.peakAtReadyMiB,
    };
  });
  return {
    continueAsNewAfter: twoWorkers.continueAsNewAfter,
    oneWorker,
    twoWorkers,
    speedup: round(twoWorkers.tenantsPerSecond / oneWorker.tenantsPerSecond),
    parentHistoryEvents: twoWorkers.parentHistoryEvents,
    maxParentHistoryEvents: Math.max(...twoWorkers.parentHistoryEvents),
    historyWarningEvents: HISTORY_WARNING_EVENTS,
    byWorker,
    // A tenant's work is mostly a local activity inside a workflow task: either kind of task counts.
    bothWorkersTookWork: byWorker.every((worker) => worker.activities + worker.workflowTasks > 0),
  };
}
