import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterBatch,
  afterTimeout,
  DEFAULT_BATCH_BOUNDS,
  initialSizing,
  type BatchSizing,
} from '../src/runbooks/sizing/batchSizer.js';
import { applySizing, checkSizingRequest, sizeBounds } from '../src/runbooks/sizing/runSizing.js';
import {
  batchSizeChange,
  batchSizeText,
  parseBatchSize,
  parseBatchTarget,
} from '../src/runbooks/sizing/batchSizeText.js';

const BOUNDS = DEFAULT_BATCH_BOUNDS;
const TARGET = 1_000;

/** Batches on a dataset where 2,000 rows take 0.25 s (0.125 ms a row), give or take `noise`. */
function runBatches(start: number, batches: number, noise: () => number = () => 1): BatchSizing[] {
  const seen: BatchSizing[] = [];
  let sizing = initialSizing(start, BOUNDS, 0);
  for (let n = 1; n <= batches; n++) {
    sizing = afterBatch(sizing, { rows: sizing.size, ms: sizing.size * 0.125 * noise() }, TARGET, BOUNDS, n);
    seen.push(sizing);
  }
  return seen;
}

describe('the batch size that tunes itself', () => {
  it('grows from 2,000 rows towards the 8,000 a 1 s batch takes, at most 1.2x a step, and stays there', () => {
    const seen = runBatches(2_000, 30);
    const sizes = [2_000, ...seen.map((s) => s.size)];
    for (let n = 1; n < sizes.length; n++) expect(sizes[n]! / sizes[n - 1]!).toBeLessThanOrEqual(1.2);
    expect(sizes.slice(1, 4)).toEqual([2_400, 2_880, 3_456]);
    const last = seen.at(-1)!;
    expect(last.size).toBeGreaterThanOrEqual(7_200);
    expect(last.size).toBeLessThanOrEqual(8_000);
    // Settled: the last ten batches changed nothing.
    expect(new Set(seen.slice(-10).map((s) => s.size)).size).toBe(1);
    // Each change is recorded: counted by why, the latest ten kept.
    const changes = sizes.slice(1).filter((size, n) => size !== sizes[n]).length;
    expect(last.changes).toEqual({ grow: changes, shrink: 0, split: 0 });
    expect(last.recent.at(-1)).toEqual({ from: expect.any(Number), to: last.size, why: 'grow' });
    expect(last.recent.length).toBe(Math.min(changes, 10));
  });

  it('holds still on noise of ±5 %, rather than flapping', () => {
    let flip = 1;
    const settled = runBatches(8_000, 40, () => (flip = -flip) * 0.05 + 1);
    expect(new Set(settled.map((s) => s.size))).toEqual(new Set([8_000]));
  });

  it('shrinks at once, by at most half, after a batch that ran long', () => {
    const measured = { ...initialSizing(8_000, BOUNDS, 0), msPerRow: 0.125 };
    // The database slowed down tenfold: this batch took 10 s.
    const after = afterBatch(measured, { rows: 8_000, ms: 10_000 }, TARGET, BOUNDS, 1);
    expect(after.size).toBe(4_000);
    expect(after.recent).toEqual([{ from: 8_000, to: 4_000, why: 'shrink' }]);
  });

  it("learns nothing from a short batch (a tenant's last), whose time is mostly the statement's own", () => {
    const measured = { ...initialSizing(8_000, BOUNDS, 0), msPerRow: 0.125 };
    expect(afterBatch(measured, { rows: 12, ms: 40 }, TARGET, BOUNDS, 5)).toEqual({ ...measured, at: 5 });
  });

  it('stays within the bounds, whatever the batches took', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 0, max: 100_000, noNaN: true }),
        fc.integer({ min: 100, max: 60_000 }),
        (start, rows, ms, target) => {
          const bounds = sizeBounds({ batchBounds: { min: 200, max: 20_000 } });
          const before = initialSizing(start, bounds, 0);
          const after = afterBatch(before, { rows, ms }, target, bounds, 1);
          expect(after.size).toBeGreaterThanOrEqual(200);
          expect(after.size).toBeLessThanOrEqual(20_000);
          expect(after.size).toBeLessThanOrEqual(Math.max(Math.round(before.size * 1.2), bounds.min));
        },
      ),
    );
  });

  it('halves a batch that ran into its statement timeout, and says so; at the smallest it cannot', () => {
    const sizing = { ...initialSizing(4_000, BOUNDS, 0), msPerRow: 0.1 };
    const split = afterTimeout(sizing, BOUNDS, 10_000, 1)!;
    expect(split.size).toBe(2_000);
    expect(split.recent).toEqual([{ from: 4_000, to: 2_000, why: 'split' }]);
    expect(split.changes).toEqual({ grow: 0, shrink: 0, split: 1 });
    // Its rows took at least 2.5 ms each: the next batch does not grow straight back.
    expect(split.msPerRow).toBe(2.5);
    expect(afterTimeout(initialSizing(50, BOUNDS, 0), BOUNDS, 10_000, 1)).toBeNull();
  });
});

