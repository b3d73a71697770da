import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import type { Config } from '../config.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';
import { inTransaction } from '../db/transaction.js';
import { firstLine, UnavailableError } from '../errors.js';
import type { FanOutInput, PreflightSummary, TenantInput } from '../workflows/inputs.js';
import { runSearchAttributes } from '../workflows/searchAttributes.js';
import { CAPABILITIES, type Capability } from './capabilities.js';
import { checkPreflight, DEFAULT_PREFLIGHT_POLICY, type PreflightPolicy } from './checkPreflight.js';
import { completeRun } from './completeRun.js';
import type { RunbookDefinition } from './definition.js';
import { auditActor, initiatorLabel, type Initiator, type RequestContext } from './initiator.js';
import { RunbookRefusal } from './refusal.js';
import type { SavedPreflight } from './preflight.js';
import { getRunbook } from './registry.js';
import { getRun, RUN_COLUMNS, type RunRecord, type RunSource } from './runs.js';
import { describeScope, resolveScope, scopesOverlap, type ResolvedScope, type ScopeInput, type StoredScope } from './scope.js';

/** The phrase an operator types to confirm an all-tenants run. */
export const ALL_TENANTS_PHRASE = 'ALL TENANTS';
export const REASON_LENGTH = { min: 10, max: 500 } as const;

export interface StartRequest {
  runbook: string;
  scope: ScopeInput;
  initiator: Initiator;
  reason: string;
  source: RunSource;
  idempotencyKey?: string | null;
  confirmation?: string | null;
  preflightId?: string | null;
  context?: RequestContext;
}

export interface StartDeps {
  pool: pg.Pool;
  temporal: Client;
  config: Config;
  now?: () => Date;
  preflightPolicy?: PreflightPolicy;
}

export interface StartResult {
  run: RunRecord;
  /** False when the idempotency key returned an existing run. */
  created: boolean;
}

function requireCapability(initiator: Initiator, source: RunSource, capability: Capability): void {
  if (source !== 'system_ui') return;
  if (initiator.kind !== 'platform_user' || !initiator.capabilities.includes(capability)) {
    throw new RunbookRefusal('capability', `You need the capability ${capability} to do this; ask a platform admin.`);
  }
}

function validReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length < REASON_LENGTH.min || trimmed.length > REASON_LENGTH.max) {
    throw new RunbookRefusal(
      'reason_length',
      `The reason must be ${REASON_LENGTH.min} to ${REASON_LENGTH.max} characters; it has ${trimmed.length}. Say why this run is needed.`,
    );
  }
  return trimmed;
}

/** The parameters a reused idempotency key must match. */
function sameParameters(run: RunRecord, runbook: RunbookDefinition, scope: StoredScope, reason: string): boolean {
  return run.runbook === runbook.id && JSON.stringify(run.scope) === JSON.stringify(scope) && run.reason === reason;
}

async function findByIdempotencyKey(q: pg.Pool | pg.PoolClient, key: string): Promise<RunRecord | null> {
  const { rows } = await q.query<RunRecord>(`SELECT ${RUN_COLUMNS} FROM operation_runs WHERE idempotency_key = $1`, [key]);
  return rows[0] ?? null;
}

function replayOf(run: RunRecord, runbook: RunbookDefinition, scope: StoredScope, reason: string, key: string): RunRecord {
  if (!sameParameters(run, runbook, scope, reason)) {
    throw new RunbookRefusal(
      'idempotency_conflict',
      `Idempotency key "${key}" was already used for run ${run.id} with other parameters; use a new key for a different start.`,
    );
  }
  return run;
}

export function workflowIdFor(runId: string): string {
  return `runbook-run-${runId}`;
}

