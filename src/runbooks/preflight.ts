import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import { orm, type Connection } from '../db/orm.js';
import { alongsideInSnapshot } from '../db/sharedSnapshot.js';
import type { Queryable } from '../db/queryable.js';
import { preflights, preflightTenants } from '../db/schema/index.js';
import { inTransaction } from '../db/transaction.js';
import type { PreflightBody, RunbookDefinition, RunContext, SampleChange } from './definition.js';
import { parseParameters } from './parameters.js';
import { RunbookRefusal } from './refusal.js';
import { auditActor, initiatorLabel, type Initiator, type RequestContext } from './initiator.js';
import { describeScope, resolveScope, type ResolvedScope, type ScopeInput } from './scope.js';
import type { ScopeKind, StoredScope, TenantFingerprint } from './model.js';

const TOP_TENANTS = 10;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PreflightReport {
  runbook: string;
  title: string;
  unit: string;
  scope: { kind: ScopeKind; description: string };
  /** The parameters it was computed for, canonical with defaults filled in. */
  parameters: Record<string, unknown>;
  /** The run's one "now", fixed here (ISO 8601, UTC). */
  asOf: string;
  tenantsInScope: number;
  inScope: number;
  toChange: number;
  breakdown: Record<string, number>;
  topTenants: Array<{ externalId: string; inScope: number; toChange: number }>;
  /** The runbook's `sampleKey`: what each sample's key names. */
  sampleKey: string;
  /**
   * A few before/after examples. Reports saved before `SampleChange` and `sampleKey` existed
   * have no `sampleKey` and entries of an older shape: whoever renders a saved report must cope.
   */
  sample: SampleChange[];
}

export interface SavedPreflight {
  id: string;
  runbook: string;
  scopeKind: ScopeKind;
  scope: StoredScope;
  parameters: Record<string, unknown>;
  asOf: Date;
  report: PreflightReport;
  contentHash: string;
  createdBy: string;
  createdAt: Date;
}

/** One tenant of a saved preflight, as the start's drift check compares it. */
export interface PreflightTenant {
  tenantId: number;
  toChange: number;
  fingerprint: TenantFingerprint;
}

function reportOf(
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  context: RunContext,
  body: PreflightBody,
): PreflightReport {
  const externalIds = new Map(scope.tenants.map((tenant) => [tenant.id, tenant.externalId]));
  const sum = (pick: (t: (typeof body.perTenant)[number]) => number) => body.perTenant.reduce((n, t) => n + pick(t), 0);
  return {
    runbook: runbook.id,
    title: runbook.title,
    unit: runbook.unit,
    scope: { kind: scope.kind, description: describeScope(scope.stored) },
    parameters: context.parameters,
    asOf: context.asOf.toISOString(),
    tenantsInScope: scope.tenants.length,
    inScope: sum((t) => t.inScope),
    toChange: sum((t) => t.toChange),
    breakdown: body.breakdown,
    topTenants: body.perTenant
      .filter((tenant) => tenant.toChange > 0)
      .sort((a, b) => b.toChange - a.toChange || a.tenantId - b.tenantId)
      .slice(0, TOP_TENANTS)
      .map((tenant) => ({
        externalId: externalIds.get(tenant.tenantId) ?? String(tenant.tenantId),
        inScope: tenant.inScope,
        toChange: tenant.toChange,
      })),
    sampleKey: runbook.sampleKey,
    sample: body.sample,
  };
}

/** The report for a resolved scope; read-only, run inside the caller's snapshot. */
export async function buildPreflightReport(
  q: Queryable,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  context: RunContext,
): Promise<PreflightReport> {
  return reportOf(runbook, scope, context, await runbook.preflight(q, scope.tenants, context));
}

/**
 * The report and, per tenant in scope, its count to change and data fingerprint, all in the
 * caller's snapshot so that they agree: a tenant whose fingerprint later reads the same still
 * has the count the report added up. The fingerprints are taken on a second connection in that
 * snapshot while the counts run, as they are independent reads (the counts dominate).
 */
async function measurePreflight(
  pool: pg.Pool,
  client: pg.PoolClient,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  context: RunContext,
): Promise<{ report: PreflightReport; tenants: PreflightTenant[] }> {
  const fingerprinted = alongsideInSnapshot(pool, client, (q) =>
    runbook.fingerprint(
      q,
      scope.tenants.map((tenant) => tenant.id),
      context,
    ),
  );
  const [body, fingerprints] = await Promise.all([runbook.preflight(client, scope.tenants, context), fingerprinted]);
  const toChange = new Map(body.perTenant.map((tenant) => [tenant.tenantId, tenant.toChange]));
  const tenants = scope.tenants.map(({ id }) => {
    const fingerprint = fingerprints.get(id);
    if (!fingerprint) throw new Error(`${runbook.id}: fingerprint() returned nothing for tenant ${id}`);
    return { tenantId: id, toChange: toChange.get(id) ?? 0, fingerprint };
  });
  return { report: reportOf(runbook, scope, context, body), tenants };
}

