import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../src/dev/projectRoot.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A module that registers the engine tests' runbook (registerFlagRunbook.ts), in the main thread
 * only: a worker's workflow threads are started with the same flags, and load no TypeScript.
 */
const REGISTER_TEST_RUNBOOK = `import { isMainThread } from 'node:worker_threads';
if (isMainThread) await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'tests/support/registerFlagRunbook.ts')).href)});`;

/**
 * Node's flags that register the engine tests' runbook (tests/support/flagRunbook.ts) in a child
 * process before its entry point runs: a CLI or worker process of a test then knows the runbook
 * of the runs the test started, as the test's own process does. Give them after `--import tsx`.
 */
export const TEST_RUNBOOK_IMPORT = ['--import', `data:text/javascript,${encodeURIComponent(REGISTER_TEST_RUNBOOK)}`];

/**
 * Runs `tsx src/cli <args>` in a child process, as an engineer would; with `testRunbook`, one that
 * also knows the engine tests' runbook (TEST_RUNBOOK_IMPORT).
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  { testRunbook = false }: { testRunbook?: boolean } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ...(testRunbook ? TEST_RUNBOOK_IMPORT : []), join(PROJECT_ROOT, 'src/cli/index.ts'), ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface SpawnedProcess {
  /** Output so far; complete once `exited` resolves. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when the process exits, with its code (1 when killed by a signal). */
  exited: Promise<CliResult>;
  /** Resolves once stdout matches `pattern` (rejects when the process exits first or after `timeoutMs`). */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves once stderr matches `pattern` (rejects when the process exits first or after `timeoutMs`). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(): void;
  /** Ctrl-C, as a person at the terminal would press it. */
  interrupt(): void;
}

/**
 * `tsx <entry> <args>` (`entry` relative to the project) in a child process that the test can act
 * on while it runs; `nodeArgs` after `--import tsx` (TEST_RUNBOOK_IMPORT, say).
 */
export function spawnTsx(
  entry: string,
  args: string[],
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): SpawnedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, join(PROJECT_ROOT, entry), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  let done = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => {
      done = true;
      resolve({ code: code ?? 1, ...output });
    }),
  );
  const waitFor = async (stream: keyof typeof output, pattern: RegExp, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = output[stream].match(pattern);
      if (match) return match;
      if (done || Date.now() > deadline) {
        throw new Error(
          `${stream} never matched ${pattern} (${done ? 'the process exited' : 'timed out'}):\nstderr:\n${output.stderr}\nstdout:\n${output.stdout}`,
        );
      }
      // The poll interval of a wait for the pattern (bounded by the deadline), not a fixed wait.
      await sleep(100);
    }
  };
  return {
    get stdout() {
      return output.stdout;
    },
    get stderr() {
      return output.stderr;
    },
    exited,
    waitForStdout: (pattern, timeoutMs) => waitFor('stdout', pattern, timeoutMs),
    waitForStderr: (pattern, timeoutMs) => waitFor('stderr', pattern, timeoutMs),
    kill: () => child.kill('SIGKILL'),
    interrupt: () => child.kill('SIGINT'),
  };
}

/** `tsx src/cli <args>` in a child process that the test can act on while it runs (with `testRunbook`, as runCli). */
export const spawnCli = (
  args: string[],
  env: Record<string, string> = {},
  { testRunbook = false }: { testRunbook?: boolean } = {},
): SpawnedProcess => spawnTsx('src/cli/index.ts', args, env, testRunbook ? TEST_RUNBOOK_IMPORT : []);
