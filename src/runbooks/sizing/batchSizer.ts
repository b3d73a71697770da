/**
 * The batch size that tunes itself: after each batch it aims the next one at the run's target
 * duration, from a moving average of the time a row takes. It grows by at most a fifth a step
 * (a quiet moment must not buy a batch that a busy one cannot afford), shrinks faster than it
 * grows, holds still within a tenth of its aim (no flapping on noise), and stays within bounds.
 */
import { sqlState } from '../../errors.js';

/** Where a tenant's sizing stands; recorded on its item with the batch that moved it. */
export interface BatchSizing {
  /** Rows of the next batch. */
  size: number;
  /** The moving average of milliseconds per row, once a batch has been measured. */
  msPerRow?: number;
  /** How many times the size changed, by why; and the latest changes, newest last. */
  changes: Record<SizeChange['why'], number>;
  recent: SizeChange[];
  /** When it was last written (epoch ms): a run's newest sizing is where its next tenant starts. */
  at: number;
}

interface SizeChange {
  from: number;
  to: number;
  /** "grow" and "shrink" follow the average; "split" halves a batch that ran into its statement timeout. */
  why: 'grow' | 'shrink' | 'split';
}

export interface SizeBounds {
  min: number;
  max: number;
}

/** Where a run that sizes its batches itself starts, before it has measured one. */
export const AUTO_START_SIZE = 2_000;
/** The default target: one second a batch keeps locks short and progress visible. */
export const DEFAULT_BATCH_TARGET_MS = 1_000;
/** A runbook's batches stay within these unless it says otherwise (the range live tuning allows). */
export const DEFAULT_BATCH_BOUNDS: SizeBounds = { min: 50, max: 50_000 };

/** The weight of the newest batch in the average. */
const SMOOTHING = 0.3;
const MAX_GROWTH = 1.2;
const MAX_SHRINK = 0.5;
/** The changes an item keeps: enough to see how its size moved lately, bounded however long it runs. */
const RECENT_CHANGES = 10;
/** Within this share of its aim, the size stays as it is. */
const DEAD_BAND = 0.1;
/** A batch that ran this much longer than its target shrinks the next one even without the average. */
const LONG_BATCH = 2;

const clamp = (value: number, { min, max }: SizeBounds) => Math.min(max, Math.max(min, Math.round(value)));

/** A tenant's first sizing: where the run's sizing stands (or its starting size), within bounds. */
export function initialSizing(size: number, bounds: SizeBounds, now: number, msPerRow?: number): BatchSizing {
  return {
    size: clamp(size, bounds),
    changes: { grow: 0, shrink: 0, split: 0 },
    recent: [],
    at: now,
    ...(msPerRow === undefined ? {} : { msPerRow }),
  };
}

function changed(sizing: BatchSizing, to: number, why: SizeChange['why'], now: number): BatchSizing {
  if (to === sizing.size) return { ...sizing, at: now };
  return {
    ...sizing,
    size: to,
    changes: { ...sizing.changes, [why]: sizing.changes[why] + 1 },
    recent: [...sizing.recent, { from: sizing.size, to, why }].slice(-RECENT_CHANGES),
    at: now,
  };
}

/**
 * The sizing after a batch of `rows` rows that took `ms`. A short batch (fewer rows than half
 * the size: a tenant's last) says more about the statement's fixed cost than about rows, so it
 * leaves the average alone.
 */
export function afterBatch(
  sizing: BatchSizing,
  batch: { rows: number; ms: number },
  targetMs: number,
  bounds: SizeBounds,
  now: number,
): BatchSizing {
  if (batch.rows <= 0 || batch.rows < sizing.size / 2) return { ...sizing, at: now };
  const observed = Math.max(batch.ms, 0.01) / batch.rows;
  const msPerRow = sizing.msPerRow === undefined ? observed : SMOOTHING * observed + (1 - SMOOTHING) * sizing.msPerRow;
  let aim = targetMs / msPerRow;
  // A batch far over its target is news the average has only begun to take in.
  if (batch.ms > LONG_BATCH * targetMs) aim = Math.min(aim, (sizing.size * targetMs) / batch.ms);
  const next = clamp(Math.min(sizing.size * MAX_GROWTH, Math.max(sizing.size * MAX_SHRINK, aim)), bounds);
  const settled = Math.abs(next - sizing.size) < DEAD_BAND * sizing.size;
  return changed({ ...sizing, msPerRow }, settled ? sizing.size : next, next > sizing.size ? 'grow' : 'shrink', now);
}

/**
 * The sizing after a batch ran into its statement timeout: half the size, or null at the
 * smallest. Its rows took at least the timeout, which the average learns (or it would grow back).
 */
export function afterTimeout(
  sizing: BatchSizing,
  bounds: SizeBounds,
  timeoutMs: number,
  now: number,
): BatchSizing | null {
  if (sizing.size <= bounds.min) return null;
  const msPerRow = Math.max(sizing.msPerRow ?? 0, timeoutMs / sizing.size);
  return changed({ ...sizing, msPerRow }, clamp(sizing.size / 2, bounds), 'split', now);
}

/** A statement cancelled by its `statement_timeout` (57014 is also an operator's pg_cancel_backend, which is not). */
export const isStatementTimeout = (error: unknown): boolean =>
  sqlState(error) === '57014' && error instanceof Error && /statement timeout/i.test(error.message);

/** How long a statement of an auto-sized batch may run before the batch is split. */
export const statementTimeoutMs = (targetMs: number) => Math.max(10 * targetMs, 5_000);