describe('asking for a batch size', () => {
  const runbook = { id: 'some.runbook', batchBounds: { max: 10_000 } };

  it('reads auto, rows and durations, and says what is wrong with anything else', () => {
    expect(parseBatchSize(' AUTO ')).toEqual({ auto: true });
    expect(parseBatchSize('2500')).toEqual({ rows: 2_500 });
    expect(parseBatchSize('2.5k')).toBe('"2.5k" is not a batch size (write auto, or a whole number of rows)');
    expect(parseBatchTarget('500ms')).toBe(500);
    expect(parseBatchTarget('2')).toBe(2_000);
    expect(parseBatchTarget('5m')).toBe('a target batch duration must be from 100 ms to 1 min; got 5 min');
    expect(parseBatchTarget('soon')).toBe('"soon" is not a duration (write 500ms, 5s, 2m or 1h)');
  });

  it("refuses rows outside the runbook's bounds, and a target with a fixed size", () => {
    expect(() => checkSizingRequest({ batchSize: { rows: 20_000 } }, runbook, 'invalid_tuning')).toThrow(
      'The batch size of some.runbook must be auto or a whole number from 50 to 10,000 rows; got 20000.',
    );
    expect(() =>
      checkSizingRequest({ batchSize: { rows: 500 }, batchTargetMs: 2_000 }, runbook, 'invalid_tuning'),
    ).toThrow('A fixed batch size has no target duration; give one or the other.');
    expect(() => checkSizingRequest({ batchTargetMs: 50 }, runbook, 'invalid_tuning')).toThrow(
      'A target batch duration must be from 100 ms to 1 min; got 50 ms.',
    );
  });

  it('auto keeps the size it has as its start and the target it has; rows fix it', () => {
    expect(applySizing({ batchSize: 5_000 }, { batchSize: { auto: true } })).toEqual({
      batchSize: 5_000,
      batchTargetMs: 1_000,
    });
    expect(applySizing({ batchSize: 5_000, batchTargetMs: 300 }, { batchSize: { auto: true } })).toEqual({
      batchSize: 5_000,
      batchTargetMs: 300,
    });
    expect(applySizing({ batchSize: 5_000, batchTargetMs: 300 }, { batchTargetMs: 2_000 })).toEqual({
      batchSize: 5_000,
      batchTargetMs: 2_000,
    });
    expect(applySizing({ batchSize: 2_000, batchTargetMs: 300 }, { batchSize: { rows: 700 } })).toEqual({
      batchSize: 700,
    });
    expect(applySizing({ batchSize: 2_000, batchTargetMs: 300 }, {})).toEqual({ batchSize: 2_000, batchTargetMs: 300 });
  });

  it('says how a run sizes its batches, and what a tune changed', () => {
    expect(batchSizeText({ batchSize: 2_000, batchTargetMs: 1_000 }, 2_400)).toBe(
      'batches sized to take 1 s (now 2,400 rows)',
    );
    expect(batchSizeText({ batchSize: 2_000 })).toBe('batches of 2,000 rows');
    expect(batchSizeChange({ batchSize: 2_000 }, { batchSize: 2_000, batchTargetMs: 500 })).toBe(
      'batch size 2,000 rows → auto (500 ms a batch)',
    );
    expect(
      batchSizeChange({ batchSize: 2_000, batchTargetMs: 500 }, { batchSize: 3_000, batchTargetMs: 500 }),
    ).toBeNull();
  });
});
