/**
 * What the batch activity tells whoever watches the engine at work (the worker's metrics), as it
 * happens. The engine knows nothing of how it is recorded: a composition root hands an observer in.
 * Only bounded values: a runbook's id and a gate's name, never a tenant or a reason.
 */

/** The health gates by name, as a hold is counted against them. */
export const GATE_NAMES = [
  'replica_lag',
  'transaction_age',
  'connections',
  'custom',
  'vacuum',
  'lock_wait',
  'lock_timeout',
] as const;
export type GateName = (typeof GATE_NAMES)[number];

export interface RunObserver {
  /** A batch committed: its statements' time and its rows. */
  batchDone(batch: { runbook: string; ms: number; examined: number; changed: number }): void;
  /** A tenant of a run of `runbook` waited `ms` for these gates (each named gate is counted). */
  held(hold: { runbook: string; gates: readonly GateName[]; ms: number }): void;
}

/** Nobody watches: the tests' and the CLI's default. */
export const UNOBSERVED: RunObserver = { batchDone: () => {}, held: () => {} };
