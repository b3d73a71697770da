import { describe, expect, it } from 'vitest';
import {
  applyGateChange,
  DEFAULT_GATES,
  formatGateDuration,
  gateChangeProblem,
  isEmptyGateChange,
  type GateSettings,
} from '../src/runbooks/health/gateSettings.js';
import type { HealthSnapshot } from '../src/runbooks/health/healthSnapshot.js';
import { judgeHealth } from '../src/runbooks/health/judgeHealth.js';

/** A database well inside every default limit. */
const healthy: HealthSnapshot = {
  replicaLagMs: 200,
  oldestTransaction: { pid: 4242, ageMs: 1_000 },
  connections: { used: 10, max: 100 },
  vacuuming: [],
  lockWaits: null,
  custom: null,
  unavailable: {},
};

const withLimits = (change: Parameters<typeof applyGateChange>[1]): GateSettings =>
  applyGateChange(DEFAULT_GATES, change);

describe('judgeHealth', () => {
  it('is clear on a healthy database', () => {
    expect(judgeHealth(healthy, DEFAULT_GATES)).toEqual({ level: 'clear' });
  });

  it('is clear without replicas (no lag to measure)', () => {
    expect(judgeHealth({ ...healthy, replicaLagMs: null }, DEFAULT_GATES)).toEqual({ level: 'clear' });
  });

  it('holds while a replica lags more than the hold limit, saying by how much', () => {
    expect(judgeHealth({ ...healthy, replicaLagMs: 12_400 }, DEFAULT_GATES)).toEqual({
      level: 'hold',
      reason: 'replica lag 12.4 s > 5 s',
      gates: ['replica_lag'],
    });
  });

  it('holds only over the limit, not at it', () => {
    expect(judgeHealth({ ...healthy, replicaLagMs: 5_000 }, DEFAULT_GATES)).toEqual({ level: 'clear' });
    expect(judgeHealth({ ...healthy, connections: { used: 80, max: 100 } }, DEFAULT_GATES)).toEqual({
      level: 'clear',
    });
  });

  it('is critical over a critical limit, and then says nothing of the hold limits', () => {
    const verdict = judgeHealth(
      { ...healthy, replicaLagMs: 90_000, connections: { used: 85, max: 100 }, vacuuming: ['public.findings'] },
      DEFAULT_GATES,
    );
    expect(verdict).toEqual({
      level: 'critical',
      reason: 'replica lag 90.0 s > 1 min (critical)',
      gates: ['replica_lag'],
    });
  });

  it('lists every critical limit it is over, once, with "(critical)" at the end', () => {
    const verdict = judgeHealth(
      { ...healthy, replicaLagMs: 61_000, connections: { used: 96, max: 100 } },
      DEFAULT_GATES,
    );
    expect(verdict).toEqual({
      level: 'critical',
      reason: 'replica lag 61.0 s > 1 min; connections 96 of 100 (96 %) > 95 % (critical)',
      gates: ['replica_lag', 'connections'],
    });
  });

  it('holds on a transaction open longer than the limit, naming its pid', () => {
    expect(judgeHealth({ ...healthy, oldestTransaction: { pid: 777, ageMs: 400_000 } }, DEFAULT_GATES)).toEqual({
      level: 'hold',
      reason: 'transaction of pid 777 open for 6.7 min > 5 min',
      gates: ['transaction_age'],
    });
  });

  it('holds over the share of connections, as a percentage of max_connections', () => {
    expect(judgeHealth({ ...healthy, connections: { used: 170, max: 200 } }, DEFAULT_GATES)).toEqual({
      level: 'hold',
      reason: 'connections 170 of 200 (85 %) > 80 %',
      gates: ['connections'],
    });
  });

  it('holds while a vacuum runs on a watched table, naming the tables', () => {
    expect(judgeHealth({ ...healthy, vacuuming: ['public.findings'] }, DEFAULT_GATES)).toEqual({
      level: 'hold',
      reason: 'vacuum running on public.findings',
      gates: ['vacuum'],
    });
    expect(judgeHealth({ ...healthy, vacuuming: ['public.a', 'public.b'] }, DEFAULT_GATES)).toEqual({
      level: 'hold',
      reason: 'vacuum running on public.a, public.b',
      gates: ['vacuum'],
    });
  });

  it('holds while sessions wait for locks on a watched table, naming the pid that blocks them', () => {
    const lockWaits = { table: 'public.findings', waiting: 3, blockedBy: 9876 };
    expect(judgeHealth({ ...healthy, lockWaits }, DEFAULT_GATES)).toEqual({
      level: 'hold',
      reason: '3 session(s) waiting for locks on public.findings (blocked by pid 9876)',
      gates: ['lock_wait'],
    });
    expect(judgeHealth({ ...healthy, lockWaits: { ...lockWaits, blockedBy: null } }, DEFAULT_GATES)).toEqual({
      level: 'hold',
      reason: '3 session(s) waiting for locks on public.findings',
      gates: ['lock_wait'],
    });
  });

  it('joins every reason to hold, the measured gates first', () => {
    const verdict = judgeHealth(
      {
        ...healthy,
        replicaLagMs: 6_000,
        vacuuming: ['public.findings'],
        lockWaits: { table: 'public.findings', waiting: 1, blockedBy: 12 },
      },
      DEFAULT_GATES,
    );
    expect(verdict).toEqual({
      level: 'hold',
      reason:
        'replica lag 6.0 s > 5 s; vacuum running on public.findings; ' +
        '1 session(s) waiting for locks on public.findings (blocked by pid 12)',
      gates: ['replica_lag', 'vacuum', 'lock_wait'],
    });
  });

  it('consults the custom gate only where a limit is set', () => {
    const snapshot = { ...healthy, custom: 42 };
    expect(judgeHealth(snapshot, DEFAULT_GATES)).toEqual({ level: 'clear' });
    expect(judgeHealth(snapshot, withLimits({ hold: { custom: 10 } }))).toEqual({
      level: 'hold',
      reason: 'custom gate 42 > 10',
      gates: ['custom'],
    });
    expect(judgeHealth(snapshot, withLimits({ hold: { custom: 10 }, critical: { custom: 40 } }))).toEqual({
      level: 'critical',
      reason: 'custom gate 42 > 40 (critical)',
      gates: ['custom'],
    });
    expect(judgeHealth({ ...healthy, custom: null }, withLimits({ hold: { custom: 10 } }))).toEqual({
      level: 'clear',
    });
  });

  it('says nothing of a gate whose measure is unavailable, even when its value is over', () => {
    const snapshot: HealthSnapshot = {
      ...healthy,
      replicaLagMs: 120_000,
      unavailable: { replicaLag: 'hidden from this role' },
    };
    expect(judgeHealth(snapshot, DEFAULT_GATES)).toEqual({ level: 'clear' });
  });

  it('is always clear with the gates turned off', () => {
    const everythingOver: HealthSnapshot = {
      replicaLagMs: 3_600_000,
      oldestTransaction: { pid: 1, ageMs: 86_400_000 },
      connections: { used: 100, max: 100 },
      vacuuming: ['public.findings'],
      lockWaits: { table: 'public.findings', waiting: 9, blockedBy: 2 },
      custom: 1e9,
      unavailable: {},
    };
    const off = withLimits({ enabled: false, hold: { custom: 0 }, critical: { custom: 1 } });
    expect(judgeHealth(everythingOver, off)).toEqual({ level: 'clear' });
  });

  it('uses the run’s own thresholds rather than the defaults', () => {
    const snapshot = { ...healthy, replicaLagMs: 12_400 };
    expect(judgeHealth(snapshot, withLimits({ hold: { replicaLagMs: 20_000 } }))).toEqual({ level: 'clear' });
    expect(judgeHealth(snapshot, withLimits({ critical: { replicaLagMs: 10_000 } }))).toEqual({
      level: 'critical',
      reason: 'replica lag 12.4 s > 10 s (critical)',
      gates: ['replica_lag'],
    });
  });
});

