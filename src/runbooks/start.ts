import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import { orm } from '../db/orm.js';
import { sqlState } from '../errors.js';
import { tenants } from '../db/schema/index.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';
import { inTransaction } from '../db/transaction.js';
import { DEFAULT_PREFLIGHT_POLICY, loadStartPreflight, refuseDrift, type PreflightPolicy } from './checkPreflight.js';
import type { RunbookDefinition } from './definition.js';
import { auditActor, initiatorLabel } from './initiator.js';
import { launchRun } from './launchRun.js';
import { sameParameters } from './parameters.js';
import type { RunLauncher } from './launcher.js';
import { loadPreflight, type SavedPreflight } from './preflight.js';
import { RunbookRefusal } from './refusal.js';
import { findRunByIdempotencyKey, getRun, insertRun, type RunRecord } from './runs.js';
import { findOverlappingRun, overlapRefusal } from './overlap.js';
import { resolveGuards } from './guards.js';
import { refuseOtherStart, storedIdempotencyKey } from './idempotencyKeys.js';
import { resolveScope, sameScope, type ResolvedScope } from './scope.js';
import { validateStartRequest, type StartRequest } from './validateStart.js';
import type { RunGuards } from './model.js';
import { applyGateChange, DEFAULT_GATES } from './health/gateSettings.js';
import { applySizing } from './sizing/runSizing.js';
import { refuseWhileStopped } from './stopAll.js';
import { approvalsRequired, type ApprovalSettings } from './approvals/approvalPolicy.js';
import { approvalsOf, getChangeRequest } from './approvals/changeRequests.js';
import { fileChangeRequest, type FiledResult } from './approvals/fileChange.js';

export interface StartDeps {
  pool: pg.Pool;
  launcher: RunLauncher;
  now?: () => Date;
  preflightPolicy?: PreflightPolicy;
  /** Which starts need approval, and for how long a request stays open; none without. */
  approvals?: ApprovalSettings;
}

export interface StartResult {
  run: RunRecord;
  /** False when the idempotency key returned an existing run. */
  created: boolean;
}

/** A start: its run, or the change request it filed where the approval policy holds it. */
export type StartOutcome = StartResult | FiledResult;

/**
 * The run of a start that no approval policy holds (the deploy hook's, or one made without a
 * policy): a change request there would be a bug, not an answer to show.
 */
export function runOf(outcome: StartOutcome): StartResult {
  if ('run' in outcome) return outcome;
  throw new Error(`the start filed change request ${outcome.changeRequest.id} where it could only start a run`);
}

const UNIQUE_VIOLATION = '23505';

/** A start, validated: what the run row is written from. */
interface StartPlan {
  request: StartRequest;
  runbook: RunbookDefinition;
  scope: ResolvedScope;
  reason: string;
  /** The idempotency key in its maker's namespace (`storedIdempotencyKey`); the request has the one given. */
  key: string | null;
  /** Canonical, defaults filled in: what the preflight must have been computed for. */
  parameters: Record<string, unknown>;
  guards: RunGuards;
  retryOf: string | null;
  /** Approvals it needs before a run is written: 0 when none, or when it carries its approval. */
  approvalsRequired: number;
  /** The change request it carries out, and who approved it. */
  approval: { changeRequestId: string; approvedBy: string[] } | null;
}

/**
 * A retry names a completed run (the console and the CLI derive its scope from that run's failed
 * tenants) and takes that run's parameters: with others it would be another start, not a retry.
 */
async function checkRetryOf(pool: pg.Pool, runId: string, parameters: Record<string, unknown>): Promise<string> {
  const retried = await getRun(pool, runId);
  if (!retried || retried.status !== 'completed') {
    throw new RunbookRefusal(
      'nothing_to_retry',
      `Run ${runId} is not a completed run; only a completed run's failed tenants can be retried.`,
    );
  }
  if (!sameParameters(retried.parameters, parameters)) {
    throw new RunbookRefusal(
      'invalid_parameters',
      `A retry of run ${retried.id} takes its parameters (${JSON.stringify(retried.parameters)}); leave them as they were.`,
    );
  }
  return retried.id;
}

