import type { CarriedFanOut } from './inputs.js';
import type { RunGuards } from '../runbooks/model.js';

export interface RunProgress extends CarriedFanOut {
  running: number;
  paused: boolean;
}

const FRESH: CarriedFanOut = {
  tenantsTotal: 0,
  tenantsDone: 0,
  tenantsFailed: 0,
  cursor: 0,
  continuedAsNew: 0,
  pausedBy: null,
  canaryDone: false,
  budgetTripped: false,
};

/**
 * Everything the fan-out knows about its run, in one place: the loop, the signal and query
 * handlers and continue-as-new all read and write this object, so nothing (a pause, say) can
 * live in a closure that the next continuation forgets.
 */
export class FanOutState {
  /** What outlives one workflow run: handed to the next continuation as it is. */
  readonly carried: CarriedFanOut;
  /** Tenant ids whose child workflow is running now. */
  readonly running = new Set<number>();

  constructor(carried?: CarriedFanOut) {
    this.carried = { ...FRESH, ...carried };
  }

  get paused(): boolean {
    return this.carried.pausedBy !== null;
  }

  pause(by: string): void {
    this.carried.pausedBy ??= by;
  }

  resume(): void {
    this.carried.pausedBy = null;
  }

  /** Whether the failed tenants exceed the error budget (checked once a run: then it is the operator's call). */
  overBudget(guards: RunGuards): boolean {
    const { tenantsFailed, tenantsTotal } = this.carried;
    const overCount = guards.maxFailedTenants !== undefined && tenantsFailed > guards.maxFailedTenants;
    const overShare =
      guards.maxFailedPercent !== undefined &&
      tenantsTotal > 0 &&
      (100 * tenantsFailed) / tenantsTotal > guards.maxFailedPercent;
    return !this.carried.budgetTripped && (overCount || overShare);
  }

  /** Whether another child may start now. */
  canStartChild(parallelism: number): boolean {
    return !this.paused && this.running.size < parallelism;
  }

  recordTenant(succeeded: boolean): void {
    if (succeeded) this.carried.tenantsDone++;
    else this.carried.tenantsFailed++;
  }

  /** What the next continuation starts from. */
  carry(): CarriedFanOut {
    return { ...this.carried, continuedAsNew: this.carried.continuedAsNew + 1 };
  }

  progress(): RunProgress {
    return { ...this.carried, running: this.running.size, paused: this.paused };
  }
}
