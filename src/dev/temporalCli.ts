import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { firstLine, UserError } from '../errors.js';
import { PROJECT_ROOT } from './projectRoot.js';

/** The newest release that `go install` accepts (later ones carry `replace` directives). */
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
const TOOLS_BIN = join(PROJECT_ROOT, '.tools', 'bin');
const SDK_DOWNLOAD_SCRIPT = join(PROJECT_ROOT, 'scripts', 'download-temporal-cli.ts');
/**
 * How long the SDK's download may take before Go is tried: the CLI is about 60 MB, seconds on a
 * connected machine, and a machine that cannot reach temporal.download should not wait for long.
 */
const DOWNLOAD_TIMEOUT_MS = 15_000;

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, command))
    .find(isExecutable);
}

export type TemporalCliSource = 'TEMPORAL_CLI' | 'tools folder' | 'PATH';

/** Finds a `temporal` binary: `TEMPORAL_CLI`, then the project's tools folder, then `PATH`. */
export function findTemporalCli(
  env: NodeJS.ProcessEnv = process.env,
  toolsBin = TOOLS_BIN,
): { path: string; source: TemporalCliSource } | null {
  if (env.TEMPORAL_CLI) {
    if (!isExecutable(env.TEMPORAL_CLI)) {
      throw new UserError(`TEMPORAL_CLI=${env.TEMPORAL_CLI} is not an executable file. Fix the path or unset it.`);
    }
    return { path: env.TEMPORAL_CLI, source: 'TEMPORAL_CLI' };
  }
  const local = join(toolsBin, 'temporal');
  if (isExecutable(local)) return { path: local, source: 'tools folder' };
  const found = onPath('temporal', env);
  return found ? { path: found, source: 'PATH' } : null;
}

/** Puts the Temporal CLI at `dest`, or rejects saying why not; stops when `signal` aborts. */
export type TemporalCliDownload = (dest: string, signal: AbortSignal) => Promise<void>;

/**
 * The Temporal SDK's own download (scripts/download-temporal-cli.ts), in a process of its own
 * and its own process group: the SDK's download cannot be cancelled and waits without limit on
 * a network that never answers, so an abort kills the group (the script and any dev server the
 * SDK started from the download). The script works in a fresh folder, so that what a killed
 * download left behind never makes the next one wait for it.
 */
export async function downloadWithSdk(dest: string, signal: AbortSignal, env = process.env): Promise<void> {
  const folder = await mkdtemp(join(dirname(dest), '.download-'));
  try {
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', SDK_DOWNLOAD_SCRIPT, folder], {
        cwd: PROJECT_ROOT,
        env,
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const kill = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // The group has already ended.
        }
      };
      signal.addEventListener('abort', kill, { once: true });
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
      child.on('error', reject);
      child.on('close', (exitCode) => {
        signal.removeEventListener('abort', kill);
        resolve(exitCode);
      });
    });
    if (signal.aborted) return;
    if (code !== 0) {
      const said = stderr
        .join('')
        .trim()
        .replace(/^error: /, '');
      throw new Error(said || `exit ${code}`);
    }
    await rename(join(folder, 'temporal'), dest);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Runs `download`, aborting it and rejecting once `timeoutMs` have passed. */
async function downloadWithin(download: TemporalCliDownload, dest: string, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Rejected before the abort, so that the race ends with the time bound, not with how the download took its abort.
      reject(new Error(`no answer within ${timeoutMs / 1000} s`));
      controller.abort();
    }, timeoutMs);
  });
  try {
    await Promise.race([download(dest, controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every way to a CLI, in the order they are tried, with what each gave; then how to fix it. */
function nothingWorked(toolsBin: string, downloadFailure: string, goFailure: string): UserError {
  return new UserError(
    [
      'No Temporal CLI, and none could be installed. Tried, in order:',
      '  1. TEMPORAL_CLI: not set',
      `  2. ${join(toolsBin, 'temporal')}: not there`,
      '  3. temporal on PATH: not found',
      `  4. the Temporal SDK's download from temporal.download: ${downloadFailure}`,
      `  5. go install ${TEMPORAL_CLI_MODULE}: ${goFailure}`,
      'Any one of these fixes it: set TEMPORAL_CLI=/path/to/temporal; put a temporal binary in ' +
        `${toolsBin} or on PATH (e.g. "brew install temporal", or a release from https://github.com/temporalio/cli/releases); ` +
        'let this machine reach temporal.download; or install Go 1.23+.',
    ].join('\n'),
  );
}

/**
 * Returns a `temporal` binary. When none is found (`findTemporalCli`), it puts one in the
 * git-ignored tools folder, once per checkout: the Temporal SDK's download (seconds, at most
 * `downloadTimeoutMs`), else a build of the official CLI with Go (a few minutes; Go's caches make
 * later builds faster). When neither works, the error lists every option in that order.
 */
export async function ensureTemporalCli(
  options: {
    env?: NodeJS.ProcessEnv;
    toolsBin?: string;
    log?: (line: string) => void;
    download?: TemporalCliDownload;
    downloadTimeoutMs?: number;
  } = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const toolsBin = options.toolsBin ?? TOOLS_BIN;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const found = findTemporalCli(env, toolsBin);
  if (found) return found.path;
  const binary = join(toolsBin, 'temporal');
  await mkdir(toolsBin, { recursive: true });

  const timeoutMs = options.downloadTimeoutMs ?? DOWNLOAD_TIMEOUT_MS;
  log(
    `No Temporal CLI found: downloading it into ${toolsBin} with the Temporal SDK (at most ${timeoutMs / 1000} s)...`,
  );
  let started = Date.now();
  let downloadFailure: string;
  try {
    const download = options.download ?? ((dest, signal) => downloadWithSdk(dest, signal, env));
    await downloadWithin(download, binary, timeoutMs);
    log(`Downloaded the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s.`);
    return binary;
  } catch (error) {
    downloadFailure = firstLine(error);
  }

  const go = onPath('go', env);
  if (!go || spawnSync(go, ['version'], { env }).status !== 0) {
    throw nothingWorked(toolsBin, downloadFailure, 'no Go toolchain on PATH');
  }
  log(`The download failed (${downloadFailure}); building the Temporal CLI (${TEMPORAL_CLI_MODULE}) with Go instead.`);
  log('This happens once per checkout and takes a few minutes on a fresh machine...');
  started = Date.now();
  const ticker = setInterval(() => log(`  still building (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
  try {
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
        env: { ...env, GOBIN: toolsBin },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) {
      const tail = output.join('').trim().split('\n').slice(-5).join('\n       ');
      throw nothingWorked(toolsBin, downloadFailure, `failed (exit ${code}):\n       ${tail}`);
    }
  } finally {
    clearInterval(ticker);
  }
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s.`);
  return binary;
}