/**
 * The run a reused idempotency key names, when the parameters match; a refusal when they do
 * not, or when that start never reached a worker (replaying it would only repeat the failure).
 */
function replayOf(run: RunRecord, plan: StartPlan): RunRecord {
  const key = plan.request.idempotencyKey;
  refuseOtherStart(
    run,
    { runbook: plan.runbook.id, scope: plan.scope.stored, parameters: plan.parameters, reason: plan.reason },
    `run ${run.id}`,
    key,
  );
  if (run.status === 'completed' && run.outcome === 'failed' && run.startedAt === null) {
    throw new RunbookRefusal(
      'idempotency_failed',
      `The start with idempotency key "${key}" failed (run ${run.id}: ${run.error ?? 'no reason recorded'}); use a new key to start again.`,
    );
  }
  return run;
}

async function platformWorkspaceId(q: pg.PoolClient): Promise<number> {
  const [platform] = await orm(q)
    .select({ workspaceId: tenants.workspaceId })
    .from(tenants)
    .where(eq(tenants.externalId, PLATFORM_TENANT_EXTERNAL_ID));
  if (!platform) {
    throw new RunbookRefusal(
      'empty_scope',
      'The platform tenant is missing, so a multi-tenant run has no workspace to live in; create it (the seed does).',
    );
  }
  return platform.workspaceId;
}

/**
 * Writes the queued run, or finds the one its idempotency key already names. Starts of runbooks
 * that write the same data (and uses of one key, across runbooks) queue on advisory locks, so
 * the overlap, key and drift checks see every committed run and what it changed.
 */
async function insertOrReplayRun(
  client: pg.PoolClient,
  plan: StartPlan,
  preflight: SavedPreflight,
  deps: Pick<StartDeps, 'launcher' | 'preflightPolicy'>,
): Promise<StartResult> {
  const { request, runbook, scope, key } = plan;
  if (key) await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`operation_runs.idempotency_key:${key}`]);
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`operation_runs.writes:${runbook.writes}`]);
  if (key) {
    const existing = await findRunByIdempotencyKey(client, key);
    if (existing) return { run: replayOf(existing, plan), created: false };
  }
  await refuseWhileStopped(client, { locked: true });
  const holder = await findOverlappingRun(client, runbook, scope.stored);
  if (holder) throw overlapRefusal(holder, runbook);
  await refuseDrift(client, runbook, scope, preflight, deps.preflightPolicy ?? DEFAULT_PREFLIGHT_POLICY);
  const id = randomUUID();
  const run = await insertRun(client, {
    id,
    workflowId: deps.launcher.workflowIdOf(id),
    workspaceId: scope.kind === 'tenant' ? scope.tenants[0]!.workspaceId : await platformWorkspaceId(client),
    runbook: runbook.id,
    scopeKind: scope.kind,
    scope: scope.stored,
    source: request.source,
    initiatorPlatformUserId: request.initiator.kind === 'platform_user' ? request.initiator.id : null,
    initiatorLabel: initiatorLabel(request.initiator),
    reason: plan.reason,
    idempotencyKey: key,
    counts: {},
    parameters: preflight.parameters,
    asOf: preflight.asOf,
    preflightId: preflight.id,
    guards: plan.guards,
    retryOf: plan.retryOf,
    changeRequestId: plan.approval?.changeRequestId ?? null,
    approvedBy: plan.approval?.approvedBy ?? null,
    settings: {
      ...(scope.kind === 'tenant' ? {} : { parallelism: deps.launcher.settings.parallelism }),
      ...applySizing(deps.launcher.settings, plan.request.sizing ?? {}),
      gates: applyGateChange(applyGateChange(DEFAULT_GATES, runbook.gates), deps.launcher.gates),
    },
  });
  return { run, created: true };
}

