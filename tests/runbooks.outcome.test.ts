import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outcomeOf } from '../src/runbooks/completeRun.js';
import type { RunOutcome } from '../src/runbooks/model.js';

const counts = (tenantsSucceeded: number, tenantsFailed: number, tenantsCancelled: number) => ({
  tenantsSucceeded,
  tenantsFailed,
  tenantsCancelled,
});

describe('outcomeOf', () => {
  // Each count is "none" (0) or "some" (2): every combination of the three, written out.
  it.each<[number, number, number, RunOutcome]>([
    // succeeded, failed, cancelled → outcome
    [0, 0, 0, 'succeeded'], // an empty run has nothing left undone
    [2, 0, 0, 'succeeded'],
    [0, 2, 0, 'failed'],
    [2, 2, 0, 'partially_succeeded'],
    [0, 0, 2, 'failed'], // only cancelled items and no explicit outcome: nothing was done
    [2, 0, 2, 'partially_succeeded'],
    [0, 2, 2, 'failed'],
    [2, 2, 2, 'partially_succeeded'],
  ])('succeeded=%i failed=%i cancelled=%i → %s', (succeeded, failed, cancelled, outcome) => {
    expect(outcomeOf(counts(succeeded, failed, cancelled))).toBe(outcome);
  });

  it('a single failure among many successes is partial', () => {
    expect(outcomeOf(counts(9_999, 1, 0))).toBe('partially_succeeded');
  });

  describe('properties over random counts', () => {
    const n = fc.nat({ max: 10_000 });
    const outcome = (s: number, f: number, c: number) => outcomeOf(counts(s, f, c));

    it('is succeeded exactly when no tenant failed or was cancelled', () => {
      fc.assert(fc.property(n, n, n, (s, f, c) => (outcome(s, f, c) === 'succeeded') === (f + c === 0)));
    });

    it('is failed exactly when some tenant is not done and none succeeded', () => {
      fc.assert(fc.property(n, n, n, (s, f, c) => (outcome(s, f, c) === 'failed') === (f + c > 0 && s === 0)));
    });

    it('never derives cancelled (only an explicit cancel sets it)', () => {
      fc.assert(fc.property(n, n, n, (s, f, c) => outcome(s, f, c) !== 'cancelled'));
    });

    it('depends only on which counts are non-zero, not on their size', () => {
      const k = fc.integer({ min: 1, max: 1_000 });
      fc.assert(fc.property(n, n, n, k, (s, f, c, m) => outcome(s, f, c) === outcome(s * m, f * m, c * m)));
    });
  });
});
