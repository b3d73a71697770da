import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { progressBar, progressText, runFraction } from '../src/runbooks/progressText.js';
import type { RunRecord } from '../src/runbooks/runs.js';
import type { RunCounts, RunOutcome, RunStatus } from '../src/runbooks/model.js';

/** The progress of a runbook that counts findings. */
const findingsText = (run: Parameters<typeof progressText>[0]) => progressText(run, 'findings');

/** The part of a run row the progress functions read; not paused unless a test says so. */
function run(
  status: RunStatus,
  counts: RunCounts,
  outcome: RunOutcome | null = null,
): Pick<RunRecord, 'status' | 'outcome' | 'counts' | 'pausedAt' | 'pausedBy'> {
  return { status, outcome, counts, pausedAt: null, pausedBy: null };
}

describe('progressText', () => {
  it('says who paused a running run, with its progress so far', () => {
    const paused = {
      ...run('running', { tenants: 10, tenantsSucceeded: 4, examined: 1200, changed: 300 }),
      pausedAt: new Date(),
      pausedBy: 'op@example.com',
    };
    expect(findingsText(paused)).toBe(
      'Paused by op@example.com: 4/10 tenants; 300 findings changed of 1,200 examined.',
    );
    expect(findingsText({ ...paused, status: 'completed', outcome: 'cancelled' })).toMatch(
      /^Cancelled: 4\/10 tenants settled/,
    );
  });

  it('says a queued run waits for a worker, whatever its counts', () => {
    expect(findingsText(run('queued', {}))).toBe('Queued: waiting for a worker to pick the run up.');
    expect(findingsText(run('queued', { tenants: 5, tenantsSucceeded: 2 }))).toBe(
      'Queued: waiting for a worker to pick the run up.',
    );
  });

  it('counts settled tenants and changed findings while running', () => {
    expect(
      findingsText(
        run('running', { tenants: 10, tenantsSucceeded: 3, tenantsCancelled: 1, examined: 400, changed: 25 }),
      ),
    ).toBe('Running: 4/10 tenants; 25 findings changed of 400 examined.');
  });

  it('reads missing counts as zero', () => {
    expect(findingsText(run('running', {}))).toBe('Running: 0/0 tenants; 0 findings changed of 0 examined.');
  });

  it('adds the failed tenants, and counts them as settled', () => {
    expect(
      findingsText(run('running', { tenants: 10, tenantsSucceeded: 3, tenantsFailed: 2, examined: 9, changed: 1 })),
    ).toBe('Running: 5/10 tenants, 2 failed; 1 finding changed of 9 examined.');
  });

  it('leaves the failed suffix out when nothing failed', () => {
    expect(findingsText(run('running', { tenants: 2, tenantsFailed: 0 }))).not.toContain('failed');
  });

  it('writes thousands separators', () => {
    expect(
      findingsText(
        run('running', {
          tenants: 12_000,
          tenantsSucceeded: 10_500,
          tenantsFailed: 1_250,
          examined: 60_000_000,
          changed: 1_234_567,
        }),
      ),
    ).toBe('Running: 11,750/12,000 tenants, 1,250 failed; 1,234,567 findings changed of 60,000,000 examined.');
  });

  it('names the unit it is given', () => {
    expect(progressText(run('running', { tenants: 1, examined: 2, changed: 2 }), 'rows')).toBe(
      'Running: 0/1 tenants; 2 rows changed of 2 examined.',
    );
  });

  it.each<[RunOutcome, string]>([
    ['succeeded', 'succeeded'],
    ['partially_succeeded', 'partially succeeded'],
    ['failed', 'failed'],
  ])('states the outcome of a completed run (%s)', (outcome, words) => {
    expect(
      findingsText(run('completed', { tenants: 3, tenantsSucceeded: 3, examined: 1_500, changed: 1_001 }, outcome)),
    ).toBe(`Completed (${words}): 3/3 tenants; 1,001 findings changed of 1,500 examined.`);
  });

  it("tells a cancelled run's settled tenants from those it cancelled", () => {
    expect(
      findingsText(
        run(
          'completed',
          { tenants: 20, tenantsSucceeded: 5, tenantsFailed: 1, tenantsCancelled: 14, examined: 600, changed: 500 },
          'cancelled',
        ),
      ),
    ).toBe('Cancelled: 6/20 tenants settled (1 failed), 14 cancelled; 500 findings changed of 600 examined.');
  });

  it('says a run is cancelling once a cancel was asked for, before it is paused or running', () => {
    const cancelling = {
      ...run('running', { tenants: 2, tenantsSucceeded: 1 }),
      cancelRequestedAt: new Date(),
      pausedBy: 'x',
    };
    expect(findingsText(cancelling)).toMatch(/^Cancelling: 1\/2 tenants;/);
  });

  it('keeps the failed suffix on a completed run', () => {
    expect(
      findingsText(
        run(
          'completed',
          { tenants: 4, tenantsSucceeded: 1, tenantsFailed: 3, examined: 10, changed: 2 },
          'partially_succeeded',
        ),
      ),
    ).toBe('Completed (partially succeeded): 4/4 tenants, 3 failed; 2 findings changed of 10 examined.');
  });
});

