import type { Queryable } from '../db/queryable.js';
import type { TenantFingerprint, TenantRef } from './model.js';

/** What a preflight counts, per tenant and in total, in the runbook's unit (e.g. findings). */
interface TenantPreflight {
  tenantId: number;
  inScope: number;
  toChange: number;
}

/** The runbook-specific part of a preflight report. */
export interface PreflightBody {
  perTenant: TenantPreflight[];
  /** How many rows would change per field or kind of change. */
  breakdown: Record<string, number>;
  /** A few before/after examples (empty when asked for the numbers only). */
  sample: unknown[];
}

/**
 * A runbook: what to do, separate from the run record (what happened) and from the starter
 * (creates and enqueues, never executes). The shared workflows drive a definition through
 * these functions; the batch activity and the CLI's start command still name the first
 * runbook, so a new one touches those too until the engine stands apart from the catalog.
 */
export interface RunbookDefinition {
  id: string;
  /** The name the CLI takes: `start-runbook <cliName>`. */
  cliName: string;
  title: string;
  description: string;
  /** What the counts count, for people: "findings". */
  unit: string;
  /** Run once per release by the deploy hook. */
  deployTriggered: boolean;
  /**
   * Read-only report for the tenants in scope, with one `perTenant` entry per tenant.
   * `sample: false` leaves out the before/after examples, for a recount that needs the numbers only.
   */
  preflight(q: Queryable, tenants: TenantRef[], options?: { sample?: boolean }): Promise<PreflightBody>;
  /**
   * Read-only fingerprint of each given tenant's data, taken in the caller's snapshot. It must be
   * far cheaper than `preflight`: per tenant a few index reads, none of the rules' per-row work.
   */
  fingerprint(q: Queryable, tenantIds: number[]): Promise<Map<number, TenantFingerprint>>;
  /**
   * Processes the next batch of one tenant after `cursor`, in the caller's transaction, and
   * returns what it did (`last`: nothing came after it), or null when the tenant has nothing
   * after the cursor.
   */
  processBatch(
    q: Queryable,
    batch: { tenantId: number; cursor: number; batchSize: number },
  ): Promise<{
    cursor: number;
    examined: number;
    changed: number;
    breakdown: Record<string, number>;
    last: boolean;
  } | null>;
  /** Read-only recount after a tenant is done: how many rows still need a change (0 = verified). */
  remainingToChange(q: Queryable, tenantId: number): Promise<number>;
}
