import { describe, expect, it } from 'vitest';
import type { ChangeFeed, FeedEvent } from '../src/db/changeFeed.js';
import { ReadCache } from '../src/db/readCache.js';

/**
 * The cache's own rules, against a feed the test drives by hand (what it hears, whether it is
 * live). tests/web.consoleCache.test.ts is the twin against PostgreSQL's notifications.
 */
function handFeed() {
  const listeners = new Set<(event: FeedEvent) => void>();
  const feed = {
    live: true as boolean,
    subscribe(listener: (event: FeedEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    caughtUp: async () => {},
    close: async () => {},
  } satisfies ChangeFeed;
  return { feed, hear: (event: FeedEvent) => listeners.forEach((listener) => listener(event)) };
}

/** A load that counts its calls and answers what `value` holds when it is called. */
function counted<V>(initial: V) {
  const state = { calls: 0, value: initial };
  return { state, load: async () => (state.calls++, state.value) };
}

/** A load that answers only when the test lets it. */
function held<V>(value: V) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  return { release, load: async () => (await gate, value) };
}

describe('ReadCache', () => {
  it('serves a kept value without loading again, and loads again once its key changed', async () => {
    const { feed, hear } = handFeed();
    const cache = new ReadCache<string>({ feed, dependsOn: { runs: 'key' } });
    const { state, load } = counted('v1');
    expect(await cache.read('a', load)).toBe('v1');
    state.value = 'v2';
    expect(await cache.read('a', load)).toBe('v1');
    expect(state.calls).toBe(1);
    hear({ table: 'runs', key: 'b' });
    expect(await cache.read('a', load)).toBe('v1');
    hear({ table: 'other', key: null });
    expect(await cache.read('a', load)).toBe('v1');
    hear({ table: 'runs', key: 'a' });
    expect(await cache.read('a', load)).toBe('v2');
    expect(state.calls).toBe(2);
  });

  it("drops every entry on a change to an 'all' table, on a change without a key, and when the feed is lost", async () => {
    const { feed, hear } = handFeed();
    const cache = new ReadCache<number>({ feed, dependsOn: { sessions: 'all', runs: 'key' } });
    const { state, load } = counted(1);
    for (const event of [{ table: 'sessions', key: 'x' }, { table: 'runs', key: null }, 'lost'] as FeedEvent[]) {
      await cache.read('a', load);
      await cache.read('b', load);
      const before = state.calls;
      hear(event);
      await cache.read('a', load);
      await cache.read('b', load);
      expect(state.calls - before).toBe(2);
    }
  });

  it('never keeps what a change overtook: a load that began before it is served once, not kept', async () => {
    const { feed, hear } = handFeed();
    const cache = new ReadCache<string>({ feed, dependsOn: { runs: 'key' } });
    const stale = held('before');
    const reading = cache.read('a', stale.load);
    hear({ table: 'runs', key: 'a' });
    // A read after the change was heard does not join the load from before it.
    const { state, load } = counted('after');
    expect(await cache.read('a', load)).toBe('after');
    stale.release();
    expect(await reading).toBe('before');
    expect(await cache.read('a', load)).toBe('after');
    expect(state.calls).toBe(1);
    // Nor is it kept when nothing was read since.
    const alone = held('before');
    const overtaken = cache.read('b', alone.load);
    hear({ table: 'runs', key: 'b' });
    alone.release();
    expect(await overtaken).toBe('before');
    expect(await cache.read('b', load)).toBe('after');
  });

  it('shares one load among concurrent reads of a key', async () => {
    const { feed } = handFeed();
    const cache = new ReadCache<string>({ feed, dependsOn: {} });
    let calls = 0;
    const one = held('v');
    const reads = Array.from({ length: 50 }, () => cache.read('a', () => (calls++, one.load())));
    one.release();
    expect(new Set(await Promise.all(reads))).toEqual(new Set(['v']));
    expect(calls).toBe(1);
  });

  it('keeps nothing while the feed is not live, nor what was read while it was not', async () => {
    const { feed } = handFeed();
    const cache = new ReadCache<string>({ feed, dependsOn: {} });
    const { state, load } = counted('v');
    feed.live = false;
    await cache.read('a', load);
    await cache.read('a', load);
    expect(state.calls).toBe(2);
    const slow = held('v');
    const reading = cache.read('b', slow.load);
    feed.live = true;
    slow.release();
    await reading;
    await cache.read('b', load);
    expect(state.calls).toBe(3);
  });

  it('never keeps a null, so that unknown keys cannot fill it', async () => {
    const { feed } = handFeed();
    const cache = new ReadCache<string>({ feed, dependsOn: {}, maxEntries: 2 });
    const { state, load } = counted<string | null>(null);
    for (let i = 0; i < 100; i++) expect(await cache.read(`forged-${i}`, load)).toBeNull();
    expect(await cache.read('forged-0', load)).toBeNull();
    expect(state.calls).toBe(101);
  });

  it('holds at most maxEntries, dropping the oldest', async () => {
    const { feed } = handFeed();
    const cache = new ReadCache<string>({ feed, dependsOn: {}, maxEntries: 2 });
    const { state, load } = counted('v');
    for (const key of ['a', 'b', 'c']) await cache.read(key, load);
    await cache.read('c', load);
    await cache.read('b', load);
    expect(state.calls).toBe(3);
    await cache.read('a', load);
    expect(state.calls).toBe(4);
  });

  it('serves an entry no longer than the TTL, nor than the lifetime of its value', async () => {
    const { feed } = handFeed();
    let now = 0;
    const cache = new ReadCache<{ lifetimeMs: number }>({
      feed,
      dependsOn: {},
      ttlMs: 200,
      lifetimeOf: (value) => value.lifetimeMs,
      clock: () => now,
    });
    const loads = {
      long: counted({ lifetimeMs: 10_000 }),
      short: counted({ lifetimeMs: 50 }),
      over: counted({ lifetimeMs: -1 }),
    };
    const readAll = async (...keys: Array<keyof typeof loads>) => {
      for (const key of keys) await cache.read(key, loads[key].load);
    };
    const calls = () => [loads.long.state.calls, loads.short.state.calls, loads.over.state.calls];
    await readAll('long', 'short', 'over');
    await readAll('long', 'short', 'over');
    expect(calls()).toEqual([1, 1, 2]);
    now = 49;
    await readAll('long', 'short');
    expect(calls()).toEqual([1, 1, 2]);
    // The short value's lifetime is over, the TTL is not.
    now = 50;
    await readAll('long', 'short');
    expect(calls()).toEqual([1, 2, 2]);
    now = 199;
    await readAll('long');
    expect(calls()[0]).toBe(1);
    // The TTL is over for the long value, whose own lifetime is not.
    now = 200;
    await readAll('long');
    expect(calls()[0]).toBe(2);
  });
});
