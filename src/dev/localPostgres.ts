import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { databaseName } from '../db/describeUrl.js';
import type { EmbeddedPostgresServer } from './embeddedPostgres.js';
import { PROJECT_ROOT } from './projectRoot.js';

/** Where `npm start` keeps the embedded PostgreSQL: its cluster (`data/`), password and log. */
export const EMBEDDED_POSTGRES_DIR = join(PROJECT_ROOT, '.data', 'postgres');

/** Whether anything accepts a TCP connection at the URL's host and port within `timeoutMs`. */
export function answers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 5432) });
    const settle = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(timeoutMs, () => settle(false));
    socket.once('connect', () => settle(true));
    socket.once('error', () => settle(false));
  });
}

export interface LocalPostgres {
  url: string;
  /** The server started for lack of another, which its starter stops; null when `url` is another's. */
  embedded: EmbeddedPostgresServer | null;
}

/**
 * The PostgreSQL server of `npm start` and `npm test`: a URL that was given, as it is (whether or
 * not it answers, it is never replaced); else the default URL when anything answers at its
 * address; else an embedded server from `startEmbedded`, with the default's database name.
 */
export async function chooseLocalPostgres(
  url: string,
  options: { given: boolean; startEmbedded: () => Promise<EmbeddedPostgresServer> },
): Promise<LocalPostgres> {
  if (options.given || (await answers(url))) return { url, embedded: null };
  const embedded = await options.startEmbedded();
  return { url: embedded.url(databaseName(url)), embedded };
}

/**
 * The URL of the embedded server `npm start` runs in `folder`, while it runs (else null): its
 * port from PostgreSQL's own lock file (`postmaster.pid`, whose fourth line is the port), its
 * password from the folder.
 */
async function runningEmbeddedUrl(folder: string, database: string): Promise<string | null> {
  let lock: string;
  let password: string;
  try {
    [lock, password] = await Promise.all([
      readFile(join(folder, 'data', 'postmaster.pid'), 'utf8'),
      readFile(join(folder, 'password'), 'utf8'),
    ]);
  } catch {
    return null;
  }
  const port = Number(lock.split('\n')[3]);
  if (!Number.isInteger(port) || port <= 0) return null;
  const url = `postgres://postgres:${encodeURIComponent(password.trim())}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return (await answers(url)) ? url : null;
}

/**
 * The database a command in another terminal uses: a given URL as it is; else the default when
 * anything answers there; else the embedded server of a running `npm start`, so that the CLI
 * beside it finds the same data. Nothing is started here.
 */
export async function localDatabaseUrl(url: string, given: boolean, folder = EMBEDDED_POSTGRES_DIR): Promise<string> {
  if (given || (await answers(url))) return url;
  return (await runningEmbeddedUrl(folder, databaseName(url))) ?? url;
}
