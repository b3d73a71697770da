import type { Static, TObject } from 'typebox';
import type { Queryable } from '../db/queryable.js';
import type { GateChange } from './health/gateSettings.js';
import type { ApprovalPolicy } from './approvals/approvalPolicy.js';
import type { TenantFingerprint, TenantRef } from './model.js';

/** What a preflight counts, per tenant and in total, in the runbook's unit (e.g. findings). */
interface TenantPreflight {
  tenantId: number;
  inScope: number;
  toChange: number;
}

/**
 * One example of what a run would change: a row, named by `key`, and its fields before and
 * after. `before` and `after` hold the fields that change (they may hold others too: the console
 * shows a field only where its values differ); values are JSON, instants as ISO 8601 text.
 */
export interface SampleChange {
  /** The row's id as text; the runbook's `sampleKey` says what it names. */
  key: string;
  before: Record<string, unknown>;
  after: Record<string, unknown>;
}

/** The runbook-specific part of a preflight report. */
export interface PreflightBody {
  perTenant: TenantPreflight[];
  /** How many rows would change per field or kind of change. */
  breakdown: Record<string, number>;
  /** A few before/after examples (empty when asked for the numbers only). */
  sample: SampleChange[];
}

/**
 * What a runbook's reads and writes are done against: the parameters as the preflight fixed them
 * (canonical, defaults filled in), and the run's one "now", fixed by the preflight and used by
 * the run's batches and its verification, so that the preflight's numbers are the run's.
 */
export interface RunContext<P extends TObject = TObject> {
  parameters: Static<P>;
  asOf: Date;
}

/**
 * A runbook: what to do, separate from the run record (what happened) and from the starter
 * (creates and enqueues, never executes). The shared workflows, the starter and every surface
 * drive a definition through these functions and its declared parameters.
 */
export interface RunbookDefinition<P extends TObject = TObject> {
  id: string;
  /** The name the CLI takes: `start-runbook <cliName>`. */
  cliName: string;
  title: string;
  description: string;
  /** What the counts count, for people: "findings". */
  unit: string;
  /** What a sample's `key` names, for people: "Finding" (the heading of the sample's key column). */
  sampleKey: string;
  /** Run once per release by the deploy hook, with its parameters' defaults. */
  deployTriggered: boolean;
  /** Its typed parameters (`defineParameters`; `NO_PARAMETERS` for none). */
  parameters: P;
  /**
   * The data it writes, as a lock key ("findings"): an active run of any runbook that writes the
   * same data over an overlapping scope refuses a start.
   */
  writes: string;
  /**
   * The tables its batches write, as PostgreSQL names them: the health gates watch them (a vacuum
   * running on one, or sessions waiting for locks on one, hold the run).
   */
  tables: readonly string[];
  /**
   * The batch sizes that suit it, within the engine's 50–50,000 rows: a size that sizes itself
   * stays within them, and an operator's fixed size must too.
   */
  batchBounds?: { min?: number; max?: number };
  /** Its own health-gate thresholds where the engine's defaults do not suit it; the environment's win over them. */
  gates?: GateChange;
  /** Approvals its starts need beyond the deployment's policy (`APPROVALS`): the more of the two applies. */
  approvals?: ApprovalPolicy;
  /** Whether a customer may start it on their own tenant from the /admin trigger; operators only otherwise. */
  customerTrigger?: boolean;
  /**
   * Read-only report for the tenants in scope, with one `perTenant` entry per tenant.
   * `sample: false` leaves out the before/after examples, for a recount that needs the numbers only.
   */
  preflight(
    q: Queryable,
    tenants: TenantRef[],
    context: RunContext<P>,
    options?: { sample?: boolean },
  ): Promise<PreflightBody>;
  /**
   * Read-only fingerprint of each given tenant's data, taken in the caller's snapshot. It must be
   * far cheaper than `preflight`: per tenant a few index reads, none of the rules' per-row work.
   */
  fingerprint(q: Queryable, tenantIds: number[], context: RunContext<P>): Promise<Map<number, TenantFingerprint>>;
  /**
   * Processes the next batch of one tenant after `cursor`, in the caller's transaction, and
   * returns what it did (`last`: nothing came after it), or null when the tenant has nothing
   * after the cursor.
   */
  processBatch(
    q: Queryable,
    batch: { runId: string; tenantId: number; cursor: number; batchSize: number },
    context: RunContext<P>,
  ): Promise<{
    cursor: number;
    examined: number;
    changed: number;
    breakdown: Record<string, number>;
    last: boolean;
  } | null>;
  /** Read-only recount after a tenant is done: how many rows still need a change (0 = verified). */
  remainingToChange(q: Queryable, tenantId: number, context: RunContext<P>): Promise<number>;
}

/**
 * A catalog entry: the definition typed by its own parameters, registered as any runbook.
 * (The engine hands every runbook only values its own declaration accepted.)
 */
export function defineRunbook<P extends TObject>(definition: RunbookDefinition<P>): RunbookDefinition {
  return definition;
}
