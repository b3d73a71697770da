import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatInstant, MICROS_PER_DAY, parseInstant } from '../src/catalog/findings-lifecycle/instants.js';
import { tenantFindingStatsRebuild as runbook } from '../src/catalog/tenant-finding-stats/definition.js';
import {
  computeTenantStats,
  STATS_FIELDS,
  statsChange,
  type FindingFacts,
  type TenantFindingStats,
} from '../src/catalog/tenant-finding-stats/rules.js';
import type { RunContext } from '../src/runbooks/definition.js';
import type { TenantRef } from '../src/runbooks/model.js';
import { REPLAYABLE, usePropertyDatabase } from './support/findingHistories.js';

const RUNS = 25;
const HOUR = MICROS_PER_DAY / 24;
const SECOND = 1_000_000;
const WINDOW = 30 * MICROS_PER_DAY;
/** What a stats row is written with before the run: an instant no run uses. */
const EARLIER = '2020-01-01T00:00:00.000000Z';

// The 30-day windows before these instants cross the US DST changes of 2026-03-08 and
// 2026-11-01, and the session runs in New York: a day must stay 24 hours. Milliseconds, as
// the preflight fixes `asOf` (a Date).
const AS_OFS = [parseInstant('2026-03-20T12:00:00.123Z'), parseInstant('2026-11-20T06:30:00.987Z')];

/**
 * An instant as an offset from `asOf`: near a boundary the rules draw (`asOf`, `asOf` − 30
 * days), to the microsecond either side of it, or further off, sometimes decades before (a
 * large mean, where the rounding must stay exact).
 */
const offset = fc
  .tuple(
    fc.constantFrom(0, 0, -WINDOW, -WINDOW, -5 * MICROS_PER_DAY, 10 * MICROS_PER_DAY, -20_000 * MICROS_PER_DAY),
    fc.integer({ min: -2, max: 2 }),
    fc.constantFrom(0, 0, 0, 1, -1, SECOND / 2, SECOND - 1, 1234),
  )
  .map(([anchor, hours, micros]) => anchor + hours * HOUR + micros);

/** A finding with its instants as offsets from `asOf` (`atAsOf` places them). */
const generatedFinding: fc.Arbitrary<FindingFacts> = fc.record({
  severity: fc.constantFrom('critical', 'high', 'medium', 'low', 'info', 'urgent'),
  status: fc.constantFrom('new', 'triaged', 'reopened', 'resolved', 'resolved', 'risk_accepted', 'open', null),
  first_seen_at: fc.option(offset),
  due_at: fc.option(offset),
  resolved_at: fc.option(offset),
});

const garbageStats: fc.Arbitrary<TenantFindingStats> = fc.record({
  open_critical: fc.nat(5),
  open_high: fc.nat(5),
  open_medium: fc.nat(5),
  open_low: fc.nat(5),
  overdue: fc.nat(5),
  resolved_30d: fc.nat(5),
  mean_time_to_resolve_seconds: fc.option(fc.bigInt({ min: -10n, max: 10n ** 10n })),
});

/** A tenant's findings and its stored row: none, the right one, one figure off, or noise. */
const generatedTenant = fc.record({
  findings: fc.array(generatedFinding, { maxLength: 60 }),
  row: fc.constantFrom('missing', 'current', 'stale', 'garbage'),
  staleField: fc.constantFrom(...STATS_FIELDS),
  garbage: garbageStats,
});
type GeneratedTenant = typeof generatedTenant extends fc.Arbitrary<infer T> ? T : never;

function nudged(stats: TenantFindingStats, field: (typeof STATS_FIELDS)[number]): TenantFindingStats {
  if (field === 'mean_time_to_resolve_seconds') {
    const mean = stats.mean_time_to_resolve_seconds;
    return { ...stats, [field]: mean === null ? 0n : mean + 1n };
  }
  return { ...stats, [field]: stats[field] + 1 };
}

const db = usePropertyDatabase();
let tenantCount = 0;

const iso = (at: number | null) => (at === null ? null : formatInstant(at));
const contextAt = (asOf: number): RunContext => ({ parameters: {}, asOf: new Date(asOf / 1000) });

