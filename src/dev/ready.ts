import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { connectTemporal } from '../temporal/connection.js';

async function until(probe: () => Promise<boolean>): Promise<void> {
  while (!(await probe().catch(() => false))) await sleep(250);
}

/**
 * Whether the worker process `pid` polls its task queue, as the Temporal server sees it: by the
 * SDK's default identity, `pid@host`, so that a poller left over from an earlier worker does not count.
 */
async function workerPolls(client: Client, taskQueue: string, pid: number): Promise<boolean> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
  });
  return pollers.some((poller) => poller.identity?.startsWith(`${pid}@`));
}

/**
 * Resolves once the worker process `workerPid` polls and the console answers at all (a health
 * check that finds a dependency down still comes from a console that is up).
 */
export async function untilReady(config: Config, workerPid: number): Promise<void> {
  const client = await connectTemporal(config.temporal);
  try {
    await Promise.all([
      until(() => workerPolls(client, config.temporal.taskQueue, workerPid)),
      until(async () => {
        await fetch(`http://${config.host}:${config.port}/healthz`, { signal: AbortSignal.timeout(5_000) });
        return true;
      }),
    ]);
  } finally {
    await client.connection.close();
  }
}
