import type { CarriedFanOut } from './inputs.js';

export interface RunProgress extends CarriedFanOut {
  running: number;
  paused: boolean;
}

/**
 * Everything the fan-out knows about its run, in one place: the loop, the signal and query
 * handlers and continue-as-new all read and write this object, so nothing (a pause, say) can
 * live in a closure that the next continuation forgets.
 */
export class FanOutState {
  tenantsTotal: number;
  tenantsDone: number;
  tenantsFailed: number;
  cursor: number;
  continuedAsNew: number;
  pausedBy: string | null;
  /** Tenant ids whose child workflow is running now. */
  readonly running = new Set<number>();

  constructor(carried?: CarriedFanOut) {
    this.tenantsTotal = carried?.tenantsTotal ?? 0;
    this.tenantsDone = carried?.tenantsDone ?? 0;
    this.tenantsFailed = carried?.tenantsFailed ?? 0;
    this.cursor = carried?.cursor ?? 0;
    this.continuedAsNew = carried?.continuedAsNew ?? 0;
    this.pausedBy = carried?.pausedBy ?? null;
  }

  get paused(): boolean {
    return this.pausedBy !== null;
  }

  pause(by: string): void {
    this.pausedBy ??= by;
  }

  resume(): void {
    this.pausedBy = null;
  }

  /** Whether another child may start now. */
  canStartChild(parallelism: number): boolean {
    return !this.paused && this.running.size < parallelism;
  }

  recordTenant(succeeded: boolean): void {
    if (succeeded) this.tenantsDone++;
    else this.tenantsFailed++;
  }

  /** What the next continuation starts from. */
  carry(): CarriedFanOut {
    return {
      tenantsTotal: this.tenantsTotal,
      tenantsDone: this.tenantsDone,
      tenantsFailed: this.tenantsFailed,
      cursor: this.cursor,
      continuedAsNew: this.continuedAsNew + 1,
      pausedBy: this.pausedBy,
    };
  }

  progress(): RunProgress {
    return { ...this.carry(), continuedAsNew: this.continuedAsNew, running: this.running.size, paused: this.paused };
  }
}
