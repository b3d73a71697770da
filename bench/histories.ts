import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type { temporal } from '@temporalio/proto';
import { round } from './profile.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** One task a worker took: from scheduled to started (waiting for a poller) and to closed. */
interface TaskRecord {
  /** The activity type, or `workflow task`. */
  type: string;
  identity: string;
  scheduleToStartMs: number;
  executionMs: number;
}

/** One run (one execution of a workflow id) as its history tells it. */
export interface RunHistory {
  workflowId: string;
  runId: string;
  events: number;
  startMs: number;
  closeMs: number;
  tasks: TaskRecord[];
  children: Array<{ workflowId: string; runId: string }>;
  /** The run it was continued from, when it was. */
  continuedFrom: string | null;
}

const timeOf = (event: HistoryEvent) => tsToMs(event.eventTime);

function readHistory(workflowId: string, runId: string, events: HistoryEvent[]): RunHistory {
  const byId = new Map(events.map((event) => [Number(event.eventId), event]));
  const tasks: TaskRecord[] = [];
  const children: RunHistory['children'] = [];
  const closedTask = (
    scheduledId: unknown,
    startedId: unknown,
    closed: HistoryEvent,
    type: (scheduled: HistoryEvent) => string,
  ) => {
    const scheduled = byId.get(Number(scheduledId));
    const started = byId.get(Number(startedId));
    if (!scheduled || !started) return;
    const identity =
      started.activityTaskStartedEventAttributes?.identity ??
      started.workflowTaskStartedEventAttributes?.identity ??
      '';
    tasks.push({
      type: type(scheduled),
      identity,
      scheduleToStartMs: timeOf(started) - timeOf(scheduled),
      executionMs: timeOf(closed) - timeOf(started),
    });
  };
  for (const event of events) {
    const activity =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (activity) {
      closedTask(
        activity.scheduledEventId,
        activity.startedEventId,
        event,
        (s) => s.activityTaskScheduledEventAttributes?.activityType?.name ?? '?',
      );
    }
    const workflowTask = event.workflowTaskCompletedEventAttributes ?? event.workflowTaskFailedEventAttributes;
    if (workflowTask)
      closedTask(workflowTask.scheduledEventId, workflowTask.startedEventId, event, () => 'workflow task');
    const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (child?.workflowId && child.runId) children.push({ workflowId: child.workflowId, runId: child.runId });
  }
  const first = events[0];
  const last = events.at(-1);
  return {
    workflowId,
    runId,
    events: events.length,
    startMs: first ? timeOf(first) : 0,
    closeMs: last ? timeOf(last) : 0,
    tasks,
    children,
    continuedFrom: first?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || null,
  };
}

async function readRun(client: Client, workflowId: string, runId?: string): Promise<RunHistory> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const resolvedRunId = runId ?? (await handle.describe()).runId;
  const history = await client.workflow.getHandle(workflowId, resolvedRunId).fetchHistory();
  return readHistory(workflowId, resolvedRunId, history.events ?? []);
}

/** Every run of a workflow id's continue-as-new chain, the first one first. */
async function readChain(client: Client, workflowId: string): Promise<RunHistory[]> {
  const chain = [await readRun(client, workflowId)];
  for (let from = chain[0]!.continuedFrom; from; from = chain[0]!.continuedFrom)
    chain.unshift(await readRun(client, workflowId, from));
  return chain;
}

/** A run's parent chain and every child any run of it started (read a few at a time). */
export async function readRunTree(
  client: Client,
  workflowId: string,
): Promise<{ parent: RunHistory[]; children: RunHistory[] }> {
  const parent = await readChain(client, workflowId);
  const pending = parent.flatMap((run) => run.children);
  const children: RunHistory[] = [];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let next = pending.shift(); next; next = pending.shift())
        children.push(await readRun(client, next.workflowId, next.runId));
    }),
  );
  return { parent, children };
}

export interface TaskSummary {
  count: number;
  /** Summed over every task: busy time, in task-seconds. */
  executionSeconds: number;
  meanExecutionMs: number;
  meanScheduleToStartMs: number;
}

/** Tasks by type (activity type or `workflow task`). */
export function summarizeTasks(runs: RunHistory[]): Record<string, TaskSummary> {
  const byType = new Map<string, { count: number; execution: number; queue: number }>();
  for (const task of runs.flatMap((run) => run.tasks)) {
    const entry = byType.get(task.type) ?? { count: 0, execution: 0, queue: 0 };
    entry.count++;
    entry.execution += task.executionMs;
    entry.queue += task.scheduleToStartMs;
    byType.set(task.type, entry);
  }
  return Object.fromEntries(
    [...byType].map(([type, e]) => [
      type,
      {
        count: e.count,
        executionSeconds: round(e.execution / 1000),
        meanExecutionMs: round(e.execution / e.count, 1),
        meanScheduleToStartMs: round(e.queue / e.count, 1),
      },
    ]),
  );
}

/** Tasks taken per worker identity: activities and workflow tasks apart. */
export function tasksByWorker(runs: RunHistory[]): Record<string, { activities: number; workflowTasks: number }> {
  const byWorker: Record<string, { activities: number; workflowTasks: number }> = {};
  for (const task of runs.flatMap((run) => run.tasks)) {
    const entry = (byWorker[task.identity] ??= { activities: 0, workflowTasks: 0 });
    if (task.type === 'workflow task') entry.workflowTasks++;
    else entry.activities++;
  }
  return byWorker;
}