async function startWorkflow(deps: StartDeps, run: RunRecord, scope: ResolvedScope, preflight: PreflightSummary | null) {
  const settings = deps.config.rebuild;
  const common = {
    taskQueue: deps.config.temporal.taskQueue,
    workflowId: run.workflowId ?? workflowIdFor(run.id),
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  };
  try {
    if (scope.kind === 'tenant') {
      const tenant = scope.tenants[0]!;
      const input: TenantInput = { runId: run.id, runbook: run.runbook, tenantId: tenant.id, settings, preflight, isRoot: true };
      await deps.temporal.workflow.start('runbookTenantWorkflow', {
        ...common,
        args: [input],
        typedSearchAttributes: runSearchAttributes(run.id, run.runbook, tenant.externalId),
      });
    } else {
      const input: FanOutInput = { runId: run.id, runbook: run.runbook, settings, preflight };
      await deps.temporal.workflow.start('runbookFanOutWorkflow', {
        ...common,
        args: [input],
        typedSearchAttributes: runSearchAttributes(run.id, run.runbook),
      });
    }
  } catch (error) {
    // A replayed start (same idempotency key) finds the workflow already there: that is success.
    if (error instanceof WorkflowExecutionAlreadyStartedError) return;
    throw error;
  }
}

async function platformWorkspaceId(q: pg.PoolClient): Promise<number> {
  const { rows } = await q.query<{ id: number }>('SELECT workspace_id::int AS id FROM tenants WHERE external_id = $1', [
    PLATFORM_TENANT_EXTERNAL_ID,
  ]);
  if (!rows[0]) {
    throw new RunbookRefusal('empty_scope', 'The platform tenant is missing, so a multi-tenant run has no workspace to live in; run "tsx src/cli seed" or create it.');
  }
  return rows[0].id;
}

