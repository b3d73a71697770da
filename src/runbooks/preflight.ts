import { createHash } from 'node:crypto';
import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import type { Queryable } from '../db/queryable.js';
import { inTransaction } from '../db/transaction.js';
import type { RunbookDefinition } from './definition.js';
import { auditActor, initiatorLabel, type Initiator, type RequestContext } from './initiator.js';
import { describeScope, resolveScope, type ResolvedScope, type ScopeInput, type ScopeKind, type StoredScope } from './scope.js';

const TOP_TENANTS = 10;

export interface PreflightReport {
  runbook: string;
  title: string;
  unit: string;
  scope: { kind: ScopeKind; description: string };
  tenantsInScope: number;
  inScope: number;
  toChange: number;
  breakdown: Record<string, number>;
  topTenants: Array<{ externalId: string; inScope: number; toChange: number }>;
  sample: unknown[];
}

export interface SavedPreflight {
  id: string;
  runbook: string;
  scopeKind: ScopeKind;
  scope: StoredScope;
  report: PreflightReport;
  contentHash: string;
  createdBy: string;
  createdAt: Date;
}

/** The report for a resolved scope; read-only, run inside the caller's snapshot. */
export async function buildPreflightReport(
  q: Queryable,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
): Promise<PreflightReport> {
  const body = await runbook.preflight(q, scope.tenants);
  const externalIds = new Map(scope.tenants.map((tenant) => [tenant.id, tenant.externalId]));
  const sum = (pick: (t: (typeof body.perTenant)[number]) => number) => body.perTenant.reduce((n, t) => n + pick(t), 0);
  return {
    runbook: runbook.id,
    title: runbook.title,
    unit: runbook.unit,
    scope: { kind: scope.kind, description: describeScope(scope.stored) },
    tenantsInScope: scope.tenants.length,
    inScope: sum((t) => t.inScope),
    toChange: sum((t) => t.toChange),
    breakdown: body.breakdown,
    topTenants: body.perTenant
      .filter((tenant) => tenant.toChange > 0)
      .sort((a, b) => b.toChange - a.toChange || a.tenantId - b.tenantId)
      .slice(0, TOP_TENANTS)
      .map((tenant) => ({ externalId: externalIds.get(tenant.tenantId) ?? String(tenant.tenantId), inScope: tenant.inScope, toChange: tenant.toChange })),
    sample: body.sample,
  };
}

export function contentHash(report: PreflightReport): string {
  return createHash('sha256').update(JSON.stringify(report)).digest('hex');
}

/**
 * Resolves the scope and computes the report in one read-only snapshot, then saves it (a
 * start names the preflight it was confirmed against) and audits `runbook.preflighted`.
 */
export async function runPreflight(
  pool: pg.Pool,
  request: { runbook: RunbookDefinition; scope: ScopeInput; initiator: Initiator; context?: RequestContext },
): Promise<SavedPreflight> {
  const { runbook, initiator } = request;
  const { scope, report } = await inTransaction(
    pool,
    async (client) => {
      const resolved = await resolveScope(client, request.scope);
      return { scope: resolved, report: await buildPreflightReport(client, runbook, resolved) };
    },
    { readOnly: true },
  );
  const hash = contentHash(report);
  const { rows } = await pool.query<{ id: string; created_at: Date }>(
    `INSERT INTO preflights (runbook, scope_kind, scope, report, content_hash, created_by)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at`,
    [runbook.id, scope.kind, JSON.stringify(scope.stored), JSON.stringify(report), hash, initiatorLabel(initiator)],
  );
  const saved = rows[0]!;
  await recordAudit(pool, {
    ...auditActor(initiator, request.context),
    action: 'runbook.preflighted',
    targetKind: 'preflight',
    targetId: saved.id,
    metadata: { runbook: runbook.id, scope: scope.stored, tenantsInScope: report.tenantsInScope, toChange: report.toChange },
  });
  return {
    id: saved.id,
    runbook: runbook.id,
    scopeKind: scope.kind,
    scope: scope.stored,
    report,
    contentHash: hash,
    createdBy: initiatorLabel(initiator),
    createdAt: saved.created_at,
  };
}

export async function loadPreflight(q: Queryable, id: string): Promise<SavedPreflight | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const { rows } = await q.query(
    `SELECT id, runbook, scope_kind AS "scopeKind", scope, report, content_hash AS "contentHash",
            created_by AS "createdBy", created_at AS "createdAt"
       FROM preflights WHERE id = $1`,
    [id],
  );
  return (rows[0] as SavedPreflight | undefined) ?? null;
}
