import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { startDevServer, type RunningDevServer } from '../../src/dev/devServer.js';
import { devServerArgs, loadDevServerConfig } from '../../src/dev/devServerConfig.js';
import { freePort } from '../../src/dev/freePort.js';
import { PROJECT_ROOT } from '../../src/dev/projectRoot.js';

/**
 * A file-backed Temporal dev server of one test's own (temporal-dev.yaml with a temporary
 * `dbFilename`, a free port, headless), for tests that take Temporal away and bring it back.
 */
export interface OwnedDevServer {
  address: string;
  /** The server's log (both starts), for failure messages. */
  logFile: string;
  /** Stops the process (SIGTERM); its store stays. No-op when stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store; resolves once the namespace answers. No-op when running. */
  start(): Promise<void>;
  /** Stops it and removes its store. */
  destroy(): Promise<void>;
}

export async function startOwnedDevServer(): Promise<OwnedDevServer> {
  const dir = await mkdtemp(join(tmpdir(), 'owned-temporal-'));
  const config = {
    ...loadDevServerConfig(join(PROJECT_ROOT, 'temporal-dev.yaml')),
    dbFilename: join(dir, 'temporal.sqlite'),
    logLevel: 'error' as const,
  };
  const logFile = join(dir, 'server.log');
  let port = 0;
  let running: RunningDevServer | null = null;
  const address = () => `${config.ip}:${port}`;
  const launch = async () => {
    running = await startDevServer({
      binary: inject('temporalCli'),
      args: devServerArgs(config, { port, uiPort: null }),
      address: address(),
      namespace: config.namespace,
      logFile,
    });
  };
  // A port that was free a moment ago can be taken before the server binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      if (attempt >= 3 || !String((error as Error).message).includes('address already in use')) {
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  return {
    address: address(),
    logFile,
    async stop() {
      await running?.stop();
      running = null;
    },
    async start() {
      if (!running) await launch();
    },
    async destroy() {
      await running?.stop();
      running = null;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
