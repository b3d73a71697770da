// The least a fan-out can be on a Temporal server: children that do nothing, started by a
// parent that does nothing else. bench/serverCeiling.ts runs it beside the runbook's tiny tenants.
import { condition, executeChild, workflowInfo } from '@temporalio/workflow';

export async function emptyChild(): Promise<void> {}

/** `children` empty children, `parallelism` at once; resolves when every one has completed. */
export async function emptyFanOut(children: number, parallelism: number): Promise<void> {
  let running = 0;
  const all: Promise<void>[] = [];
  for (let index = 0; index < children; index++) {
    await condition(() => running < parallelism);
    running++;
    const child = executeChild(emptyChild, { workflowId: `${workflowInfo().workflowId}/child-${index}` });
    all.push(child.then(() => void running--));
  }
  await Promise.all(all);
}
