import type pg from 'pg';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../../src/db/schema/tenancy.js';
import { inTransaction } from '../../src/db/transaction.js';
import { RUNBOOKS } from '../../src/runbooks/registry.js';

/** Customer tenants; an all-tenants run gets an item for each. */
export const SEEDED_RUN_TENANTS = 12;

/**
 * The registered runbook for most runs, and two ids no longer registered: runs of a retired
 * runbook stay in the table and the list shows them by id, so its queries meet several runbooks.
 */
const RUNBOOK_IDS = [RUNBOOKS[0]!.id, 'findings.dedupe.repair', 'tenants.retention.backfill'];

/**
 * Tenants, then `runs` operation runs with their items, counts and audit trails, each one
 * INSERT ... SELECT. Runs are spread over 30 days, and some of the last two hours' are still
 * active; run 1 is always a running all-tenants run, the one the poll measures. Returns its id.
 * The database may hold tenants and runs already (their keys are not `load:…`); they stay as they are.
 */
export async function seedRuns(pool: pg.Pool, runs: number): Promise<string> {
  return inTransaction(pool, async (client) => {
    await client.query(
      `WITH w AS (
         INSERT INTO workspaces (slug, name)
         SELECT CASE WHEN n = 0 THEN $2 ELSE 'load-' || lpad(n::text, 2, '0') END,
                CASE WHEN n = 0 THEN 'Platform' ELSE 'Load tenant ' || n END
           FROM generate_series(0, $1::int) AS g(n)
         ON CONFLICT (slug) DO NOTHING
         RETURNING id, slug, name)
       INSERT INTO tenants (workspace_id, external_id, name) SELECT id, slug, name FROM w`,
      [SEEDED_RUN_TENANTS, PLATFORM_TENANT_EXTERNAL_ID],
    );

    // One MATERIALIZED row of draws per run, so that the columns derived from one draw agree.
    await client.query(
      `WITH customers AS (
         SELECT array_agg(id ORDER BY id) AS ids, array_agg(external_id ORDER BY id) AS externals, array_agg(workspace_id ORDER BY id) AS workspaces
           FROM tenants WHERE external_id <> $2
       ), platform AS (
         SELECT workspace_id FROM tenants WHERE external_id = $2
       ), draws AS MATERIALIZED (
         SELECT n, gen_random_uuid() AS id,
                random() AS status_draw,
                random() AS outcome_draw,
                CASE WHEN n = 1 THEN 0.99 ELSE random() END AS scope_draw,
                CASE WHEN n = 1 THEN 0 ELSE random() END AS runbook_draw,
                random() AS source_draw,
                CASE WHEN n = 1 THEN 0.0001 ELSE random() END AS age_draw,
                floor(random() * $3::int)::int AS first_tenant
           FROM generate_series(1, $1::int) AS g(n)
       ), shaped AS (
         SELECT d.*,
                -- Only a run of the last two hours may still be active, as on a real console.
                CASE WHEN n = 1 THEN 'running' WHEN age_draw * 30 * 24 >= 2 THEN 'completed'
                     WHEN status_draw < 0.25 THEN 'queued' WHEN status_draw < 0.6 THEN 'running' ELSE 'completed' END AS status,
                CASE WHEN scope_draw < 0.7 THEN 'tenant' WHEN scope_draw < 0.8 THEN 'tenants' ELSE 'all_tenants' END AS scope_kind,
                CASE WHEN source_draw < 0.6 THEN 'system_ui' WHEN source_draw < 0.9 THEN 'cli' ELSE 'deploy_hook' END AS source,
                now() - age_draw * interval '30 days' AS created_at
           FROM draws d
       )
       INSERT INTO operation_runs (id, workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_label, reason,
                                   idempotency_key, workflow_id, counts, error, created_at, started_at, completed_at, paused_at, paused_by)
       SELECT s.id,
              CASE WHEN s.scope_kind = 'tenant' THEN c.workspaces[1 + s.first_tenant] ELSE p.workspace_id END,
              CASE WHEN s.runbook_draw < 0.9 THEN ($4::text[])[1] WHEN s.runbook_draw < 0.97 THEN ($4::text[])[2] ELSE ($4::text[])[3] END,
              s.scope_kind,
              CASE s.scope_kind
                WHEN 'all_tenants' THEN '{"allTenants": true}'::jsonb
                ELSE jsonb_build_object('tenants', (
                  SELECT jsonb_agg(jsonb_build_object('id', c.ids[1 + (s.first_tenant + k) % $3::int], 'externalId', c.externals[1 + (s.first_tenant + k) % $3::int]))
                    FROM generate_series(0, CASE WHEN s.scope_kind = 'tenants' THEN 2 ELSE 0 END) AS k))
              END,
              s.status,
              CASE WHEN s.status <> 'completed' THEN NULL
                   WHEN s.outcome_draw < 0.8 THEN 'succeeded' WHEN s.outcome_draw < 0.88 THEN 'partially_succeeded'
                   WHEN s.outcome_draw < 0.95 THEN 'failed' ELSE 'cancelled' END,
              s.source,
              CASE s.source WHEN 'system_ui' THEN 'operator' || (s.n % 7) || '@example.com' WHEN 'cli' THEN 'cli:ops' ELSE 'deploy:release-' || (s.n % 300) END,
              'Load figures: backfill number ' || s.n || ' after a rules change',
              'load:' || s.n,
              'runbook-run-' || s.id,
              '{}'::jsonb,
              CASE WHEN s.status = 'completed' AND s.outcome_draw >= 0.88 AND s.outcome_draw < 0.95 THEN 'Tenant work failed after 5 attempts' END,
              s.created_at,
              CASE WHEN s.status <> 'queued' THEN s.created_at + interval '2 seconds' END,
              CASE WHEN s.status = 'completed' THEN s.created_at + interval '2 seconds' + s.outcome_draw * interval '40 minutes' END,
              CASE WHEN s.status = 'running' AND s.n % 5 = 0 THEN s.created_at + interval '1 minute' END,
              CASE WHEN s.status = 'running' AND s.n % 5 = 0 THEN 'operator1@example.com' END
         FROM shaped s CROSS JOIN customers c CROSS JOIN platform p`,
      [runs, PLATFORM_TENANT_EXTERNAL_ID, SEEDED_RUN_TENANTS, RUNBOOK_IDS],
    );

    // Items follow their run: all settled the way the outcome says, a running run's part done.
    await client.query(
      `WITH items AS MATERIALIZED (
         SELECT r.id AS run_id, t.id AS tenant_id, r.started_at, r.completed_at,
                CASE
                  WHEN r.status = 'queued' THEN 'pending'
                  WHEN r.status = 'running' THEN (ARRAY['succeeded', 'succeeded', 'running', 'pending'])[1 + floor(random() * 4)::int]
                  WHEN r.outcome = 'succeeded' THEN 'succeeded'
                  WHEN r.outcome = 'partially_succeeded' THEN CASE WHEN random() < 0.3 THEN 'failed' ELSE 'succeeded' END
                  WHEN r.outcome = 'failed' THEN 'failed'
                  ELSE (ARRAY['succeeded', 'cancelled'])[1 + floor(random() * 2)::int]
                END AS status,
                floor(random() * 50000)::int AS examined,
                random() * 0.4 AS changed_share
           FROM operation_runs r
           JOIN tenants t
             ON CASE WHEN r.scope ? 'allTenants' THEN t.external_id <> $1
                     ELSE t.id IN (SELECT (s ->> 'id')::bigint FROM jsonb_array_elements(r.scope -> 'tenants') s) END
          WHERE r.idempotency_key LIKE 'load:%'
       )
       INSERT INTO operation_run_items (run_id, tenant_id, status, counts, error, started_at, completed_at)
       SELECT run_id, tenant_id, status,
              CASE WHEN status = 'pending'
                   THEN '{"examined": 0, "changed": 0, "batches": 0, "breakdown": {}, "cursor": 0}'::jsonb
                   ELSE jsonb_build_object('examined', examined, 'changed', floor(examined * changed_share)::int,
                                           'batches', ceil(examined / 2000.0)::int, 'breakdown', '{}'::jsonb, 'cursor', examined)
              END,
              CASE status WHEN 'failed' THEN 'trigger findings_guard raised: due_at before first_seen_at'
                          WHEN 'cancelled' THEN 'The run was cancelled before this tenant finished.' END,
              CASE WHEN status <> 'pending' THEN started_at END,
              CASE WHEN status IN ('succeeded', 'failed', 'cancelled') THEN coalesce(completed_at, now()) END
         FROM items`,
      [PLATFORM_TENANT_EXTERNAL_ID],
    );

    // The run's totals as the worker leaves them (refreshRunCounts does this one run at a time).
    await client.query(
      `UPDATE operation_runs r
          SET counts = totals.counts
         FROM (SELECT run_id, jsonb_build_object(
                        'tenants', count(*),
                        'tenantsPending', count(*) FILTER (WHERE status = 'pending'),
                        'tenantsRunning', count(*) FILTER (WHERE status = 'running'),
                        'tenantsSucceeded', count(*) FILTER (WHERE status = 'succeeded'),
                        'tenantsFailed', count(*) FILTER (WHERE status = 'failed'),
                        'tenantsCancelled', count(*) FILTER (WHERE status = 'cancelled'),
                        'examined', sum((counts ->> 'examined')::bigint),
                        'changed', sum((counts ->> 'changed')::bigint),
                        'batches', sum((counts ->> 'batches')::bigint),
                        'breakdown', '{}'::jsonb) AS counts
                 FROM operation_run_items GROUP BY run_id) totals
        WHERE totals.run_id = r.id AND r.idempotency_key LIKE 'load:%'`,
    );

    // The trail a run leaves: started; paused; cancel requested; its end, by the worker.
    await client.query(
      `INSERT INTO audit_events (occurred_at, actor_kind, actor_label, action, target_kind, target_id, metadata)
       SELECT e.occurred_at, e.actor_kind, e.actor_label, e.action, 'operation_run', r.id::text,
              jsonb_build_object('runbook', r.runbook, 'source', r.source)
         FROM operation_runs r
        CROSS JOIN LATERAL (VALUES
          (r.created_at, CASE r.source WHEN 'system_ui' THEN 'platform_user' ELSE r.source END, r.initiator_label, 'runbook.started'),
          (r.paused_at, 'platform_user', r.paused_by, 'runbook.paused'),
          (CASE WHEN r.outcome = 'cancelled' THEN r.completed_at - interval '5 seconds' END, 'platform_user', 'operator1@example.com', 'runbook.cancel_requested'),
          (r.completed_at, 'system', 'temporal-worker',
           CASE r.outcome WHEN 'failed' THEN 'runbook.failed' WHEN 'cancelled' THEN 'runbook.cancelled' ELSE 'runbook.completed' END)
        ) AS e(occurred_at, actor_kind, actor_label, action)
        WHERE e.occurred_at IS NOT NULL AND r.idempotency_key LIKE 'load:%'`,
    );

    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM operation_runs WHERE idempotency_key = 'load:1'`,
    );
    return rows[0]!.id;
  });
}
