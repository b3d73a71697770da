// Types and names shared by the workflows and the code that starts them. No runtime imports:
// workflow code must stay deterministic.
import type { RunSettings } from '../config.js';

/** What the workflow tells about the preflight the run was confirmed against. */
export interface PreflightSummary {
  id: string;
  contentHash: string;
  tenantsInScope: number;
  inScope: number;
  toChange: number;
}

export interface FanOutInput {
  runId: string;
  runbook: string;
  settings: RunSettings;
  preflight: PreflightSummary | null;
  /** Carried across continue-as-new. */
  carried?: FanOutProgress;
}

export interface FanOutProgress {
  tenantsTotal: number;
  tenantsDone: number;
  tenantsFailed: number;
  /** Highest tenant id already handed to a child. */
  cursor: number;
  continuedAsNew: number;
}

export interface TenantInput {
  runId: string;
  runbook: string;
  tenantId: number;
  settings: RunSettings;
  preflight: PreflightSummary | null;
  /** A single-tenant run: this workflow also begins and completes the run. */
  isRoot: boolean;
}

export type ItemStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface TenantProgress {
  tenantId: number;
  status: ItemStatus;
  examined: number;
  changed: number;
  batches: number;
  error?: string;
}
