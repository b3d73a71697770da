// The worker process as npm start, the bench and production run it: compiled JavaScript and a
// prebuilt workflow bundle, started with the memory settings below. Each of those builds it right
// before it starts the worker (npm start only what changed since its last build), so a worker
// never runs code older than the sources it started from.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@temporalio/worker';
import { buildCli, CLI_ENTRY, isCliFresh, writeWhole } from '../cli/compile.mjs';
import { PROJECT_ROOT } from '../dev/projectRoot.js';

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
/** When the bundle's build started and the files it was made from (what `isBundleFresh` compares). */
const BUNDLE_RECORD = join(PROJECT_ROOT, 'dist', 'workflow-bundle.json');

/**
 * The SDK's webpack bundle of the workflow code; resolves to the files webpack read. A worker that
 * bundles for itself (started without --workflow-bundle) keeps webpack's peak, over 100 MiB, in its
 * resident memory.
 */
export async function writeWorkflowBundle(file: string, logger?: Logger): Promise<string[]> {
  // Loaded here, not with this module: the SDK's worker and webpack take about a second to load,
  // which a start that finds the bundle fresh does without.
  const [{ bundleWorkflowCode }, { WORKFLOWS_PATH }] = await Promise.all([
    import('@temporalio/worker'),
    import('./worker.js'),
  ]);
  let read: string[] = [];
  const { code } = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger,
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [
        ...(config.plugins ?? []),
        {
          apply: (compiler) =>
            compiler.hooks.done.tap('inputs', (stats) => {
              read = [...stats.compilation.fileDependencies];
            }),
        },
      ],
    }),
  });
  await writeWhole(file, code);
  // Webpack counts the folders it looked in and its generated entry among what it read: only files count.
  return read.filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

/** Whether the bundle was built after the last change to any file it was made from (and to this file). */
function isBundleFresh(): boolean {
  let record: { startedAt: number; inputs: string[] };
  try {
    record = JSON.parse(readFileSync(BUNDLE_RECORD, 'utf8')) as typeof record;
  } catch {
    return false;
  }
  const inputs = [fileURLToPath(import.meta.url), ...record.inputs.map((input) => join(PROJECT_ROOT, input))];
  return (
    existsSync(WORKER_BUILD.workflowBundle) &&
    inputs.every((input) => (statSync(input, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) <= record.startedAt)
  );
}

async function buildWorkflowBundle(): Promise<void> {
  const startedAt = Date.now();
  const { DefaultLogger } = await import('@temporalio/worker');
  // Webpack's progress lines are left out; its warnings and errors are printed.
  const inputs = await writeWorkflowBundle(WORKER_BUILD.workflowBundle, new DefaultLogger('WARN'));
  await writeWhole(
    BUNDLE_RECORD,
    JSON.stringify({ startedAt, inputs: inputs.map((input) => relative(PROJECT_ROOT, input)) }),
  );
}

/**
 * Builds the worker: the compiled CLI and the workflow bundle. With `onlyStale` (npm start), a part
 * built after the last change to every file it was made from is kept as it is, which saves a warm
 * start the build's seconds; `log` says so when something is built.
 */
export async function buildWorker(
  options: { onlyStale?: boolean; log?: (line: string) => void } = {},
): Promise<WorkerBuild> {
  const cli = !options.onlyStale || !isCliFresh();
  const bundle = !options.onlyStale || !isBundleFresh();
  if (cli || bundle) options.log?.('Building the worker (dist/)...');
  await Promise.all([
    // Running compiled JavaScript rather than tsx saves the worker about 30 MiB: tsx's loader thread and its compiled sources.
    cli ? buildCli() : undefined,
    bundle ? buildWorkflowBundle() : undefined,
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
