import { loadConfig, type RunSettings } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { connectTemporal } from '../src/temporal/connection.js';
import { workflowIdFor } from '../src/temporal/workflowIds.js';
import type { BenchDatabases } from './databases.js';
import { readRunTree, summarizeTasks, tasksByWorker, type TaskSummary } from './histories.js';
import { profiled, round, type Profile } from './profile.js';
import type { BenchServer, WorkerProcess } from './processes.js';
import type { ServerCeiling } from './serverCeiling.js';
import { precheckAndPreflight, startAndWait } from './startRun.js';

export interface TinyRunFigures {
  server: BenchServer['kind'];
  workers: number;
  tenants: number;
  continueAsNewAfter: number;
  childParallelism: number;
  /** Start → completed. */
  seconds: number;
  tenantsPerSecond: number;
  /**
   * Per tenant (child workflow), from the histories: its tasks, one after the other, and its
   * wall time; divided by its tasks, the mean round trip (queue + execution + the server's part).
   */
  perTenant: { activities: number; workflowTasks: number; meanWallMs: number; meanRoundTripMs: number };
  /**
   * The parent's workflow tasks run one at a time, and each child's end waits for one (to start
   * the next child): the share of the run the parent spent in them or queued for them.
   */
  parent: { workflowTasks: number; busyShare: number };
  /** Events in each run of the parent's continue-as-new chain, the first run first. */
  parentHistoryEvents: number[];
  tasks: { children: Record<string, TaskSummary>; parent: Record<string, TaskSummary> };
  /** Tasks per worker identity (`<pid>@<host>`), children and parent together. */
  byWorker: Record<string, { activities: number; workflowTasks: number }>;
  profile: Profile;
}

/**
 * One all-tenants run over a fresh copy of a template of many tiny tenants, where nearly all
 * the time is orchestration. The copy is the database the workers already point at (a copy
 * replaces the last one under the same name; their pools reconnect).
 */
export async function measureTinyRun(options: {
  databases: BenchDatabases;
  template: string;
  role: string;
  server: BenchServer;
  workers: WorkerProcess[];
  settings?: Partial<RunSettings>;
  serverUrl: string;
}): Promise<TinyRunFigures> {
  const url = await options.databases.copy(options.template, options.role);
  const base = loadConfig({ ...process.env, DATABASE_URL: url, TEMPORAL_ADDRESS: options.server.address });
  const config = { ...base, runs: { ...base.runs, ...options.settings } };
  const database = openDatabase(url);
  const temporal = await connectTemporal(config.temporal);
  try {
    const deps = { pool: database.pool, temporal, config };
    const reason = `Bench: orchestration over tiny tenants (${options.server.kind}, ${options.workers.length} worker(s))`;
    const { preflight } = await precheckAndPreflight(database.pool, reason);
    const { result: finished, profile } = await profiled(
      {
        serverUrl: options.serverUrl,
        database: new URL(url).pathname.slice(1),
        processes: { workers: options.workers.map((worker) => worker.pid) },
        temporalPorts: [options.server.port],
      },
      () => startAndWait(deps, preflight, reason),
    );
    const tree = await readRunTree(temporal, workflowIdFor(finished.run.id));
    const children = summarizeTasks(tree.children);
    const tenants = tree.children.length;
    const activities = Object.entries(children).reduce(
      (sum, [type, summary]) => (type === 'workflow task' ? sum : sum + summary.count),
      0,
    );
    const workflowTasks = children['workflow task']?.count ?? 0;
    const meanWallMs = tree.children.reduce((sum, child) => sum + child.closeMs - child.startMs, 0) / tenants;
    const parentTasks = tree.parent.flatMap((run) => run.tasks).filter((task) => task.type === 'workflow task');
    const parentBusyMs = parentTasks.reduce((sum, task) => sum + task.scheduleToStartMs + task.executionMs, 0);
    return {
      server: options.server.kind,
      workers: options.workers.length,
      tenants: finished.run.counts.tenants ?? 0,
      continueAsNewAfter: config.runs.continueAsNewAfter,
      childParallelism: config.runs.childParallelism,
      seconds: finished.runSeconds,
      tenantsPerSecond: round((finished.run.counts.tenants ?? 0) / finished.runSeconds, 1),
      perTenant: {
        activities: round(activities / tenants, 1),
        workflowTasks: round(workflowTasks / tenants, 1),
        meanWallMs: Math.round(meanWallMs),
        meanRoundTripMs: round(meanWallMs / ((activities + workflowTasks) / tenants), 1),
      },
      parent: { workflowTasks: parentTasks.length, busyShare: round(parentBusyMs / 1000 / finished.runSeconds) },
      parentHistoryEvents: tree.parent.map((run) => run.events),
      tasks: { children, parent: summarizeTasks(tree.parent) },
      byWorker: tasksByWorker([...tree.parent, ...tree.children]),
      profile,
    };
  } finally {
    await temporal.connection.close();
    await database.close();
  }
}

export interface OrchestrationFigures {
  tenants: number;
  findingsPerTenant: number;
  inMemory: TinyRunFigures;
  fileBacked: TinyRunFigures;
  /** Empty children on the file-backed server at the same parallelism (bench/serverCeiling.ts). */
  serverCeiling: ServerCeiling;
  /** The file-backed run's tenants/s over the ceiling's children/s. */
  shareOfCeiling: number;
}