describe('gateChangeProblem', () => {
  it('has no problem with an empty change or one within range', () => {
    expect(gateChangeProblem({})).toBeNull();
    expect(
      gateChangeProblem({
        enabled: false,
        hold: { replicaLagMs: 100, transactionAgeMs: 1_000, connectionsPercent: 1, custom: -3.5 },
        critical: { replicaLagMs: 86_400_000, transactionAgeMs: 604_800_000, connectionsPercent: 100, custom: null },
        lockTimeoutMs: 600_000,
      }),
    ).toBeNull();
  });

  it('refuses a replica lag below 100 ms', () => {
    expect(gateChangeProblem({ hold: { replicaLagMs: 99 } })).toBe(
      'The hold limit of replica lag must be from 100 ms to 24 h; got 99 ms.',
    );
  });

  it('refuses connections over 100 % or under 1 %', () => {
    expect(gateChangeProblem({ critical: { connectionsPercent: 101 } })).toBe(
      'The critical limit of connections must be from 1 % to 100 %; got 101 %.',
    );
    expect(gateChangeProblem({ hold: { connectionsPercent: 0 } })).toBe(
      'The hold limit of connections must be from 1 % to 100 %; got 0 %.',
    );
  });

  it('refuses a fraction where a whole number is needed', () => {
    expect(gateChangeProblem({ hold: { connectionsPercent: 80.5 } })).toBe(
      'The hold limit of connections must be from 1 % to 100 %; got 80.5 %.',
    );
  });

  it('refuses a transaction age under a second', () => {
    expect(gateChangeProblem({ critical: { transactionAgeMs: 999 } })).toBe(
      'The critical limit of the oldest transaction must be from 1 s to 168 h; got 999 ms.',
    );
  });

  it('refuses a custom limit that is not a number, but takes none', () => {
    expect(gateChangeProblem({ hold: { custom: NaN } })).toBe('The hold limit of the custom gate must be a number.');
    expect(gateChangeProblem({ critical: { custom: Infinity } })).toBe(
      'The critical limit of the custom gate must be a number.',
    );
    expect(gateChangeProblem({ hold: { custom: null } })).toBeNull();
  });

  it('refuses a lock timeout outside 50 ms to 10 min', () => {
    expect(gateChangeProblem({ lockTimeoutMs: 10 })).toBe('The lock timeout must be from 50 ms to 10 min; got 10 ms.');
    expect(gateChangeProblem({ lockTimeoutMs: 900_000 })).toBe(
      'The lock timeout must be from 50 ms to 10 min; got 15 min.',
    );
    expect(gateChangeProblem({ lockTimeoutMs: 50 })).toBeNull();
  });

  it('says the hold problem before the critical one', () => {
    expect(gateChangeProblem({ hold: { replicaLagMs: 1 }, critical: { connectionsPercent: 500 } })).toBe(
      'The hold limit of replica lag must be from 100 ms to 24 h; got 1 ms.',
    );
  });
});