/** The same, where a key written outside the locks (or by a newer starter) wins the race. */
async function writeRun(deps: StartDeps, plan: StartPlan, preflight: SavedPreflight): Promise<StartResult> {
  try {
    return await inTransaction(deps.pool, (client) => insertOrReplayRun(client, plan, preflight, deps));
  } catch (error) {
    if (!plan.key || sqlState(error) !== UNIQUE_VIOLATION) throw error;
    const existing = await findRunByIdempotencyKey(deps.pool, plan.key);
    if (!existing) throw error;
    return { run: replayOf(existing, plan), created: false };
  }
}

async function auditRefusal(pool: pg.Pool, request: StartRequest, error: unknown): Promise<void> {
  if (!(error instanceof RunbookRefusal)) return;
  await recordAudit(pool, {
    ...auditActor(request.initiator, request.context),
    action: 'runbook.start_rejected',
    targetKind: 'runbook',
    targetId: request.runbook,
    metadata: {
      code: error.code,
      message: error.message,
      scope: request.scope,
      parameters: request.parameters ?? {},
      source: request.source,
    },
  });
}

/**
 * The approval a start carries, read from its change request: approved, for this runbook, scope,
 * parameters and preflight, and not carried out by another run already (a replay finds that run
 * by its key before this is asked).
 */
async function approvalOf(
  pool: pg.Pool,
  request: StartRequest,
  plan: Pick<StartPlan, 'runbook' | 'scope' | 'parameters'>,
): Promise<StartPlan['approval']> {
  if (!request.approval) return null;
  const change = await getChangeRequest(pool, request.approval.changeRequestId);
  if (
    !change ||
    change.status !== 'approved' ||
    change.runbook !== plan.runbook.id ||
    change.preflightId !== request.preflightId ||
    !sameScope(change.scope, plan.scope.stored) ||
    !sameParameters(change.parameters, plan.parameters)
  ) {
    throw new RunbookRefusal(
      'approval_required',
      `Change request ${request.approval.changeRequestId} is not an approved request for this start.`,
    );
  }
  return { changeRequestId: change.id, approvedBy: approvalsOf(change).map((decision) => decision.label) };
}

/** Every check of a start that needs no preflight: the request, a stop of every run, its scope, guards, retried run and approvals. */
async function planStart(deps: Pick<StartDeps, 'pool' | 'approvals'>, request: StartRequest): Promise<StartPlan> {
  const { pool } = deps;
  const { runbook, reason, idempotencyKey, parameters } = validateStartRequest(request);
  await refuseWhileStopped(pool);
  const scope = await resolveScope(pool, request.scope);
  const approval = await approvalOf(pool, request, { runbook, scope, parameters });
  return {
    request,
    runbook,
    scope,
    reason,
    key: idempotencyKey && storedIdempotencyKey(request.initiator, idempotencyKey),
    parameters,
    guards: resolveGuards(request.guards, scope),
    retryOf: request.retryOf ? await checkRetryOf(pool, request.retryOf, parameters) : null,
    approvalsRequired: approval
      ? 0
      : approvalsRequired(
          { source: request.source, scope: { kind: scope.kind, tenants: scope.tenants.length } },
          deps.approvals?.policy,
          runbook.approvals,
        ),
    approval,
  };
}

/**
 * The checks of a start that need no preflight (an overlapping run among them), audited like a refused start, and the run its
 * idempotency key already names (a replay) if any: callers that preflight before starting (the
 * CLI, the deploy hook) refuse a bad request, or skip a replay, before spending a preflight.
 */
