// Approvals (#24): where the policy holds a start, it files a change request and writes no run;
// a second operator's approval starts the run through the one starter, with the drift check then,
// and expiry comes from a Temporal timer. Real workflows, real PostgreSQL.
import { afterEach, describe, expect, it } from 'vitest';
import type { ApprovalPolicy } from '../src/runbooks/approvals/approvalPolicy.js';
import { getChangeRequest, type ChangeRequestRecord } from '../src/runbooks/approvals/changeRequests.js';
import {
  approveChange,
  rejectChange,
  withdrawChange,
  type ApprovalOutcome,
} from '../src/runbooks/approvals/decideChange.js';
import { startDeployRun } from '../src/runbooks/deployRun.js';
import { initiatorLabel, type Initiator } from '../src/runbooks/initiator.js';
import { ALL_TENANTS_PHRASE } from '../src/runbooks/model.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { startRunbook, type StartDeps } from '../src/runbooks/start.js';
import { resumeAllRuns, stopAllRuns } from '../src/runbooks/stopAll.js';
import { expectEveryTenantFlagged, flagTenant, loadFindings, unflagFindings } from './support/flagOracle.js';
import { FLAG_PARAMETERS, LIFECYCLE, RUNBOOK, useRunbookHarness } from './support/harness.js';
import { refusalOf } from './support/refusal.js';
import { createOperator, tenantIds, waitForRun } from './support/runs.js';
import { until } from './support/until.js';

const REASON = 'Backfill the flag after the incident review';
const COMMENT = 'Checked the preflight sample; numbers match the ticket';