describe('applyGateChange', () => {
  it('returns the base itself when there is no change', () => {
    expect(applyGateChange(DEFAULT_GATES, undefined)).toBe(DEFAULT_GATES);
  });

  it('changes only the thresholds given, keeping the rest of each level', () => {
    expect(applyGateChange(DEFAULT_GATES, { hold: { replicaLagMs: 10_000 }, lockTimeoutMs: 5_000 })).toEqual({
      enabled: true,
      hold: { replicaLagMs: 10_000, transactionAgeMs: 300_000, connectionsPercent: 80, custom: null },
      critical: { replicaLagMs: 60_000, transactionAgeMs: 1_800_000, connectionsPercent: 95, custom: null },
      lockTimeoutMs: 5_000,
    });
  });

  it('layers changes: a later one wins where both set a threshold', () => {
    const runbook = applyGateChange(DEFAULT_GATES, { hold: { replicaLagMs: 10_000, custom: 5 } });
    const environment = applyGateChange(runbook, { enabled: false, hold: { replicaLagMs: 2_000 } });
    expect(environment.enabled).toBe(false);
    expect(environment.hold).toEqual({
      replicaLagMs: 2_000,
      transactionAgeMs: 300_000,
      connectionsPercent: 80,
      custom: 5,
    });
  });

  it('can clear a custom limit with null', () => {
    const limited = applyGateChange(DEFAULT_GATES, { critical: { custom: 7 } });
    expect(applyGateChange(limited, { critical: { custom: null } }).critical.custom).toBeNull();
  });

  it('leaves the defaults alone', () => {
    applyGateChange(DEFAULT_GATES, { enabled: false, hold: { replicaLagMs: 1_000 }, critical: { custom: 3 } });
    expect(DEFAULT_GATES).toEqual({
      enabled: true,
      hold: { replicaLagMs: 5_000, transactionAgeMs: 300_000, connectionsPercent: 80, custom: null },
      critical: { replicaLagMs: 60_000, transactionAgeMs: 1_800_000, connectionsPercent: 95, custom: null },
      lockTimeoutMs: 2_000,
    });
  });
});

describe('isEmptyGateChange', () => {
  it('is empty when nothing is given', () => {
    expect(isEmptyGateChange(undefined)).toBe(true);
    expect(isEmptyGateChange({})).toBe(true);
    expect(isEmptyGateChange({ hold: {}, critical: {} })).toBe(true);
  });

  it('is not empty when any one thing is given, turning the gates off or clearing a limit included', () => {
    expect(isEmptyGateChange({ enabled: false })).toBe(false);
    expect(isEmptyGateChange({ lockTimeoutMs: 500 })).toBe(false);
    expect(isEmptyGateChange({ hold: { custom: null } })).toBe(false);
    expect(isEmptyGateChange({ critical: { connectionsPercent: 90 } })).toBe(false);
  });
});

describe('formatGateDuration', () => {
  it('writes a duration in the largest unit it reaches, exact to the millisecond', () => {
    expect(formatGateDuration(500)).toBe('500 ms');
    expect(formatGateDuration(1_000)).toBe('1 s');
    expect(formatGateDuration(5_000)).toBe('5 s');
    expect(formatGateDuration(60_000)).toBe('1 min');
    expect(formatGateDuration(90_000)).toBe('1.5 min');
    expect(formatGateDuration(7_200_000)).toBe('2 h');
    // Never rounded into another value: out of a range is shown out of it.
    expect(formatGateDuration(601_000)).toBe('10.017 min');
    expect(formatGateDuration(59_999)).toBe('59.999 s');
  });
});