describe('runFraction', () => {
  it('is 1 for a completed run, whatever its counts, but a cancelled one ends where it got to', () => {
    expect(runFraction(run('completed', {}))).toBe(1);
    expect(runFraction(run('completed', { tenants: 10, tenantsSucceeded: 2 }, 'failed'))).toBe(1);
    expect(
      runFraction(
        run('completed', { tenants: 10, tenantsSucceeded: 2, tenantsFailed: 1, tenantsCancelled: 7 }, 'cancelled'),
      ),
    ).toBeCloseTo(0.3);
  });

  it('is 0 when there are no tenants yet', () => {
    expect(runFraction(run('queued', {}))).toBe(0);
    expect(runFraction(run('running', { tenants: 0, tenantsSucceeded: 3 }))).toBe(0);
  });

  it('is the share of settled tenants (succeeded, failed or cancelled)', () => {
    expect(
      runFraction(run('running', { tenants: 8, tenantsSucceeded: 1, tenantsFailed: 2, tenantsCancelled: 1 })),
    ).toBe(0.5);
    expect(runFraction(run('running', { tenants: 4, tenantsRunning: 4, tenantsPending: 0 }))).toBe(0);
  });

  it('is clamped to 1 when counts overshoot the total', () => {
    expect(runFraction(run('running', { tenants: 2, tenantsSucceeded: 3, tenantsFailed: 1 }))).toBe(1);
  });

  it('stays within 0–1 for any counts', () => {
    const n = fc.nat({ max: 1_000 });
    fc.assert(
      fc.property(fc.constantFrom<RunStatus>('queued', 'running'), n, n, n, n, (status, tenants, s, f, c) => {
        const fraction = runFraction(
          run(status, { tenants, tenantsSucceeded: s, tenantsFailed: f, tenantsCancelled: c }),
        );
        return fraction >= 0 && fraction <= 1;
      }),
    );
  });
});

describe('progressBar', () => {
  it('is 30 cells wide by default, with the percentage after it', () => {
    expect(progressBar(0)).toBe(`[${'.'.repeat(30)}]   0%`);
    expect(progressBar(1)).toBe(`[${'#'.repeat(30)}] 100%`);
    expect(progressBar(0.5)).toBe(`[${'#'.repeat(15)}${'.'.repeat(15)}]  50%`);
  });

  it('clamps a fraction outside 0–1 instead of throwing', () => {
    expect(progressBar(1.5)).toBe(progressBar(1));
    expect(progressBar(-0.2)).toBe(progressBar(0));
  });

  it('honours a given width', () => {
    expect(progressBar(0.25, 8)).toBe('[##......]  25%');
    expect(progressBar(0.25, 1)).toBe('[.]  25%');
  });

  it('rounds the cells but floors the percentage, so it says 100% only when done', () => {
    expect(progressBar(0.999)).toBe(`[${'#'.repeat(30)}]  99%`);
    expect(progressBar(0.014, 10)).toBe('[..........]   1%');
  });

  it('keeps its width for every fraction in 0–1', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 80 }), (fraction, width) => {
        const bar = progressBar(fraction, width);
        return bar.length === width + 2 + 5 && /^\[#*\.*\] {1,3}\d{1,3}%$/.test(bar);
      }),
    );
  });
});
