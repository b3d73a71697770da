import type { ChangeFeed, FeedEvent } from './changeFeed.js';

/** What a change to a table does to a cache: drop every entry, or only the one with the change's key. */
type Dependency = 'all' | 'key';

export interface ReadCacheOptions<V> {
  feed: ChangeFeed;
  /** The tables whose changes make entries stale, and which entries. */
  dependsOn: Readonly<Record<string, Dependency>>;
  /**
   * The safety net: no entry is served older than this, even when a change was never heard (a
   * connection that hangs without breaking). Default 5 s.
   */
  ttlMs?: number;
  /** Beyond this many entries the oldest is dropped. Default 10,000. */
  maxEntries?: number;
  /** How much longer a value may be served at most (a session's remaining life, say), in ms. */
  lifetimeOf?: (value: V) => number;
  /** The monotonic clock that entries age by, in ms. Default `performance.now()`; a test passes its own. */
  clock?: () => number;
}

const DEFAULT_TTL_MS = 5_000;
const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * Values read from the database, kept in memory while the change feed says they have not
 * changed: a read after a change has been heard never gets the value from before it. What is
 * read while the feed is down, and a read that a change overtook, is served once and not kept.
 * Concurrent reads of one key share one load. A load that finds nothing (null) is never kept,
 * so unknown keys (a forged cookie, say) cannot fill the cache.
 */
export class ReadCache<V> {
  readonly #options: Required<Omit<ReadCacheOptions<V>, 'lifetimeOf'>> & Pick<ReadCacheOptions<V>, 'lifetimeOf'>;
  readonly #entries = new Map<string, { value: V; until: number }>();
  readonly #loading = new Map<string, Promise<V | null>>();
  /** Moves on every change that drops entries: a load that began before one is not kept. */
  #generation = 0;

  constructor(options: ReadCacheOptions<V>) {
    this.#options = {
      ttlMs: DEFAULT_TTL_MS,
      maxEntries: DEFAULT_MAX_ENTRIES,
      ...options,
      clock: options.clock ?? (() => performance.now()),
    };
    options.feed.subscribe((event) => this.#heard(event));
  }

  async read(key: string, load: () => Promise<V | null>): Promise<V | null> {
    const { feed } = this.#options;
    // No entry outlives a lost feed (see #heard), so a hit needs only to be young enough.
    const hit = this.#entries.get(key);
    if (hit) {
      if (hit.until > this.#options.clock()) return hit.value;
      this.#entries.delete(key);
    }
    const shared = this.#loading.get(key);
    if (shared) return shared;
    const generation = this.#generation;
    const keepable = feed.live;
    const loading = load()
      .then((value) => {
        if (value !== null && keepable && feed.live && generation === this.#generation) this.#keep(key, value);
        return value;
      })
      .finally(() => {
        if (this.#loading.get(key) === loading) this.#loading.delete(key);
      });
    this.#loading.set(key, loading);
    return loading;
  }

  /** Drops every entry: for a write of this process that must show at once (a sign-out). */
  clear(): void {
    this.#generation += 1;
    this.#entries.clear();
    this.#loading.clear();
  }

  #keep(key: string, value: V): void {
    const lifetime = Math.min(this.#options.ttlMs, this.#options.lifetimeOf?.(value) ?? Infinity);
    if (!(lifetime > 0)) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#options.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: this.#options.clock() + lifetime });
  }

  #heard(event: FeedEvent): void {
    if (event === 'lost') return this.clear();
    const { dependsOn } = this.#options;
    const dependency = Object.hasOwn(dependsOn, event.table) ? dependsOn[event.table] : undefined;
    if (!dependency) return;
    if (dependency === 'all' || event.key === null) return this.clear();
    this.#generation += 1;
    this.#entries.delete(event.key);
    // A load already under way may have read the row before the change: later reads start their own.
    this.#loading.delete(event.key);
  }
}
