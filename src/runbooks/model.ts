/**
 * The engine's shared vocabulary: plain types (and the list of run statuses) that the run
 * records, the drizzle schema, the workflows and every surface speak. It imports only types
 * that import nothing, so that the schema can name them without importing the repositories that
 * use the schema.
 */
import type { GateSettings } from './health/gateSettings.js';
import type { BatchSizing } from './sizing/batchSizer.js';
import type { SizingRequest } from './sizing/runSizing.js';

/** The phrase an operator types to confirm an all-tenants run. */
export const ALL_TENANTS_PHRASE = 'ALL TENANTS';

/** The reason a run records when it pauses at a change window's cutoff: resuming it by hand is an override. */
export const WINDOW_CLOSED = 'change window closed';

/** The phrase an operator types to stop every run. */
export const STOP_ALL_PHRASE = 'STOP ALL RUNS';

/** The lifecycle of an `operation_runs` row. */
export const RUN_STATUSES = [
  'queued', // row written by the starter; the workflow has not begun work yet
  'running', // the workflow has materialized its items and is working through them
  'completed', // terminal; `outcome` says how it ended
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RUN_OUTCOMES = ['succeeded', 'partially_succeeded', 'failed', 'cancelled'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

/**
 * What a run is doing, in one word, wherever it is shown: its status, told apart by a hold of
 * the health gates, a pause (by an operator or by itself) and a cancel asked for and not yet done.
 */
const RUN_PHASES = ['queued', 'running', 'held', 'paused', 'cancelling', 'completed'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

/** What lists of runs filter by: a phase, or how a completed run ended. */
export const RUN_FILTERS = [...RUN_PHASES, ...RUN_OUTCOMES] as const;
export type RunFilter = (typeof RUN_FILTERS)[number];

export type RunSource = 'system_ui' | 'cli' | 'deploy_hook' | 'admin_trigger';

/** Run totals, always derived from the run's items (`refreshRunCounts`). */
export interface RunCounts {
  tenants?: number;
  tenantsPending?: number;
  tenantsRunning?: number;
  tenantsSucceeded?: number;
  tenantsFailed?: number;
  tenantsCancelled?: number;
  examined?: number;
  changed?: number;
  batches?: number;
  breakdown?: Record<string, number>;
  /** The newest size of a run that sizes its batches itself: where its next tenant starts. */
  batchSize?: number;
}

/** Error budget and canary wave as a start asks for them; canary tenants by external id. */
export interface GuardsInput {
  maxFailedTenants?: number;
  maxFailedPercent?: number;
  canary?: { count?: number; tenants?: string[] };
}

/** What stops a run on its own to let an operator look: too many failed tenants, or a canary wave. */
export interface RunGuards {
  /** Pause when more tenants than this have failed. */
  maxFailedTenants?: number;
  /** Pause when more than this share (0–100) of the run's tenants have failed. */
  maxFailedPercent?: number;
  /** Run this many tenants first (the named ones, or the first by id), then pause for a go-ahead. */
  canary?: { count: number; tenantIds?: number[] };
}

/** The life of one tenant in a run (`operation_run_items.status`). */
export type ItemStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/**
 * A cheap summary of one tenant's data that moves whenever the tenant's count to change may
 * have moved: a start re-counts only the tenants whose fingerprint differs from the preflight's.
 * Flat JSON (stored as jsonb), compared value by value.
 */
export type TenantFingerprint = Readonly<Record<string, string | number | null>>;

/** Progress of one tenant, written together with the batch it describes. */
export interface TenantCounts {
  examined: number;
  changed: number;
  batches: number;
  breakdown: Record<string, number>;
  /** Highest id processed; a retried activity resumes after it. */
  cursor: number;
  /** Set by the read-only recount after the last batch. */
  verified?: boolean;
  remaining?: number;
  /** Where the tenant's time went: its batches' statements and the verification, in milliseconds. */
  spentMs?: { batches?: number; verification?: number };
  /** Its batch size, while the run sizes its batches itself. */
  sizing?: BatchSizing;
}

export type ScopeKind = 'tenant' | 'tenants' | 'all_tenants';

export interface TenantRef {
  id: number;
  externalId: string;
  workspaceId: number;
}

/** The scope as stored in `operation_runs.scope` and `preflights.scope`. */
export type StoredScope = { tenants: Array<{ id: number; externalId: string }> } | { allTenants: true };

/** What the workflow tells about the preflight the run was confirmed against. */
export interface PreflightSummary {
  id: string;
  contentHash: string;
  tenantsInScope: number;
  inScope: number;
  toChange: number;
}

/** A live change of a running run's settings, and who asks for it. */
export interface TuneRequest {
  by: string;
  parallelism?: number;
  batchSize?: number;
  /** A target batch duration: the run sizes its batches itself from now on; null: at `batchSize` from now on. */
  batchTargetMs?: number | null;
  /** The health-gate thresholds to go on with: the recorded ones with the operator's changes. */
  gates?: GateSettings;
}

/** The settings a run goes on with, and an operator may tune. */
export interface RunTuning {
  parallelism: number;
  /** Rows per batch; where a run sizes its batches itself, the size it starts with. */
  batchSize: number;
  /** Present when the run sizes its batches itself: how long it aims a batch to take. */
  batchTargetMs?: number;
  /** Its health-gate thresholds (runs started before the gates have none). */
  gates?: GateSettings;
}

/** The settings a run goes on with: before and after the change. */
export interface TuneResult {
  from: RunTuning;
  to: RunTuning;
}

/** The life of a change request (`change_requests.status`): open until decided, expired, withdrawn or voided. */
export const CHANGE_STATUSES = ['open', 'approved', 'rejected', 'expired', 'withdrawn', 'voided'] as const;
export type ChangeStatus = (typeof CHANGE_STATUSES)[number];

/** What a change request keeps of its start beyond the columns: the retried run and the batch sizing asked for. */
export interface FiledStart {
  retryOf?: string;
  sizing?: SizingRequest;
  /** The guards as asked (canary tenants by external id): the approval's start resolves them again. */
  guards?: GuardsInput;
}
