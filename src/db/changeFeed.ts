import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './client.js';

/** The channel the triggers of drizzle/0007_console_change_feed.sql notify. */
const CHANNEL = 'console_changes';
/** How the feed's connection shows in pg_stat_activity. */
export const CHANGE_FEED_APPLICATION_NAME = 'platform-ops-change-feed';
/** A payload of this prefix is the feed's own marker (see `caughtUp`), no table's. */
const MARKER = 'caught-up:';
/** After a lost connection the feed tries again after this long, doubling up to the cap. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_CAP_MS = 5_000;

/** A committed write that may change what a reader keeps: the table, and the key of its rows (null: any row). */
interface Change {
  table: string;
  key: string | null;
}

/** What a subscriber hears: a change, or `lost` when changes may have gone unheard (the connection broke). */
export type FeedEvent = Change | 'lost';

export interface ChangeFeed {
  /**
   * True while every change committed from now on will be heard. What is read while it is
   * false may already be stale when the feed comes back, so it must not be kept.
   */
  readonly live: boolean;
  /** Calls `listener` with every event from now on; returns the call that stops it. */
  subscribe(listener: (event: FeedEvent) => void): () => void;
  /**
   * Resolves once every change committed before the call has been heard, by sending a marker
   * through the channel: PostgreSQL delivers notifications in commit order. Rejects when the
   * feed is not live within `timeoutMs`; a marker unheard for that long counts as a lost
   * connection (it may be hanging without breaking).
   */
  caughtUp(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

interface Log {
  warn(object: object, message: string): void;
  info(message: string): void;
}

function parse(payload: string): Change {
  const colon = payload.indexOf(':');
  return colon < 0 ? { table: payload, key: null } : { table: payload.slice(0, colon), key: payload.slice(colon + 1) };
}

/**
 * Listens on the change channel over a connection of its own, and keeps trying (100 ms, then
 * doubling up to 5 s) whenever it cannot connect or loses the connection: the console starts
 * and serves without it, only without keeping anything.
 */
export function openChangeFeed(databaseUrl: string, log: Log): ChangeFeed {
  const listeners = new Set<(event: FeedEvent) => void>();
  const markers = new Map<string, () => void>();
  const liveWaiters = new Set<() => void>();
  let client: pg.Client | null = null;
  let live = false;
  let closed = false;
  let retryMs = RECONNECT_FIRST_MS;
  let retry: NodeJS.Timeout | null = null;

  const emit = (event: FeedEvent) => {
    for (const listener of listeners) listener(event);
  };

  // The end of the connection lost last, so that close() can wait for it.
  let ending: Promise<unknown> = Promise.resolve();
  const lose = (current: pg.Client, error: unknown) => {
    if (client !== current) return;
    client = null;
    current.removeAllListeners('notification');
    // A later error from the broken client must not crash the process.
    current.on('error', () => {});
    ending = current.end().catch(() => {});
    const wasLive = live;
    live = false;
    emit('lost');
    if (closed) return;
    if (wasLive) log.warn({ err: error }, 'console change feed lost; serving from the database alone until it is back');
    // Never what keeps a process alive: close() is what ends the feed.
    retry = setTimeout(() => void connect(), retryMs).unref();
    retryMs = Math.min(retryMs * 2, RECONNECT_CAP_MS);
  };

  // Never rejects: every failure is lost() and retried.
  async function connect(): Promise<void> {
    retry = null;
    const current = new pg.Client({
      connectionString: databaseUrl,
      connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS,
      keepAlive: true,
      application_name: CHANGE_FEED_APPLICATION_NAME,
    });
    client = current;
    current.on('error', (error) => lose(current, error));
    current.on('end', () => lose(current, new Error('the connection ended')));
    current.on('notification', (message) => {
      if (message.channel !== CHANNEL || message.payload === undefined) return;
      if (message.payload.startsWith(MARKER)) {
        markers.get(message.payload)?.();
        return;
      }
      emit(parse(message.payload));
    });
    try {
      await current.connect();
      await current.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      lose(current, error);
      return;
    }
    if (client !== current || closed) return;
    live = true;
    retryMs = RECONNECT_FIRST_MS;
    log.info('console change feed listening');
    for (const wake of liveWaiters) wake();
  }

  const untilLive = (timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (live) return resolve();
      const timer = setTimeout(() => {
        liveWaiters.delete(wake);
        reject(new Error(`the console change feed did not connect within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        liveWaiters.delete(wake);
        resolve();
      };
      liveWaiters.add(wake);
    });

  void connect();

  return {
    get live() {
      return live;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async caughtUp(timeoutMs = 10_000) {
      await untilLive(timeoutMs);
      const current = client;
      if (!current) throw new Error('the console change feed lost its connection');
      const marker = `${MARKER}${randomUUID()}`;
      let timer: NodeJS.Timeout | undefined;
      const heard = new Promise<void>((resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the console change feed did not hear its marker within ${timeoutMs} ms`)),
          timeoutMs,
        );
        markers.set(marker, resolve);
      });
      try {
        await current.query('SELECT pg_notify($1, $2)', [CHANNEL, marker]);
        await heard;
      } catch (error) {
        lose(current, error);
        throw error;
      } finally {
        clearTimeout(timer);
        markers.delete(marker);
      }
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const current = client;
      if (current) lose(current, null);
      await ending;
    },
  };
}