export async function precheckStart(
  deps: Pick<StartDeps, 'pool' | 'approvals'>,
  request: StartRequest,
  options: { overlap?: boolean } = {},
): Promise<RunRecord | null> {
  const { pool } = deps;
  try {
    const plan = await planStart(deps, request);
    const existing = plan.key ? await findRunByIdempotencyKey(pool, plan.key) : null;
    if (existing) return replayOf(existing, plan);
    // Unlocked, so only a first answer (the start checks again under its lock), but it spares
    // the preflight a start that cannot happen, and the preflight row it would leave behind.
    // A caller that waits for the scope instead (the deploy hook) checks it without a refusal;
    // a start that files a change request needs the scope only once it is approved.
    if (options.overlap !== false && plan.approvalsRequired === 0) {
      const holder = await findOverlappingRun(pool, plan.runbook, plan.scope.stored);
      if (holder) throw overlapRefusal(holder, plan.runbook);
    }
    return null;
  } catch (error) {
    await auditRefusal(pool, request, error);
    throw error;
  }
}

async function preflightOf(pool: pg.Pool, run: RunRecord): Promise<SavedPreflight> {
  const preflight = run.preflightId ? await loadPreflight(pool, run.preflightId) : null;
  if (!preflight) throw new Error(`run ${run.id} names preflight ${run.preflightId}, which does not exist`);
  return preflight;
}

/** The policy's change request for a start it holds: filed with its checked preflight, no run written. */
async function fileFor(deps: StartDeps, plan: StartPlan, preflight: SavedPreflight): Promise<FiledResult> {
  const { request } = plan;
  return fileChangeRequest(deps, {
    runbook: plan.runbook.id,
    scope: plan.scope,
    parameters: plan.parameters,
    preflightId: preflight.id,
    reason: plan.reason,
    guards: plan.guards,
    initiator: request.initiator,
    context: request.context,
    source: request.source,
    key: plan.key,
    start: {
      ...(plan.retryOf ? { retryOf: plan.retryOf } : {}),
      ...(request.sizing ? { sizing: request.sizing } : {}),
      ...(request.guards ? { guards: request.guards } : {}),
    },
    approvalsRequired: plan.approvalsRequired,
    ttlMs: deps.approvals!.ttlMs,
  });
}

/**
 * The one starter behind the console, the CLI and the deploy hook: validates, checks the
 * preflight, writes the run (idempotent, locked against overlapping runs) and starts its
 * workflow. It never executes the runbook itself. Where the approval policy holds the start,
 * it files a change request instead, and the last approval comes back here to write the run.
 * A refusal writes only its audit event.
 */
export async function startRunbook(deps: StartDeps, request: StartRequest): Promise<StartOutcome> {
  try {
    const plan = await planStart(deps, request);
    const { runbook, key } = plan;
    const replayed = key ? await findRunByIdempotencyKey(deps.pool, key) : null;
    let result: StartResult;
    let preflight: SavedPreflight;
    if (replayed) {
      result = { run: replayOf(replayed, plan), created: false };
      preflight = await preflightOf(deps.pool, result.run);
    } else {
      const policy = deps.preflightPolicy ?? DEFAULT_PREFLIGHT_POLICY;
      preflight = await loadStartPreflight(deps.pool, runbook, plan.scope, plan.parameters, request.preflightId, {
        now: deps.now?.() ?? new Date(),
        // An approval may come a day after the preflight: its drift check, not its age, says whether it holds.
        policy: plan.approval ? { ...policy, maxAgeMs: Number.POSITIVE_INFINITY } : policy,
      });
      if (plan.approvalsRequired > 0) return await fileFor(deps, plan, preflight);
      result = await writeRun(deps, plan, preflight);
      if (!result.created) preflight = await preflightOf(deps.pool, result.run);
    }
    // A queued run has no workflow yet, or its starter is launching it right now (Temporal
    // refuses the second): either way, launching is safe and makes sure it runs.
    if (result.run.status === 'queued') {
      await launchRun(deps, result.run, preflight, {
        actor: auditActor(request.initiator, request.context),
        source: request.source,
      });
    }
    return result;
  } catch (error) {
    await auditRefusal(deps.pool, request, error);
    throw error;
  }
}
