/**
 * The database health gates' thresholds: what a run holds at (it goes on by itself once they
 * clear) and, a separate set, what pauses it for an operator. A run gets them at start (built-in
 * defaults, then its runbook's, then the environment's) and an operator may tune them live.
 * Plain data and checks, so that workflows, the starter and every surface can share them.
 */

/** The measured gates with a limit. Autovacuum and lock waits on the runbook's tables hold without one. */
export interface GateLimits {
  /** The largest replay lag of any streaming replica, in ms. */
  replicaLagMs: number;
  /** The age of the oldest open transaction of another session, in ms. */
  transactionAgeMs: number;
  /** Client connections, as a percentage of `max_connections`. */
  connectionsPercent: number;
  /** The number the custom gate's query returns (`HEALTH_CUSTOM_QUERY`); null: no limit. */
  custom: number | null;
}

export interface GateSettings {
  /** Off only where an operator turned the gates off (`HEALTH_GATES=off`); lock timeouts still hold a batch. */
  enabled: boolean;
  /** Over these, the run holds: no tenant starts another batch until they clear. */
  hold: GateLimits;
  /** Over these, the run pauses itself, tells its initiator, and waits for an operator. */
  critical: GateLimits;
  /** How long a batch statement waits for a lock before the batch gives up and the run holds, in ms. */
  lockTimeoutMs: number;
}

export const DEFAULT_GATES: GateSettings = {
  enabled: true,
  hold: { replicaLagMs: 5_000, transactionAgeMs: 300_000, connectionsPercent: 80, custom: null },
  critical: { replicaLagMs: 60_000, transactionAgeMs: 1_800_000, connectionsPercent: 95, custom: null },
  lockTimeoutMs: 2_000,
};

/** A change to some of them: a runbook's defaults, the environment's, or an operator's tune. */
export interface GateChange {
  enabled?: boolean;
  hold?: Partial<GateLimits>;
  critical?: Partial<GateLimits>;
  lockTimeoutMs?: number;
}

export function applyGateChange(base: GateSettings, change: GateChange | undefined): GateSettings {
  if (!change) return base;
  return {
    enabled: change.enabled ?? base.enabled,
    hold: { ...base.hold, ...change.hold },
    critical: { ...base.critical, ...change.critical },
    lockTimeoutMs: change.lockTimeoutMs ?? base.lockTimeoutMs,
  };
}

/** Whether a change changes anything at all. */
export function isEmptyGateChange(change: GateChange | undefined): boolean {
  if (!change) return true;
  const limits = (part: Partial<GateLimits> | undefined) => Object.keys(part ?? {}).length === 0;
  return (
    change.enabled === undefined && change.lockTimeoutMs === undefined && limits(change.hold) && limits(change.critical)
  );
}

/** Ranges a threshold may take: wide enough for any real database, narrow enough to mean something. */
const GATE_RANGES = {
  replicaLagMs: { min: 100, max: 24 * 3_600_000, unit: 'duration' },
  transactionAgeMs: { min: 1_000, max: 7 * 24 * 3_600_000, unit: 'duration' },
  connectionsPercent: { min: 1, max: 100, unit: 'percent' },
  lockTimeoutMs: { min: 50, max: 600_000, unit: 'duration' },
} as const;

/** Why a change is out of range, or null when every value in it is fine. */
export function gateChangeProblem(change: GateChange): string | null {
  for (const [level, limits] of [
    ['hold', change.hold],
    ['critical', change.critical],
  ] as const) {
    for (const [key, value] of Object.entries(limits ?? {}) as Array<[keyof GateLimits, number | null]>) {
      if (key === 'custom') {
        if (value !== null && !Number.isFinite(value)) return `The ${level} limit of the custom gate must be a number.`;
        continue;
      }
      const problem = rangeProblem(`The ${level} limit of ${GATE_NAMES[key]}`, value, GATE_RANGES[key]);
      if (problem) return problem;
    }
  }
  if (change.lockTimeoutMs !== undefined) {
    return rangeProblem('The lock timeout', change.lockTimeoutMs, GATE_RANGES.lockTimeoutMs);
  }
  return null;
}

function rangeProblem(
  name: string,
  value: number | null,
  range: { min: number; max: number; unit: 'duration' | 'percent' },
): string | null {
  if (value !== null && Number.isInteger(value) && value >= range.min && value <= range.max) return null;
  const shown = (n: number) => (range.unit === 'percent' ? `${n} %` : formatGateDuration(n));
  return `${name} must be from ${shown(range.min)} to ${shown(range.max)}; got ${value === null ? 'none' : shown(value)}.`;
}

/** What each gate is called where a person reads it. */
const GATE_NAMES: Record<keyof GateLimits, string> = {
  replicaLagMs: 'replica lag',
  transactionAgeMs: 'the oldest transaction',
  connectionsPercent: 'connections',
  custom: 'the custom gate',
};

/**
 * A duration as people write it: 500 ms, 5 s, 1.5 min, 2 h. A limit is shown to the millisecond
 * where it is not round (never as another value than it is); a measure, with `decimals: 1`.
 */
export function formatGateDuration(ms: number, { decimals = 3 } = {}): string {
  const trim = (n: number) => String(Math.round(n * 10 ** decimals) / 10 ** decimals);
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${trim(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${trim(ms / 60_000)} min`;
  return `${trim(ms / 3_600_000)} h`;
}
