import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../src/errors.js';
import { startEphemeralDevServer, type RunningDevServer } from '../src/dev/devServer.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';

export interface BenchServer extends RunningDevServer {
  kind: 'in-memory' | 'file-backed';
  port: number;
}

/**
 * A dev server of temporal-dev.yaml on a free port: in memory, or file-backed with the yaml's
 * pragmas in the bench's temporary folder (never the `npm start` store under .data/).
 */
export async function startBenchServer(binary: string, dir: string, kind: BenchServer['kind']): Promise<BenchServer> {
  const server = await startEphemeralDevServer(
    binary,
    join(dir, `temporal-${kind}.log`),
    kind === 'in-memory' ? {} : { inMemory: false, overrides: { dbFilename: join(dir, 'temporal.sqlite') } },
  );
  return { ...server, kind, port: Number(server.address.split(':').at(-1)) };
}

export interface WorkerProcess {
  pid: number;
  /** Resolves once it polls its task queue (its workflow bundle is built); rejects with its log's tail when it does not. */
  ready: Promise<void>;
  /** Its identity on the server (the SDK's default, `<pid>@<host>`), as histories record it. */
  identityPrefix: string;
  logFile: string;
  /** Resident memory in MiB: the peak so far (VmHWM) and now (VmRSS). */
  memoryMiB(): { peak: number; now: number };
  /** The peak when it began to poll: what start-up (bundling the workflow code) took alone. */
  peakAtReadyMiB: number | null;
  stop(): Promise<void>;
}

function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return Math.round(Number(line?.replace(/\D+/g, '') ?? 0) / 1024);
}

function tail(path: string, lines = 10): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * `src/cli/index.ts worker --json` as a child process, so that its memory is its own, against
 * one database and server. Returned at once, so that whoever stops the bench can stop it while it starts.
 */
export function spawnWorker(options: { name: string; dir: string; databaseUrl: string; server: BenchServer }): WorkerProcess {
  const logFile = join(options.dir, `${options.name}.log`);
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/index.ts'), 'worker', '--json'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: options.databaseUrl, TEMPORAL_ADDRESS: options.server.address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));
  child.stdout!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (output.length < 100_000) output += chunk.toString();
  });
  child.stderr!.pipe(log);
  const pid = child.pid!;
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const done = await Promise.race([exit.then(() => true), sleep(15_000).then(() => false)]);
      if (!done) child.kill('SIGKILL');
      await exit;
    }
    log.end();
  };
  let peakAtReady: number | null = null;
  const ready = (async () => {
    const deadline = Date.now() + 180_000;
    while (!output.includes('polling task queue')) {
      if (exited || Date.now() > deadline) {
        await stop();
        throw new UserError(`worker ${options.name} ${exited ? 'exited' : 'did not poll in time'} during start-up. Its log (${logFile}):\n${tail(logFile)}`);
      }
      await sleep(100);
    }
    peakAtReady = statusMiB(pid, 'VmHWM');
  })();
  // Awaited by the caller; a failure while nobody waits yet must not end the process.
  ready.catch(() => {});
  return {
    pid,
    ready,
    identityPrefix: `${pid}@`,
    logFile,
    memoryMiB: () => ({ peak: statusMiB(pid, 'VmHWM'), now: statusMiB(pid, 'VmRSS') }),
    get peakAtReadyMiB() {
      return peakAtReady;
    },
    stop,
  };
}
