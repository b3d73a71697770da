// The worker process as npm start, the bench and production run it: compiled JavaScript and a
// prebuilt workflow bundle, started with the memory settings below. Each of those builds it right
// before it starts the worker, so a worker never runs code older than the sources it started from.
import { join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type Logger } from '@temporalio/worker';
import { buildCli, CLI_ENTRY, writeWhole } from '../cli/compile.mjs';
import { PROJECT_ROOT } from '../dev/projectRoot.js';
import { WORKFLOWS_PATH } from './worker.js';

export interface WorkerBuild {
  /** The compiled CLI's entry (src/cli/compile.mjs). */
  cli: string;
  /** The workflow code, for `worker --workflow-bundle`. */
  workflowBundle: string;
}

const WORKER_BUILD: WorkerBuild = {
  cli: CLI_ENTRY,
  workflowBundle: join(PROJECT_ROOT, 'dist', 'workflow-bundle.js'),
};

/**
 * The SDK's webpack bundle of the workflow code. A worker that bundles for itself (started
 * without --workflow-bundle) keeps webpack's peak, over 100 MiB, in its resident memory.
 */
export async function writeWorkflowBundle(file: string, logger?: Logger): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger });
  await writeWhole(file, code);
}

/** Webpack's progress lines are left out; its warnings and errors are printed. */
export async function buildWorker(): Promise<WorkerBuild> {
  await Promise.all([
    // Running compiled JavaScript rather than tsx saves the worker about 30 MiB: tsx's loader thread and its compiled sources.
    buildCli(),
    writeWorkflowBundle(WORKER_BUILD.workflowBundle, new DefaultLogger('WARN')),
  ]);
  return WORKER_BUILD;
}

/**
 * How to start the built worker, with two memory settings (measured on all-tenants runs of 200
 * tenants: peak 249–257 MiB without either, 181–193 MiB with both). V8's young generation is
 * 2 × 16 MiB per isolate by default and the worker has two isolates, its main thread and the SDK's
 * workflow thread: at 4 MiB a semi-space its GC time grows by well under a second per run. glibc
 * gives the threads of the SDK's core malloc arenas of their own: two arenas keep about 30 MiB less resident.
 */
export function workerCommand(
  built: WorkerBuild,
  args: readonly string[] = [],
): { command: string; args: string[]; env: Record<string, string> } {
  return {
    command: process.execPath,
    args: ['--max-semi-space-size=4', built.cli, 'worker', '--workflow-bundle', built.workflowBundle, ...args],
    env: { MALLOC_ARENA_MAX: '2' },
  };
}