/** The snapshot's own clock (its transaction's start), to the millisecond a Date keeps. */
async function snapshotTime(q: Queryable): Promise<Date> {
  const { rows } = await q.query<{ now: Date }>(`SELECT date_trunc('milliseconds', now()) AS now`);
  return rows[0]!.now;
}

function contentHash(report: PreflightReport): string {
  return createHash('sha256').update(JSON.stringify(report)).digest('hex');
}

/**
 * Resolves the scope and computes the report in one read-only snapshot, then saves it with its
 * tenants (a start names the preflight it was confirmed against) and audits `runbook.preflighted`.
 */
export async function runPreflight(
  pool: pg.Pool,
  request: {
    runbook: RunbookDefinition;
    scope: ScopeInput;
    /** As the surfaces give them; checked and made canonical here. */
    parameters?: Record<string, unknown>;
    initiator: Initiator;
    context?: RequestContext;
  },
): Promise<SavedPreflight> {
  const { runbook, initiator } = request;
  const { scope, report, tenants, context } = await inTransaction(
    pool,
    async (client) => {
      const parameters = parseParameters(runbook.parameters, request.parameters);
      const resolved = await resolveScope(client, request.scope);
      const context: RunContext = { parameters, asOf: await snapshotTime(client) };
      return { scope: resolved, context, ...(await measurePreflight(pool, client, runbook, resolved, context)) };
    },
    { readOnly: true },
  ).catch(async (error: unknown) => {
    // A scope the rules refuse (the platform tenant, unknown tenants) is audited like a refused start.
    if (error instanceof RunbookRefusal) {
      await recordAudit(pool, {
        ...auditActor(initiator, request.context),
        action: 'runbook.preflight_rejected',
        targetKind: 'runbook',
        targetId: runbook.id,
        metadata: {
          code: error.code,
          message: error.message,
          scope: request.scope,
          parameters: request.parameters ?? {},
        },
      });
    }
    throw error;
  });
  const values = {
    runbook: runbook.id,
    scopeKind: scope.kind,
    scope: scope.stored,
    parameters: context.parameters,
    asOf: context.asOf,
    report,
    contentHash: contentHash(report),
    createdBy: initiatorLabel(initiator),
  };
  const saved: SavedPreflight = await inTransaction(pool, async (client) => {
    const tx = orm(client);
    const [row] = await tx
      .insert(preflights)
      .values(values)
      .returning({ id: preflights.id, createdAt: preflights.createdAt });
    // One statement however many tenants (ten thousand for all tenants): a VALUES list would
    // need four parameters a row and PostgreSQL takes 65,535. Columns in the table's order.
    const rows = tenants.map((tenant) => ({
      tenant_id: tenant.tenantId,
      to_change: tenant.toChange,
      fingerprint: tenant.fingerprint,
    }));
    await tx.insert(preflightTenants).select(
      sql`SELECT ${row!.id}::uuid, t.tenant_id, t.to_change, t.fingerprint
            FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS t (tenant_id bigint, to_change int, fingerprint jsonb)`,
    );
    // The report as computed, not as jsonb gives it back (with its keys reordered).
    return { ...values, id: row!.id, createdAt: row!.createdAt };
  });
  await recordAudit(pool, {
    ...auditActor(initiator, request.context),
    action: 'runbook.preflighted',
    targetKind: 'preflight',
    targetId: saved.id,
    metadata: {
      runbook: runbook.id,
      scope: scope.stored,
      parameters: context.parameters,
      tenantsInScope: report.tenantsInScope,
      toChange: report.toChange,
    },
  });
  return saved;
}

function savedPreflight(row: typeof preflights.$inferSelect): SavedPreflight {
  return {
    ...row,
    scopeKind: row.scopeKind as ScopeKind,
    scope: row.scope as StoredScope,
    report: row.report as PreflightReport,
  };
}

/** The saved preflight, or null when there is none with this id (or it cannot be an id). */
export async function loadPreflight(q: Connection, id: string): Promise<SavedPreflight | null> {
  if (!UUID.test(id)) return null;
  const [row] = await orm(q).select().from(preflights).where(eq(preflights.id, id));
  return row ? savedPreflight(row) : null;
}

/**
 * The tenants a preflight counted, with their counts and fingerprints. Empty for a preflight
 * saved before preflights recorded their tenants (and for one of an empty scope).
 */
export async function loadPreflightTenants(q: Connection, preflightId: string): Promise<PreflightTenant[]> {
  return orm(q)
    .select({
      tenantId: preflightTenants.tenantId,
      toChange: preflightTenants.toChange,
      fingerprint: preflightTenants.fingerprint,
    })
    .from(preflightTenants)
    .where(eq(preflightTenants.preflightId, preflightId));
}