async function insertTenant(findings: FindingFacts[]): Promise<TenantRef> {
  tenantCount += 1;
  const externalId = `stats-${tenantCount}`;
  const { rows } = await db.client.query(
    `INSERT INTO tenants (workspace_id, external_id, name) VALUES ($1, $2, $2) RETURNING id`,
    [db.workspaceId, externalId],
  );
  const tenant = { id: Number(rows[0].id), externalId, workspaceId: db.workspaceId };
  await db.client.query(
    `INSERT INTO findings (tenant_id, fingerprint, title, severity, status, first_seen_at, due_at, resolved_at)
     SELECT $1, 'f-' || x.n, 'generated', x.severity, x.status, x.first_seen_at, x.due_at, x.resolved_at
       FROM jsonb_to_recordset($2::jsonb) AS x (n int, severity text, status text, first_seen_at timestamptz,
            due_at timestamptz, resolved_at timestamptz)`,
    [
      tenant.id,
      JSON.stringify(
        findings.map((finding, n) => ({
          n,
          severity: finding.severity,
          status: finding.status,
          first_seen_at: iso(finding.first_seen_at),
          due_at: iso(finding.due_at),
          resolved_at: iso(finding.resolved_at),
        })),
      ),
    ],
  );
  return tenant;
}

async function insertStats(tenantId: number, stats: TenantFindingStats): Promise<void> {
  await db.client.query(
    `INSERT INTO tenant_finding_stats (tenant_id, ${STATS_FIELDS.join(', ')}, computed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [tenantId, ...STATS_FIELDS.map((field) => stats[field]?.toString() ?? null), EARLIER],
  );
}

/** The stored row's figures (the mean as text, exact) and computed_at, or null without a row. */
async function storedRow(tenantId: number) {
  const { rows } = await db.client.query(
    `SELECT ${STATS_FIELDS.filter((field) => field !== 'mean_time_to_resolve_seconds').join(', ')},
            mean_time_to_resolve_seconds::text AS mean_time_to_resolve_seconds,
            to_char(computed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS computed_at
       FROM tenant_finding_stats WHERE tenant_id = $1`,
    [tenantId],
  );
  return rows[0] ?? null;
}

/** Figures as the row reads back: the mean as text. */
const asRow = (stats: TenantFindingStats) => ({
  ...stats,
  mean_time_to_resolve_seconds: stats.mean_time_to_resolve_seconds?.toString() ?? null,
});

/** Figures as the preflight's sample gives them: JSON, the mean a number. */
const asJson = (stats: TenantFindingStats | null) =>
  Object.fromEntries(
    STATS_FIELDS.map((field) => {
      const value = stats?.[field] ?? null;
      return [field, typeof value === 'bigint' ? Number(value) : value];
    }),
  );

const atAsOf = (finding: FindingFacts, asOf: number): FindingFacts => ({
  ...finding,
  first_seen_at: finding.first_seen_at === null ? null : asOf + finding.first_seen_at,
  due_at: finding.due_at === null ? null : asOf + finding.due_at,
  resolved_at: finding.resolved_at === null ? null : asOf + finding.resolved_at,
});

function storedBefore(tenant: GeneratedTenant, computed: TenantFindingStats): TenantFindingStats | null {
  if (tenant.row === 'missing') return null;
  if (tenant.row === 'current') return computed;
  if (tenant.row === 'stale') return nudged(computed, tenant.staleField);
  return tenant.garbage;
}

describe('tenant finding statistics: the SQL agrees with the pure rules', () => {
  it(`on ${RUNS} runs of a few tenants with random findings`, async () => {
    const seen = { inserted: 0, updated: 0, unchanged: 0, nullMean: 0, mean: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(generatedTenant, { minLength: 1, maxLength: 7 }),
        fc.constantFrom(...AS_OFS),
        async (generated, asOf) => {
          const context = contextAt(asOf);
          const tenants: TenantRef[] = [];
          const expected = [];
          for (const tenant of generated) {
            const findings = tenant.findings.map((finding) => atAsOf(finding, asOf));
            const ref = await insertTenant(findings);
            const computed = computeTenantStats(findings, asOf);
            const before = storedBefore(tenant, computed);
            if (before) await insertStats(ref.id, before);
            tenants.push(ref);
            expected.push({ ref, findings, computed, before, change: statsChange(before, computed) });
          }
          const changing = expected.filter((e) => e.change !== null);
          const breakdown = {
            inserted: changing.filter((e) => e.change === 'inserted').length,
            updated: changing.filter((e) => e.change === 'updated').length,
          };

          const preflight = await runbook.preflight(db.client, tenants, context);
          expect(preflight.perTenant).toEqual(
            expected.map((e) => ({ tenantId: e.ref.id, inScope: 1, toChange: e.change ? 1 : 0 })),
          );
          expect(preflight.breakdown).toEqual(breakdown);
          expect(preflight.sample).toEqual(
            changing.slice(0, 5).map((e) => ({
              key: e.ref.externalId,
              before: asJson(e.before),
              after: asJson(e.computed),
            })),
          );
          // One entry per distinct tenant asked for.
          const fingerprints = await runbook.fingerprint(
            db.client,
            [...tenants.map((t) => t.id), tenants[0]!.id],
            context,
          );
          expect(new Set(fingerprints.keys())).toEqual(new Set(tenants.map((t) => t.id)));

          const runBreakdown: Record<string, number> = { inserted: 0, updated: 0 };
          for (const e of expected) {
            const batch = await runbook.processBatch(
              db.client,
              { runId: 'property', tenantId: e.ref.id, cursor: 0, batchSize: 10 },
              context,
            );
            const message = `tenant ${e.ref.externalId}: ${JSON.stringify(e.findings)}`;
            expect(batch, message).toEqual({
              cursor: 1,
              examined: e.findings.length,
              changed: e.change ? 1 : 0,
              breakdown: { inserted: e.change === 'inserted' ? 1 : 0, updated: e.change === 'updated' ? 1 : 0 },
              last: true,
            });
            for (const [field, n] of Object.entries(batch!.breakdown))
              runBreakdown[field] = (runBreakdown[field] ?? 0) + n;
            expect(await storedRow(e.ref.id), message).toEqual({
              ...asRow(e.computed),
              computed_at: e.change ? formatInstant(asOf) : EARLIER,
            });
            expect(await runbook.remainingToChange(db.client, e.ref.id, context)).toBe(0);
            seen[e.change ?? 'unchanged'] += 1;
            seen[e.computed.mean_time_to_resolve_seconds === null ? 'nullMean' : 'mean'] += 1;
          }
          // What the run did is what the preflight said it would.
          expect(runBreakdown).toEqual(preflight.breakdown);

          // The fingerprint moved exactly where the run wrote a row.
          const after = await runbook.fingerprint(
            db.client,
            tenants.map((t) => t.id),
            context,
          );
          for (const e of expected) {
            const moved = JSON.stringify(after.get(e.ref.id)) !== JSON.stringify(fingerprints.get(e.ref.id));
            expect(moved, e.ref.externalId).toBe(e.change !== null);
          }

          // A second run changes nothing, whatever the batch size, and a cursor past the tenant ends it.
          for (const e of expected) {
            const again = await runbook.processBatch(
              db.client,
              { runId: 'property', tenantId: e.ref.id, cursor: 0, batchSize: 1 },
              context,
            );
            expect(again).toMatchObject({ changed: 0, breakdown: { inserted: 0, updated: 0 } });
            expect(
              await runbook.processBatch(
                db.client,
                { runId: 'property', tenantId: e.ref.id, cursor: 1, batchSize: 10 },
                context,
              ),
            ).toBeNull();
          }
          const recount = await runbook.preflight(db.client, tenants, context);
          expect(recount.perTenant.map((t) => t.toChange)).toEqual(tenants.map(() => 0));
          expect(recount.sample).toEqual([]);
        },
      ),
      { numRuns: RUNS, ...REPLAYABLE },
    );
    // Guards the generator: every kind of tenant arises.
    for (const [kind, n] of Object.entries(seen)) expect(n, kind).toBeGreaterThan(0);
  });
});

describe('tenant finding statistics at the boundaries', () => {
  const asOf = AS_OFS[0]!;
  const finding = (overrides: Partial<FindingFacts>): FindingFacts => ({
    severity: 'high',
    status: 'new',
    first_seen_at: null,
    due_at: null,
    resolved_at: null,
    ...overrides,
  });
  const resolved = (first: number | null, at: number) =>
    finding({ status: 'resolved', first_seen_at: first, resolved_at: at });

  /** Runs the tenant's one batch as of `asOf` and returns the row it wrote, checked against the pure rules. */
  async function rebuilt(findings: FindingFacts[], at = asOf) {
    const tenant = await insertTenant(findings);
    const batch = await runbook.processBatch(
      db.client,
      { runId: 'example', tenantId: tenant.id, cursor: 0, batchSize: 100 },
      contextAt(at),
    );
    expect(batch).toMatchObject({ examined: findings.length, changed: 1, breakdown: { inserted: 1, updated: 0 } });
    const row = await storedRow(tenant.id);
    const { computed_at, ...figures } = row;
    expect(computed_at).toBe(formatInstant(at));
    expect(figures).toEqual(asRow(computeTenantStats(findings, at)));
    return { tenant, figures };
  }

  it('counts a resolution in the 30 days when it is after asOf − 30 days of 24 hours, up to asOf itself', async () => {
    const { figures } = await rebuilt([
      resolved(null, asOf - WINDOW),
      resolved(null, asOf - WINDOW + 1),
      resolved(null, asOf),
      resolved(null, asOf + 1),
      finding({ status: 'reopened', resolved_at: asOf - HOUR }),
    ]);
    expect(figures.resolved_30d).toBe(2);
  });

  it('is overdue only when open and due strictly before asOf, whatever the severity', async () => {
    const { figures } = await rebuilt([
      finding({ due_at: asOf }),
      finding({ due_at: asOf - 1, severity: 'info' }),
      finding({ due_at: asOf - 1, status: 'triaged', severity: 'critical' }),
      finding({ due_at: asOf - MICROS_PER_DAY, status: 'resolved', resolved_at: asOf - HOUR }),
      finding({ due_at: asOf - MICROS_PER_DAY, status: 'open' }),
      finding({ due_at: asOf - MICROS_PER_DAY, status: null }),
    ]);
    expect(figures).toMatchObject({ overdue: 2, open_critical: 1, open_high: 1, open_medium: 0, open_low: 0 });
  });

  it('has no mean without a resolution up to asOf that has a first_seen_at; the row is still written', async () => {
    const { figures } = await rebuilt([
      finding({}),
      resolved(null, asOf - HOUR),
      resolved(asOf - MICROS_PER_DAY, asOf + 1),
      finding({ status: 'risk_accepted', first_seen_at: asOf - MICROS_PER_DAY, resolved_at: asOf - HOUR }),
    ]);
    expect(figures).toMatchObject({ resolved_30d: 1, mean_time_to_resolve_seconds: null });
    const empty = await rebuilt([]);
    expect(empty.figures).toEqual(asRow(computeTenantStats([], asOf)));
    expect(empty.figures).toMatchObject({ open_high: 0, overdue: 0, mean_time_to_resolve_seconds: null });
  });

  it('rounds the mean to whole seconds, half away from zero, from the microseconds', async () => {
    /** The mean of resolutions that took these many microseconds (negative: a legacy row resolved before first seen). */
    const mean = async (...micros: number[]) =>
      (await rebuilt(micros.map((took) => resolved(asOf - HOUR - took, asOf - HOUR)))).figures
        .mean_time_to_resolve_seconds;
    expect(await mean(1 * SECOND, 2 * SECOND)).toBe('2');
    expect(await mean(1_499_999, 1_500_000)).toBe('1');
    expect(await mean(-1 * SECOND, -2 * SECOND)).toBe('-2');
    expect(await mean(-1_500_000, 500_000)).toBe('-1');
    expect(await mean(273_600 * SECOND + 499_999)).toBe('273600');
    expect(await mean(273_600 * SECOND + 500_000)).toBe('273601');
  });

  it('keeps a mean a hair below .5 below it, where round(avg()) would not', async () => {
    // A thousand resolutions of a billion and a half seconds, one a microsecond shorter: the mean
    // is a billionth of a second below ….5, past the digits avg() keeps.
    const long = 1_000_000_000 * SECOND + SECOND / 2;
    const findings = Array.from({ length: 1000 }, (_, i) =>
      resolved(asOf - HOUR - long + (i === 0 ? 1 : 0), asOf - HOUR),
    );
    const { tenant, figures } = await rebuilt(findings);
    expect(figures.mean_time_to_resolve_seconds).toBe('1000000000');
    const { rows } = await db.client.query(
      `SELECT round(avg(extract(epoch FROM resolved_at) - extract(epoch FROM first_seen_at)))::text AS naive
         FROM findings WHERE tenant_id = $1`,
      [tenant.id],
    );
    expect(rows[0].naive).toBe('1000000001');
  });

  it('leaves a row with the right figures alone, whenever it was computed', async () => {
    const findings = [finding({ severity: 'low', due_at: asOf - 1 }), resolved(asOf - 2 * HOUR, asOf - HOUR)];
    const tenant = await insertTenant(findings);
    await insertStats(tenant.id, computeTenantStats(findings, asOf));
    const context = contextAt(asOf);
    expect((await runbook.preflight(db.client, [tenant], context)).perTenant).toEqual([
      { tenantId: tenant.id, inScope: 1, toChange: 0 },
    ]);
    expect(
      await runbook.processBatch(
        db.client,
        { runId: 'example', tenantId: tenant.id, cursor: 0, batchSize: 1 },
        context,
      ),
    ).toEqual({ cursor: 1, examined: 2, changed: 0, breakdown: { inserted: 0, updated: 0 }, last: true });
    expect((await storedRow(tenant.id)).computed_at).toBe(EARLIER);
    expect(await runbook.remainingToChange(db.client, tenant.id, context)).toBe(0);
    // Thirty days on, the resolution has left the window: the same row is stale then.
    expect(await runbook.remainingToChange(db.client, tenant.id, contextAt(asOf + WINDOW))).toBe(1);
  });
});