describe('approvals of change requests', () => {
  const h = useRunbookHarness({ seed: { tenants: 4, findingsPerTenant: 30, seed: 124 } });
  const deps = (policy: ApprovalPolicy = { when: 'all_tenants', approvals: 1 }, ttlMs = 3600_000): StartDeps => ({
    pool: h.database.pool,
    launcher: h.launcher,
    approvals: { policy, ttlMs },
  });
  afterEach(() => h.database.pool.query('UPDATE run_stops SET lifted_at = now() WHERE lifted_at IS NULL'));

  async function file(
    options: { policy?: ApprovalPolicy; ttlMs?: number; scope?: ScopeInput; by?: Initiator } = {},
  ): Promise<ChangeRequestRecord> {
    const scope = options.scope ?? { kind: 'all_tenants' };
    const initiator = options.by ?? h.operator;
    const preflight = await runPreflight(h.database.pool, {
      runbook: getRunbook(RUNBOOK),
      scope,
      parameters: FLAG_PARAMETERS,
      initiator,
    });
    const outcome = await startRunbook(deps(options.policy, options.ttlMs), {
      runbook: RUNBOOK,
      scope,
      parameters: FLAG_PARAMETERS,
      initiator,
      reason: REASON,
      source: 'system_ui',
      confirmation: scope.kind === 'all_tenants' ? ALL_TENANTS_PHRASE : null,
      preflightId: preflight.id,
    });
    if (!('changeRequest' in outcome)) throw new Error(`the start was not held for approval: run ${outcome.run.id}`);
    return outcome.changeRequest;
  }
  const approve = (request: ChangeRequestRecord, by: Initiator, comment = COMMENT, policy?: ApprovalPolicy) =>
    approveChange(deps(policy), { changeRequestId: request.id, by, comment });
  const runsOf = async (request: ChangeRequestRecord) =>
    (
      await h.database.pool.query<{ id: string }>('SELECT id FROM operation_runs WHERE change_request_id = $1', [
        request.id,
      ])
    ).rows.map((row) => row.id);
  const actions = async (request: ChangeRequestRecord) =>
    (
      await h.database.pool.query<{ action: string; actor: string }>(
        `SELECT action, actor_label AS actor FROM audit_events WHERE target_kind = 'change_request' AND target_id = $1 ORDER BY id`,
        [request.id],
      )
    ).rows;
  const started = (outcome: ApprovalOutcome) => {
    if (outcome.state !== 'started') throw new Error(`expected a started run, got ${outcome.state}`);
    return outcome;
  };

  it('files a request instead of a run; the requester cannot approve; a second operator starts the run', async () => {
    await unflagFindings(h.database.pool);
    const before = await loadFindings(h.database.pool, await tenantIds(h.database.pool));
    const approver = await createOperator(h.database.pool);
    const request = await file();
    expect(request).toMatchObject({
      status: 'open',
      approvalsRequired: 1,
      requesterLabel: initiatorLabel(h.operator),
      scopeKind: 'all_tenants',
      runId: null,
    });
    expect(request.expiresAt.getTime() - request.createdAt.getTime()).toBeGreaterThan(3599_000);
    expect(await runsOf(request)).toEqual([]);
    const notices = await h.database.pool.query(
      `SELECT platform_user_id::int AS "user", type FROM notifications WHERE data ->> 'changeRequestId' = $1`,
      [request.id],
    );
    // Every holder of approve hears of it, but not its requester.
    expect(notices.rows).toContainEqual({ user: (approver as { id: number }).id, type: 'ChangeRequested' });
    expect(notices.rows.map((row) => row.user)).not.toContain((h.operator as { id: number }).id);

    const self = await refusalOf(approve(request, h.operator));
    expect(self.code).toBe('self_approval');
    expect((await refusalOf(approve(request, approver, 'too short'))).code).toBe('invalid_comment');

    const outcome = started(await approve(request, approver));
    expect(outcome.recorded).toBe(true);
    expect(outcome.run).toMatchObject({
      initiatorLabel: initiatorLabel(h.operator),
      changeRequestId: request.id,
      approvedBy: [initiatorLabel(approver)],
      reason: REASON,
      preflightId: request.preflightId,
    });
    const run = await waitForRun(h.database.pool, outcome.run.id);
    expect(run.outcome).toBe('succeeded');
    await expectEveryTenantFlagged(h.database.pool, run, before);
    expect(await getChangeRequest(h.database.pool, request.id)).toMatchObject({ status: 'approved', runId: run.id });
    expect(await actions(request)).toEqual([
      { action: 'change.requested', actor: initiatorLabel(h.operator) },
      { action: 'change.approved', actor: initiatorLabel(approver) },
    ]);
    const startedEvent = await h.database.pool.query(
      `SELECT actor_label AS actor, metadata FROM audit_events WHERE action = 'runbook.started' AND target_id = $1`,
      [run.id],
    );
    expect(startedEvent.rows[0]).toMatchObject({
      actor: initiatorLabel(h.operator),
      metadata: { changeRequestId: request.id, approvedBy: [initiatorLabel(approver)] },
    });
    const told = await h.database.pool.query(
      `SELECT data FROM notifications WHERE platform_user_id = $1 AND type = 'ChangeDecided' AND data ->> 'changeRequestId' = $2`,
      [(h.operator as { id: number }).id, request.id],
    );
    expect(told.rows).toEqual([{ data: expect.objectContaining({ status: 'approved', runId: run.id }) }]);
    // Decided: nothing more can be decided on it.
    expect((await refusalOf(approve(request, await createOperator(h.database.pool)))).code).toBe('change_closed');
  });

  it('needs two approvals under all_tenants:2, and the same person twice counts once', async () => {
    const policy: ApprovalPolicy = { when: 'all_tenants', approvals: 2 };
    const [first, second] = [await createOperator(h.database.pool), await createOperator(h.database.pool)];
    const request = await file({ policy });
    expect(request.approvalsRequired).toBe(2);
    expect(await approve(request, first, COMMENT, policy)).toMatchObject({ state: 'pending', approvals: 1 });
    const twice = await refusalOf(approve(request, first, COMMENT, policy));
    expect(twice.code).toBe('already_decided');
    expect(await getChangeRequest(h.database.pool, request.id)).toMatchObject({ status: 'open' });
    expect(await runsOf(request)).toEqual([]);
    const outcome = started(await approve(request, second, COMMENT, policy));
    expect(outcome.run.approvedBy).toEqual([initiatorLabel(first), initiatorLabel(second)]);
    await waitForRun(h.database.pool, outcome.run.id);
  });

  it('a rejected request writes no run and is closed', async () => {
    const rejecter = await createOperator(h.database.pool);
    const request = await file();
    expect(
      (await refusalOf(rejectChange(deps(), { changeRequestId: request.id, by: h.operator, comment: COMMENT }))).code,
    ).toBe('self_approval');
    const rejected = await rejectChange(deps(), { changeRequestId: request.id, by: rejecter, comment: COMMENT });
    expect(rejected).toMatchObject({ status: 'rejected', runId: null });
    expect(rejected.decisions).toMatchObject([
      { decision: 'reject', comment: COMMENT, label: initiatorLabel(rejecter) },
    ]);
    expect((await refusalOf(approve(request, await createOperator(h.database.pool)))).code).toBe('change_closed');
    expect(await runsOf(request)).toEqual([]);
    expect((await actions(request)).map((event) => event.action)).toEqual(['change.requested', 'change.rejected']);
  });

  it('expires by its timer, and an expired request cannot be approved', async () => {
    const request = await file({ ttlMs: 2_000 });
    const expired = await until(
      () => getChangeRequest(h.database.pool, request.id),
      (found) => found?.status === 'expired',
      'the request to expire',
      30_000,
    );
    expect(expired!.decidedAt).not.toBeNull();
    expect(await actions(request)).toEqual([
      { action: 'change.requested', actor: initiatorLabel(h.operator) },
      { action: 'change.expired', actor: 'approval timer' },
    ]);
    const refused = await refusalOf(approve(request, await createOperator(h.database.pool)));
    expect(refused.code).toBe('change_closed');
    expect(refused.message).toMatch(/is expired at /);
    expect(await runsOf(request)).toEqual([]);
  });

  it('a request whose data drifted is void on approval, and no run starts', async () => {
    await unflagFindings(h.database.pool);
    const request = await file();
    const [tenant] = await tenantIds(h.database.pool);
    // Another run marks one tenant's findings: the preflight's count to change no longer holds.
    expect(
      await flagTenant(h.database.pool, tenant!, { parameters: FLAG_PARAMETERS, asOf: new Date() }),
    ).toBeGreaterThan(0);
    const outcome = await approve(request, await createOperator(h.database.pool));
    expect(outcome.state).toBe('voided');
    expect(outcome.state === 'voided' && outcome.reason).toMatch(/^The data changed since preflight /);
    expect(await getChangeRequest(h.database.pool, request.id)).toMatchObject({ status: 'voided', runId: null });
    expect(await runsOf(request)).toEqual([]);
    expect((await actions(request)).map((event) => event.action)).toEqual([
      'change.requested',
      'change.approved',
      'change.voided',
    ]);
  });

  it('10 concurrent approvals of one request start exactly one run', async () => {
    await unflagFindings(h.database.pool);
    const request = await file();
    const approvers = await Promise.all(Array.from({ length: 10 }, () => createOperator(h.database.pool)));
    const outcomes = await Promise.allSettled(approvers.map((approver) => approve(request, approver)));
    const runs = await runsOf(request);
    expect(runs).toHaveLength(1);
    const fulfilled = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    // Each either carried out the one run or found the request decided already.
    for (const outcome of fulfilled) expect(started(outcome).run.id).toBe(runs[0]);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'change_closed' });
    }
    expect(fulfilled.filter((outcome) => started(outcome).recorded)).toHaveLength(1);
    expect(await getChangeRequest(h.database.pool, request.id)).toMatchObject({ status: 'approved', runId: runs[0] });
    await waitForRun(h.database.pool, runs[0]!);
  });

  it('only the requester may withdraw; an approval while every run is stopped reopens the request', async () => {
    const other = await createOperator(h.database.pool);
    const request = await file();
    await stopAllRuns(
      { pool: h.database.pool, launcher: h.launcher },
      { initiator: other, source: 'system_ui', reason: 'Failover drill in progress', confirmation: 'STOP ALL RUNS' },
    );
    const refused = await refusalOf(approve(request, other));
    expect(refused.code).toBe('runs_stopped');
    expect(refused.message).toMatch(/The request is open again and your approval was not kept/);
    expect(await getChangeRequest(h.database.pool, request.id)).toMatchObject({ status: 'open', decisions: [] });
    await resumeAllRuns(
      { pool: h.database.pool, launcher: h.launcher },
      { initiator: other, source: 'system_ui', reason: 'Failover drill is over' },
    );

    expect((await refusalOf(withdrawChange(deps(), { changeRequestId: request.id, by: other }))).code).toBe(
      'not_requester',
    );
    const withdrawn = await withdrawChange(deps(), { changeRequestId: request.id, by: h.operator });
    expect(withdrawn.status).toBe('withdrawn');
    expect((await refusalOf(approve(request, other))).code).toBe('change_closed');
    expect(await runsOf(request)).toEqual([]);
  });

  it('a start of one tenant needs no approval under all_tenants:1, and the deploy hook is pre-approved', async () => {
    const one = await startRunbook(deps(), {
      runbook: RUNBOOK,
      scope: { kind: 'tenants', externalIds: ['tenant-00001'] },
      parameters: FLAG_PARAMETERS,
      initiator: h.operator,
      reason: REASON,
      source: 'system_ui',
      preflightId: (
        await runPreflight(h.database.pool, {
          runbook: getRunbook(RUNBOOK),
          scope: { kind: 'tenants', externalIds: ['tenant-00001'] },
          parameters: FLAG_PARAMETERS,
          initiator: h.operator,
        })
      ).id,
    });
    expect('run' in one).toBe(true);
    if ('run' in one) await waitForRun(h.database.pool, one.run.id);

    const deployed = await startDeployRun(deps(), 'rel-approvals-1', LIFECYCLE);
    expect(deployed).toMatchObject({ state: 'started' });
    const runId = deployed.state === 'started' ? deployed.runId : '';
    const event = await h.database.pool.query(
      `SELECT metadata ->> 'approval' AS approval FROM audit_events WHERE action = 'runbook.started' AND target_id = $1`,
      [runId],
    );
    expect(event.rows).toEqual([{ approval: 'pre-approved by its release (deploy:rel-approvals-1)' }]);
    await waitForRun(h.database.pool, runId);
  });
});