async function insertRun(
  client: pg.PoolClient,
  request: StartRequest,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  reason: string,
  preflightId: string,
): Promise<StartResult> {
  // Starts of one runbook queue here, so the overlap check below sees every committed run.
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`operation_runs:${runbook.id}`]);
  if (request.idempotencyKey) {
    const existing = await findByIdempotencyKey(client, request.idempotencyKey);
    if (existing) return { run: replayOf(existing, runbook, scope.stored, reason, request.idempotencyKey), created: false };
  }
  const { rows: active } = await client.query<{ id: string; scope: StoredScope; status: string; initiatorLabel: string }>(
    `SELECT id, scope, status, initiator_label AS "initiatorLabel" FROM operation_runs
      WHERE runbook = $1 AND status <> 'completed' ORDER BY created_at`,
    [runbook.id],
  );
  const holder = active.find((run) => scopesOverlap(run.scope, scope.stored));
  if (holder) {
    throw new RunbookRefusal(
      'overlapping_run',
      `Run ${holder.id} (${holder.status}, ${describeScope(holder.scope)}, by ${holder.initiatorLabel}) ` +
        `already covers this scope; wait for it to finish or cancel it.`,
    );
  }
  const workspaceId = scope.kind === 'tenant' ? scope.tenants[0]!.workspaceId : await platformWorkspaceId(client);
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO operation_runs (workspace_id, runbook, scope_kind, scope, status, source, initiator_platform_user_id,
                                 initiator_label, reason, idempotency_key, counts, preflight_id)
     VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, '{}', $10) RETURNING id`,
    [
      workspaceId,
      runbook.id,
      scope.kind,
      JSON.stringify(scope.stored),
      request.source,
      request.initiator.kind === 'platform_user' ? request.initiator.id : null,
      initiatorLabel(request.initiator),
      reason,
      request.idempotencyKey || null,
      preflightId,
    ],
  );
  const id = rows[0]!.id;
  await client.query('UPDATE operation_runs SET workflow_id = $2 WHERE id = $1', [id, workflowIdFor(id)]);
  return { run: (await getRun(client, id))!, created: true };
}

/**
 * Starts the run's workflow and audits `runbook.started`. When Temporal will not take it, the
 * run is completed as failed (it must not hold its scope) and the error names the server.
 */
async function launchRun(
  deps: StartDeps,
  request: StartRequest,
  run: RunRecord,
  scope: ResolvedScope,
  preflight: SavedPreflight,
): Promise<void> {
  const actor = auditActor(request.initiator, request.context);
  const summary: PreflightSummary = {
    id: preflight.id,
    contentHash: preflight.contentHash,
    tenantsInScope: preflight.report.tenantsInScope,
    inScope: preflight.report.inScope,
    toChange: preflight.report.toChange,
  };
  try {
    await startWorkflow(deps, run, scope, summary);
  } catch (error) {
    const detail = firstLine(error);
    const message = `Temporal at ${deps.config.temporal.address} did not start the workflow (${detail}); run ${run.id} is recorded as failed. Check the server and start again.`;
    await completeRun(deps.pool, run.id, { outcome: 'failed', error: message });
    const target = { targetKind: 'operation_run', targetId: run.id };
    await recordAudit(deps.pool, { ...actor, ...target, action: 'runbook.start_failed', metadata: { runbook: run.runbook, error: message } });
    throw new UnavailableError(message);
  }
  await recordAudit(deps.pool, {
    ...actor,
    action: 'runbook.started',
    targetKind: 'operation_run',
    targetId: run.id,
    metadata: { runbook: run.runbook, scope: scope.stored, source: request.source, reason: run.reason, preflightId: preflight.id },
  });
}

/** The checks that need no data: runbook, capabilities, reason, typed confirmation. */
function validateRequest(request: StartRequest): { runbook: RunbookDefinition; reason: string } {
  const runbook = getRunbook(request.runbook);
  requireCapability(request.initiator, request.source, CAPABILITIES.runbooksRun);
  const reason = validReason(request.reason);
  if (request.scope.kind === 'all_tenants') {
    requireCapability(request.initiator, request.source, CAPABILITIES.runbooksRunAllTenants);
    if (request.confirmation !== ALL_TENANTS_PHRASE) {
      throw new RunbookRefusal('confirmation', `An all-tenants run needs the typed confirmation "${ALL_TENANTS_PHRASE}" exactly.`);
    }
  }
  return { runbook, reason };
}

async function auditRefusal(pool: pg.Pool, request: StartRequest, error: unknown): Promise<void> {
  if (!(error instanceof RunbookRefusal)) return;
  await recordAudit(pool, {
    ...auditActor(request.initiator, request.context),
    action: 'runbook.start_rejected',
    targetKind: 'runbook',
    targetId: request.runbook,
    metadata: { code: error.code, message: error.message, scope: request.scope, source: request.source },
  });
}

/**
 * The data-free checks of a start, audited like a refused start: callers that preflight
 * before starting (the CLI) refuse a bad request before spending a preflight on it.
 */
export async function precheckStart(pool: pg.Pool, request: StartRequest): Promise<void> {
  try {
    validateRequest(request);
  } catch (error) {
    await auditRefusal(pool, request, error);
    throw error;
  }
}

/**
 * The one starter behind the console, the CLI and the deploy hook: validates, checks the
 * preflight, writes the run (idempotent, locked against overlapping runs) and starts its
 * workflow. It never executes the runbook itself. A refusal writes only its audit event.
 */
export async function startRunbook(deps: StartDeps, request: StartRequest): Promise<StartResult> {
  try {
    const { runbook, reason } = validateRequest(request);
    const scope = await resolveScope(deps.pool, request.scope);
    if (request.idempotencyKey) {
      const existing = await findByIdempotencyKey(deps.pool, request.idempotencyKey);
      if (existing) {
        const run = replayOf(existing, runbook, scope.stored, reason, request.idempotencyKey);
        if (run.status === 'queued') await startWorkflow(deps, run, scope, null);
        return { run, created: false };
      }
    }
    const preflight = await checkPreflight(deps.pool, runbook, scope, request.preflightId, {
      now: deps.now?.() ?? new Date(),
      policy: deps.preflightPolicy ?? DEFAULT_PREFLIGHT_POLICY,
    });
    const { run, created } = await inTransaction(deps.pool, (client) =>
      insertRun(client, request, runbook, scope, reason, preflight.id),
    );
    // A concurrent start with the same key won the race: its starter starts the workflow.
    if (!created) return { run, created };
    await launchRun(deps, request, run, scope, preflight);
    return { run, created: true };
  } catch (error) {
    await auditRefusal(deps.pool, request, error);
    throw error;
  }
}
