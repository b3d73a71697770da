import fc from 'fast-check';
import type { Queryable } from '../../db/queryable.js';
import { defineTestData } from '../../runbooks/testData.js';
import { rebuildTenantStats } from './rebuildSql.js';
import { STATS_FIELDS } from './rules.js';

const HOUR = 60 * 60 * 1_000_000;
const DAY = 24 * HOUR;
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

/**
 * An instant as microseconds from the database's now(). The rules compare instants with a run's
 * `asOf` and with `asOf` − 30 days; `asOf` is a preflight's now(), a little after the data is
 * written, so keeping two hours from now() and now() − 30 days keeps an hour from both.
 */
const pastOffset = fc.oneof(
  fc.integer({ min: -(30 * DAY - 2 * HOUR), max: -2 * HOUR }),
  fc.integer({ min: -400 * DAY, max: -(30 * DAY + 2 * HOUR) }),
);
const offset = fc.oneof(fc.integer({ min: 2 * HOUR, max: 90 * DAY }), pastOffset);

/** A finding's columns the figures read; legacy statuses and NULLs among them. */
const generatedFinding = fc.record({
  severity: fc.constantFrom(...SEVERITIES),
  status: fc.constantFrom('new', 'triaged', 'reopened', 'resolved', 'risk_accepted', 'open', null),
  firstSeen: fc.option(offset),
  due: fc.option(offset),
  resolved: fc.option(offset),
});
type GeneratedFinding = typeof generatedFinding extends fc.Arbitrary<infer T> ? T : never;

/**
 * A tenant's findings, and its stats row: none yet, off in one figure, or current. A tenant has
 * one row, so a current one is rare: a few tenants with nothing to change between them would
 * leave a run nothing to do.
 */
const tenantData = fc.record({
  findings: fc.array(generatedFinding, { minLength: 1, maxLength: 25 }),
  row: fc.oneof(
    { arbitrary: fc.constant('missing' as const), weight: 7 },
    { arbitrary: fc.constant('stale' as const), weight: 8 },
    { arbitrary: fc.constant('current' as const), weight: 1 },
  ),
  staleField: fc.constantFrom(...STATS_FIELDS),
});
type TenantData = typeof tenantData extends fc.Arbitrary<infer T> ? T : never;

/** The product's own writes: a new finding, a finding triaged, resolved, reopened, re-rated or re-dated. */
const change = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), finding: generatedFinding }),
  fc.record({
    kind: fc.constant('status' as const),
    pick: fc.nat(),
    status: fc.constantFrom('triaged', 'resolved', 'reopened', 'risk_accepted'),
    resolved: pastOffset,
  }),
  fc.record({ kind: fc.constant('severity' as const), pick: fc.nat(), severity: fc.constantFrom(...SEVERITIES) }),
  fc.record({ kind: fc.constant('due' as const), pick: fc.nat(), due: fc.option(offset) }),
  fc.record({ kind: fc.constant('statsDeleted' as const) }),
);
type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

/** `now()` moved by a parameter of microseconds (NULL stays NULL). */
const fromNow = (parameter: string) => `now() + interval '1 microsecond' * ${parameter}`;

async function insertFindings(q: Queryable, tenantId: number, findings: GeneratedFinding[]): Promise<void> {
  await q.query(
    `INSERT INTO findings (tenant_id, fingerprint, title, severity, status, first_seen_at, due_at, resolved_at)
     SELECT $1, 'stats-' || gen_random_uuid(), 'generated', x.severity, x.status,
            ${fromNow('x."firstSeen"')}, ${fromNow('x.due')}, ${fromNow('x.resolved')}
       FROM jsonb_to_recordset($2::jsonb) AS x (severity text, status text, "firstSeen" bigint, due bigint, resolved bigint)`,
    [tenantId, JSON.stringify(findings)],
  );
}

/** One of the tenant's findings, by position in id order (the tenant has at least one). */
async function pickFinding(q: Queryable, tenantId: number, pick: number): Promise<number> {
  const { rows } = await q.query<{ id: string }>('SELECT id FROM findings WHERE tenant_id = $1 ORDER BY id', [
    tenantId,
  ]);
  return Number(rows[pick % rows.length]!.id);
}

async function applyChange(q: Queryable, tenantId: number, change: Change): Promise<void> {
  switch (change.kind) {
    case 'insert':
      return insertFindings(q, tenantId, [change.finding]);
    case 'status':
      // Resolving stamps the resolution; any other status clears it.
      await q.query(
        `UPDATE findings SET status = $2, resolved_at = CASE WHEN $2 = 'resolved' THEN ${fromNow('$3::bigint')} END,
                updated_at = now()
          WHERE id = $1`,
        [await pickFinding(q, tenantId, change.pick), change.status, change.resolved],
      );
      return;
    case 'severity':
      await q.query('UPDATE findings SET severity = $2, updated_at = now() WHERE id = $1', [
        await pickFinding(q, tenantId, change.pick),
        change.severity,
      ]);
      return;
    case 'due':
      await q.query(`UPDATE findings SET due_at = ${fromNow('$2::bigint')}, updated_at = now() WHERE id = $1`, [
        await pickFinding(q, tenantId, change.pick),
        change.due,
      ]);
      return;
    case 'statsDeleted':
      await q.query('DELETE FROM tenant_finding_stats WHERE tenant_id = $1', [tenantId]);
  }
}

export const testData = defineTestData<TenantData, Change>({
  runbookId: 'tenants.finding_stats.rebuild',
  tenantData,
  async write(q, tenantId, data) {
    await insertFindings(q, tenantId, data.findings);
    if (data.row === 'missing') return;
    const { rows } = await q.query<{ now: Date }>('SELECT now()');
    await rebuildTenantStats(q, tenantId, rows[0]!.now);
    if (data.row === 'stale') {
      // The field is one of the fixed column names; the mean may be NULL.
      await q.query(
        `UPDATE tenant_finding_stats SET ${data.staleField} = coalesce(${data.staleField} + 1, 0) WHERE tenant_id = $1`,
        [tenantId],
      );
    }
  },
  parameters: fc.constant({}),
  change,
  applyChange,
});
