import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { emptyFanOut } from './ceiling/workflows.js';
import type { BenchServer } from './processes.js';
import { round } from './profile.js';

export interface ServerCeiling {
  server: BenchServer['kind'];
  children: number;
  childParallelism: number;
  seconds: number;
  /** Empty children completed per second: the most any fan-out gets from this server and machine. */
  childrenPerSecond: number;
}

const TASK_QUEUE = 'bench-server-ceiling';
// The SDK's runtime is installed once a process, before its first native connection.
let runtimeInstalled = false;
const WORKFLOWS = fileURLToPath(new URL('./ceiling/workflows.ts', import.meta.url));

/**
 * Item 5's ceiling: as many child workflows as the tiny-tenant run has tenants, at its
 * parallelism, on the same server, each doing nothing. A worker in this process serves them (the
 * runbook's workers stay idle meanwhile). What the runbook's tenants/s falls short of this is
 * its own doing; what this falls short of a target is the server's and the machine's.
 */
export async function measureServerCeiling(
  server: BenchServer,
  options: { children: number; childParallelism: number },
): Promise<ServerCeiling> {
  // Its core would log on stderr, where the bench's progress goes (and warn that the workflows use no activity).
  if (!runtimeInstalled) Runtime.install({ logger: new DefaultLogger('ERROR') });
  runtimeInstalled = true;
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS, logger: new DefaultLogger('WARN') });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  try {
    const worker = await Worker.create({ connection: nativeConnection, taskQueue: TASK_QUEUE, workflowBundle });
    const client = new Client({ connection });
    const seconds = await worker.runUntil(async () => {
      const started = performance.now();
      await client.workflow.execute<typeof emptyFanOut>('emptyFanOut', {
        taskQueue: TASK_QUEUE,
        workflowId: `bench-ceiling-${process.pid}-${Date.now()}`,
        args: [options.children, options.childParallelism],
      });
      return (performance.now() - started) / 1000;
    });
    return {
      server: server.kind,
      ...options,
      seconds: round(seconds, 3),
      childrenPerSecond: round(options.children / seconds, 1),
    };
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
}
