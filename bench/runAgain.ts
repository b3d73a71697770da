import type pg from 'pg';
import type { Config } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import type { RunRecord } from '../src/runbooks/runs.js';
import { AUTO_START_SIZE, DEFAULT_BATCH_TARGET_MS } from '../src/runbooks/sizing/batchSizer.js';
import { connectTemporal } from '../src/temporal/connection.js';
import { round } from './profile.js';
import { precheckAndPreflight, startAndWait } from './startRun.js';

/** Item 2's run again: its time (start → completed) and the run as it completed. */
export interface RunAgain {
  seconds: number;
  run: RunRecord;
  /** The batch sizing its items recorded, read before its copy is replaced; null for a fixed size. */
  sizing: ItemSizing | null;
}

/**
 * Items 2b and 2c: the all-tenants run of item 2 again, on the fresh copy at `url` (the workers'),
 * started through the starter with `config` (the bench's, with one thing changed): the CLI's
 * precheck and preflight, then start → `completed_at`, timed as item 2's run is.
 */
export async function runAgain(options: { url: string; config: Config; reason: string }): Promise<RunAgain> {
  const database = openDatabase(options.url);
  const { config } = options;
  const temporal = await connectTemporal(config.temporal);
  try {
    const { preflight } = await precheckAndPreflight(database.pool, options.reason);
    const { run, runSeconds } = await startAndWait(
      { pool: database.pool, temporal, config },
      preflight,
      options.reason,
    );
    return { seconds: runSeconds, run, sizing: await readItemSizing(database.pool, run.id) };
  } finally {
    await temporal.connection.close();
    await database.close();
  }
}

/** What the health gates cost a run: item 2's run again with them off (2b), and the ratio. */
export interface GatesCost {
  onSeconds: number;
  offSeconds: number;
  /** Run time with the gates over run time without: 1.0 is free. */
  cost: number;
}

/** The bench's config with the health gates off (item 2b). */
export function gatesOff(config: Config): Config {
  return {
    ...config,
    health: { ...config.health, gates: { ...config.health.gates, enabled: false } },
  };
}

export const gatesCostOf = (onSeconds: number, offSeconds: number): GatesCost => ({
  onSeconds,
  offSeconds,
  cost: round(onSeconds / offSeconds),
});

/** The constant earlier full runs were tuned with (`RUNBOOK_BATCH_SIZE=2000`): item 2c's fixed size. */
export const TUNED_BATCH_SIZE = 2_000;

/** How the run's batches were sized: by themselves (auto) or at a fixed size. */
export type SizingKind = 'auto' | 'fixed';

export const sizingOf = (config: Config): SizingKind => (config.runs.batchTargetMs === undefined ? 'fixed' : 'auto');

/**
 * Item 2c's config: the other sizing than item 2's. Item 2 auto: a fixed batch of 2,000 rows
 * (the tuned constant); item 2 fixed: auto from 2,000 rows, aimed at the default target (1 s).
 */
export function otherSizing(config: Config): Config {
  const { batchTargetMs, ...runs } = config.runs;
  return {
    ...config,
    runs:
      batchTargetMs === undefined
        ? { ...runs, batchSize: AUTO_START_SIZE, batchTargetMs: DEFAULT_BATCH_TARGET_MS }
        : { ...runs, batchSize: TUNED_BATCH_SIZE },
  };
}

