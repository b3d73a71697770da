import { describe, expect, it } from 'vitest';
import { phaseOf, runClock } from '../src/runbooks/runPhase.js';

const at = (seconds: number) => new Date(Date.UTC(2026, 11, 5, 12, 0, seconds));

describe('phaseOf', () => {
  const run = { status: 'running' as const, pausedAt: null, cancelRequestedAt: null, heldSince: null };

  it('is one word per run: a pause and a cancel asked for tell a running run apart', () => {
    expect(phaseOf(run)).toBe('running');
    expect(phaseOf({ ...run, status: 'queued' })).toBe('queued');
    expect(phaseOf({ ...run, pausedAt: at(1) })).toBe('paused');
    expect(phaseOf({ ...run, pausedAt: at(1), cancelRequestedAt: at(2) })).toBe('cancelling');
  });

  it('is held while a health gate holds a running run, unless it is paused or cancelling', () => {
    expect(phaseOf({ ...run, heldSince: at(1) })).toBe('held');
    expect(phaseOf({ ...run, heldSince: at(1), pausedAt: at(2) })).toBe('paused');
    expect(phaseOf({ ...run, heldSince: at(1), cancelRequestedAt: at(2) })).toBe('cancelling');
  });

  it('is completed once the run is, whatever it was paused or cancelling', () => {
    expect(phaseOf({ status: 'completed', pausedAt: at(1), cancelRequestedAt: at(2), heldSince: at(1) })).toBe(
      'completed',
    );
  });
});

describe('runClock', () => {
  const started = { startedAt: at(0), completedAt: null, pausedAt: null, pausedMs: 0, heldSince: null, heldMs: 0 };

  it('has worked nothing before it started', () => {
    expect(runClock({ ...started, startedAt: null }, at(30))).toEqual({ workedMs: 0, pausedMs: 0, heldMs: 0 });
  });

  it('counts the ended pauses and the one going on apart from the working time', () => {
    expect(runClock({ ...started, pausedMs: 10_000 }, at(40))).toEqual({
      workedMs: 30_000,
      pausedMs: 10_000,
      heldMs: 0,
    });
    expect(runClock({ ...started, pausedMs: 10_000, pausedAt: at(35) }, at(40))).toEqual({
      workedMs: 25_000,
      pausedMs: 15_000,
      heldMs: 0,
    });
  });

  it('ends at completion, a pause it ended in included', () => {
    expect(runClock({ ...started, completedAt: at(20), pausedAt: at(15) }, at(59))).toEqual({
      workedMs: 15_000,
      pausedMs: 5_000,
      heldMs: 0,
    });
  });

  it('counts a pause from the start when it was asked for while the run was queued', () => {
    expect(runClock({ ...started, startedAt: at(10), pausedAt: at(5) }, at(20))).toEqual({
      workedMs: 0,
      pausedMs: 10_000,
      heldMs: 0,
    });
  });

  it('counts time held as working time, told apart: the ended holds and the one going on', () => {
    expect(runClock({ ...started, heldMs: 4_000, heldSince: at(30) }, at(40))).toEqual({
      workedMs: 40_000,
      pausedMs: 0,
      heldMs: 14_000,
    });
    expect(runClock({ ...started, heldMs: 4_000, heldSince: at(30), completedAt: at(35) }, at(40))).toEqual({
      workedMs: 35_000,
      pausedMs: 0,
      heldMs: 4_000,
    });
  });
});
