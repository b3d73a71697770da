import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../src/errors.js';
import { startEphemeralDevServer, type RunningDevServer } from '../src/dev/devServer.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { buildWorker, workerCommand, type WorkerBuild } from '../src/temporal/workerBuild.js';

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
  /** Known once it started (after the build), as is everything below `ready`. */
  readonly pid: number;
  /** Resolves once it polls its task queue; rejects with the build's error or its log's tail when it does not. */
  ready: Promise<void>;
  /** Its identity on the server (the SDK's default, `<pid>@<host>`), as histories record it. */
  readonly identityPrefix: string;
  logFile: string;
  /** Resident memory in MiB: the peak so far (VmHWM) and now (VmRSS). */
  memoryMiB(): { peak: number; now: number };
  /** The peak when it began to poll: what start-up took alone. */
  peakAtReadyMiB: number | null;
  stop(): Promise<void>;
}

function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Math.round(Number(line?.replace(/\D+/g, '') ?? 0) / 1024);
}

function tail(path: string, lines = 10): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// Built once for every worker of a bench, right before the first starts (never a stale build).
let built: Promise<WorkerBuild> | undefined;

/**
 * The worker as `npm start` and production run it (`workerCommand`: compiled, with the prebuilt
 * workflow bundle) with `--json`, as a child process, so that its memory is its own, against one
 * database and server. Returned at once, so that whoever stops the bench can stop it while it
 * is built or starts.
 */
export function spawnWorker(options: {
  name: string;
  dir: string;
  databaseUrl: string;
  server: BenchServer;
}): WorkerProcess {
  const logFile = join(options.dir, `${options.name}.log`);
  const log = createWriteStream(logFile);
  let child: ChildProcess | undefined;
  let stopped = false;
  let output = '';
  let exited = false;
  let exit: Promise<void> = Promise.resolve();
  const start = async () => {
    const command = workerCommand(await (built ??= buildWorker()), ['--json']);
    if (stopped) return;
    child = spawn(command.command, command.args, {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        ...command.env,
        DATABASE_URL: options.databaseUrl,
        TEMPORAL_ADDRESS: options.server.address,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exit = new Promise<void>((resolve) => child!.on('exit', () => ((exited = true), resolve())));
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (output.length < 100_000) output += chunk.toString();
    });
    child.stderr!.pipe(log);
  };
  const stop = async () => {
    stopped = true;
    if (child && !exited) {
      child.kill('SIGTERM');
      const done = await Promise.race([exit.then(() => true), sleep(15_000).then(() => false)]);
      if (!done) child.kill('SIGKILL');
      await exit;
    }
    log.end();
  };
  const pid = () => {
    if (!child?.pid) throw new Error(`worker ${options.name} has not started yet`);
    return child.pid;
  };
  let peakAtReady: number | null = null;
  const ready = (async () => {
    await start();
    const deadline = Date.now() + 180_000;
    while (!output.includes('polling task queue')) {
      if (stopped || exited || Date.now() > deadline) {
        await stop();
        throw new UserError(
          `worker ${options.name} ${exited ? 'exited' : stopped ? 'was stopped' : 'did not poll in time'} during start-up. Its log (${logFile}):\n${tail(logFile)}`,
        );
      }
      await sleep(100);
    }
    peakAtReady = statusMiB(pid(), 'VmHWM');
  })();
  // Awaited by the caller; a failure while nobody waits yet must not end the process.
  ready.catch(() => {});
  return {
    get pid() {
      return pid();
    },
    ready,
    get identityPrefix() {
      return `${pid()}@`;
    },
    logFile,
    memoryMiB: () => ({ peak: statusMiB(pid(), 'VmHWM'), now: statusMiB(pid(), 'VmRSS') }),
    get peakAtReadyMiB() {
      return peakAtReady;
    },
    stop,
  };
}
