import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnavailableError } from '../errors.js';
import { Client, Connection } from '@temporalio/client';
import { pingTemporal } from '../temporal/connection.js';
import { devServerArgs, loadDevServerConfig, type DevServerConfig } from './devServerConfig.js';
import { freePort } from './freePort.js';
import { PROJECT_ROOT } from './projectRoot.js';

export interface RunningDevServer {
  address: string;
  namespace: string;
  stop(): Promise<void>;
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts `temporal <args>` with its output in `logFile` (and each line of it handed to `onLine`:
 * npm start shows some on the terminal), and resolves once the namespace answers. Rejects with
 * the log's tail if the server exits or does not come up in time.
 */
export async function startDevServer(options: {
  binary: string;
  args: string[];
  address: string;
  namespace: string;
  logFile: string;
  onLine?: (line: string) => void;
  timeoutMs?: number;
}): Promise<RunningDevServer> {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(options.binary, options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const { onLine } = options;
  if (onLine) for (const input of [child.stdout, child.stderr]) createInterface({ input }).on('line', onLine);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const killed = await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)]);
      if (!killed) child.kill('SIGKILL');
      await exit;
    }
    log.end();
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  // Lazy, so that polling begins while the server is still binding its port.
  const client = new Client({
    connection: Connection.lazy({ address: options.address }),
    namespace: options.namespace,
  });
  try {
    for (;;) {
      if (exited) {
        throw new UnavailableError(
          `The Temporal dev server exited during start-up. Its log (${options.logFile}):\n${tail(options.logFile)}`,
        );
      }
      try {
        await pingTemporal(client, 1_000);
        return { address: options.address, namespace: options.namespace, stop };
      } catch {
        if (Date.now() > deadline) {
          throw new UnavailableError(
            `The Temporal dev server did not answer at ${options.address} in time. Its log (${options.logFile}):\n${tail(options.logFile)}`,
          );
        }
        await sleep(250);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    await client.connection.close();
  }
}

/**
 * An in-memory, headless dev server on a free port, from temporal-dev.yaml (tests, benchmarks);
 * `inMemory: false` keeps the yaml's file store and pragmas (point `overrides.dbFilename` elsewhere).
 * The port is free when picked but may be taken before the server binds it (the server picks
 * random ports for its own services too), so a bind failure is retried on a new port.
 */
export async function startEphemeralDevServer(
  binary: string,
  logFile: string,
  options: { attempts?: number; overrides?: Partial<DevServerConfig>; inMemory?: boolean } = {},
): Promise<RunningDevServer> {
  const config = { ...loadDevServerConfig(join(PROJECT_ROOT, 'temporal-dev.yaml')), ...options.overrides };
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await startDevServer({
        binary,
        args: devServerArgs(
          { ...config, logLevel: 'error' },
          { inMemory: options.inMemory ?? true, port, uiPort: null },
        ),
        address: `${config.ip}:${port}`,
        namespace: config.namespace,
        logFile,
      });
    } catch (error) {
      if (attempt >= attempts || !String((error as Error).message).includes('address already in use')) throw error;
    }
  }
}
