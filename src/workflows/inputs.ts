// Types shared by the workflows and the code that starts them. No runtime imports: workflow
// code must stay deterministic.
import type { RunSettings } from '../config.js';
import type { PreflightSummary, RunGuards } from '../runbooks/model.js';

interface RunInput {
  runId: string;
  runbook: string;
  settings: RunSettings;
  preflight: PreflightSummary | null;
  /**
   * Whether the namespace has the project's search attributes: a run started without them
   * (a cluster that refused to register them) starts its children without them too.
   */
  searchAttributes: boolean;
}

export interface FanOutInput extends RunInput {
  /** Error budget and canary wave; see `RunGuards`. */
  guards?: RunGuards;
  /** Carried across continue-as-new. */
  carried?: CarriedFanOut;
}

/** The fan-out's state that outlives one workflow run: see `FanOutState`. */
export interface CarriedFanOut {
  tenantsTotal: number;
  tenantsDone: number;
  tenantsFailed: number;
  /** Highest tenant id already handed to a child. */
  cursor: number;
  continuedAsNew: number;
  /** Who paused the run, while it is paused. */
  pausedBy: string | null;
  /** The canary wave has run and an operator let the rest go on. */
  canaryDone: boolean;
  /** The error budget was exceeded once: it paused the run, and an operator resumed it. */
  budgetTripped: boolean;
}

export interface TenantInput extends RunInput {
  tenantId: number;
  /** A single-tenant run: this workflow also begins and completes the run. */
  isRoot: boolean;
}