/** The batch sizes a run's items ended with (`counts.sizing`), and how often they changed. */
interface ItemSizing {
  /** Items that recorded a sizing. */
  items: number;
  /** The items' last sizes (rows of the batch each would have taken next). */
  medianFinalSize: number;
  minFinalSize: number;
  maxFinalSize: number;
  /** The median of the items' moving averages of milliseconds per row; null if none was measured. */
  medianMsPerRow: number | null;
  /** The size changes of all the items, by why. */
  changes: { grow: number; shrink: number; split: number };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The sizing a run's items recorded, or null when none did (a fixed size). */
async function readItemSizing(pool: pg.Pool, runId: string): Promise<ItemSizing | null> {
  const { rows } = await pool.query<{
    size: number;
    msPerRow: number | null;
    grow: number;
    shrink: number;
    split: number;
  }>(
    `SELECT (counts -> 'sizing' ->> 'size')::int AS size,
            (counts -> 'sizing' ->> 'msPerRow')::float8 AS "msPerRow",
            coalesce((counts -> 'sizing' -> 'changes' ->> 'grow')::int, 0) AS grow,
            coalesce((counts -> 'sizing' -> 'changes' ->> 'shrink')::int, 0) AS shrink,
            coalesce((counts -> 'sizing' -> 'changes' ->> 'split')::int, 0) AS split
       FROM operation_run_items WHERE run_id = $1 AND counts ? 'sizing'`,
    [runId],
  );
  if (rows.length === 0) return null;
  const sizes = rows.map((row) => row.size);
  const msPerRow = median(rows.flatMap((row) => (row.msPerRow === null ? [] : [row.msPerRow])));
  const total = (why: 'grow' | 'shrink' | 'split') => rows.reduce((sum, row) => sum + row[why], 0);
  return {
    items: rows.length,
    medianFinalSize: Math.round(median(sizes)!),
    minFinalSize: Math.min(...sizes),
    maxFinalSize: Math.max(...sizes),
    medianMsPerRow: msPerRow === null ? null : round(msPerRow, 4),
    changes: { grow: total('grow'), shrink: total('shrink'), split: total('split') },
  };
}

/** One side of item 2c's pair. */
interface SizedRun {
  seconds: number;
  /** Run time over the physical limit's (item 1). */
  ratioToPhysical: number;
  batches: number;
}

/**
 * Item 2c: the run with auto batch sizing against the same run at the tuned constant, measured
 * as an adjacent pair late in the bench: the other sizing than item 2's, then item 2's again,
 * each on a fresh copy, gates as item 2 has them. Item 2's own run (early in the bench, under
 * other load) is reported beside them, not compared.
 */
export interface SizingFigures {
  /** How item 2 sized its batches (the environment's `RUNBOOK_BATCH_SIZE`); the pair ran the other way first. */
  item2: SizingKind;
  /** Item 2's own run time (start → completed), measured early in the bench; not in the ratio. */
  item2Seconds: number;
  /** The pair's auto-sized run. */
  auto: SizedRun & {
    targetMs: number;
    startSize: number;
    /** The run's newest size (`operation_runs.counts.batchSize`), read after it completed. */
    finalSize: number;
    items: ItemSizing;
  };
  /** The pair's fixed-size run. */
  fixed: SizedRun & { batchSize: number };
  /** The two runs compared, back to back: their times and which ran first. */
  pair: { autoSeconds: number; fixedSeconds: number; order: [SizingKind, SizingKind] };
  /** Auto's run time over the fixed size's, within the pair: 1.0 is as fast as the tuned constant. */
  autoOverFixed: number;
}

export interface SizingSide {
  config: Config;
  seconds: number;
  run: RunRecord;
  items: ItemSizing | null;
}

/**
 * Item 2c's figures from its pair (in the order the two ran, one auto and one fixed) and item 2's
 * own run, which sized its batches one of the two ways and is only reported.
 */
export function sizingFiguresOf(
  item2: { config: Config; seconds: number },
  pair: [SizingSide, SizingSide],
  physicalSeconds: number,
): SizingFigures {
  const order: [SizingKind, SizingKind] = [sizingOf(pair[0].config), sizingOf(pair[1].config)];
  if (order[0] === order[1]) throw new Error('bench: item 2c must run one sizing of each kind');
  const [auto, fixed] = order[0] === 'auto' ? pair : [pair[1], pair[0]];
  const side = ({ seconds, run }: SizingSide): SizedRun => ({
    seconds,
    ratioToPhysical: round(seconds / physicalSeconds),
    batches: run.counts.batches ?? 0,
  });
  const finalSize = auto.run.counts.batchSize;
  if (finalSize === undefined || !auto.items) {
    throw new Error(
      `bench: the auto-sized run ${auto.run.id} recorded no batch sizing; its figures would be a fixed size's`,
    );
  }
  return {
    item2: sizingOf(item2.config),
    item2Seconds: item2.seconds,
    auto: {
      ...side(auto),
      targetMs: auto.config.runs.batchTargetMs!,
      startSize: auto.config.runs.batchSize,
      finalSize,
      items: auto.items,
    },
    fixed: { ...side(fixed), batchSize: fixed.config.runs.batchSize },
    pair: { autoSeconds: auto.seconds, fixedSeconds: fixed.seconds, order },
    autoOverFixed: round(auto.seconds / fixed.seconds),
  };
}
