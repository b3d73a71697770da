import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData, SEED_BASE_DATE, type SeedProgress, type SeedResult } from '../src/seed/seedDemoData.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const TENANTS = 5;
const PER_TENANT = 200;

/** md5 of every row of the seeded tables, in id order: equal hashes mean identical content, ids included. */
async function contentHashes(pool: pg.Pool): Promise<Record<string, string>> {
  const tables = ['workspaces', 'tenants', 'findings', 'finding_detections', 'finding_events'];
  const hashes: Record<string, string> = {};
  for (const table of tables) {
    const { rows } = await pool.query<{ hash: string }>(
      `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), '')) AS hash FROM ${table} t`,
    );
    hashes[table] = rows[0]!.hash;
  }
  return hashes;
}

async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

describe('seedDemoData', () => {
  let db: TestDatabase;
  let result: SeedResult;
  const progress: SeedProgress[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    result = await seedDemoData(db.pool, {
      tenants: TENANTS,
      findingsPerTenant: PER_TENANT,
      seed: 7,
      onProgress: (p) => progress.push(p),
    });
  });
  afterAll(() => db?.destroy());

  it('creates the platform tenant with findings of its own, all left legacy', async () => {
    const { rows } = await db.pool.query(
      `SELECT w.slug, t.name, count(f.id)::int AS findings,
              count(*) FILTER (WHERE f.lifecycle_version = 0)::int AS legacy
         FROM tenants t JOIN workspaces w ON w.id = t.workspace_id LEFT JOIN findings f ON f.tenant_id = t.id
        WHERE t.external_id = 'platform' GROUP BY w.slug, t.name`,
    );
    expect(rows).toEqual([{ slug: 'platform', name: 'Platform', findings: 20, legacy: 20 }]);
    expect(result.platformFindings).toBe(20);
  });

  it('creates N customer tenants, each in its own workspace, with M findings each', async () => {
    const { rows } = await db.pool.query<{ external_id: string; name: string; slug: string; findings: number }>(
      `SELECT t.external_id, t.name, w.slug, (SELECT count(*)::int FROM findings f WHERE f.tenant_id = t.id) AS findings
         FROM tenants t JOIN workspaces w ON w.id = t.workspace_id
        WHERE t.external_id <> 'platform' ORDER BY t.external_id`,
    );
    expect(rows.map((row) => row.external_id)).toEqual([
      'tenant-00001',
      'tenant-00002',
      'tenant-00003',
      'tenant-00004',
      'tenant-00005',
    ]);
    expect(new Set(rows.map((row) => row.slug)).size).toBe(TENANTS);
    for (const row of rows) {
      expect(row.findings).toBe(PER_TENANT);
      expect(row.name).toMatch(/^[A-Z][a-z]+( [A-Z][a-z]+)+$/);
    }
    expect(result).toMatchObject({
      tenants: TENANTS,
      findings: TENANTS * PER_TENANT,
      externalIds: { first: 'tenant-00001', last: 'tenant-00005' },
    });
    expect(await count(db.pool, 'SELECT count(*)::int AS n FROM finding_detections')).toBe(
      result.detections +
        (await count(
          db.pool,
          `SELECT count(*)::int AS n FROM finding_detections d
        JOIN tenants t ON t.id = d.tenant_id WHERE t.external_id = 'platform'`,
        )),
    );
    expect(
      await count(
        db.pool,
        `SELECT count(*)::int AS n FROM finding_events e JOIN tenants t ON t.id = e.tenant_id
      WHERE t.external_id <> 'platform'`,
      ),
    ).toBe(result.events);
    expect(progress.at(-1)).toEqual({
      tenantsDone: TENANTS,
      tenantsTotal: TENANTS,
      findingsDone: TENANTS * PER_TENANT,
      findingsTotal: TENANTS * PER_TENANT,
    });
  });

  it('writes legacy findings: all severities, legacy statuses, empty seen fields, dates in the year before', async () => {
    const severities = await db.pool.query(`SELECT severity, count(*)::int AS n FROM findings GROUP BY 1`);
    const bySeverity = Object.fromEntries(severities.rows.map((row) => [row.severity, row.n]));
    expect(Object.keys(bySeverity).sort()).toEqual(['critical', 'high', 'info', 'low', 'medium']);
    expect(bySeverity.critical).toBeLessThan(bySeverity.medium);

    const statuses = await db.pool.query(`SELECT DISTINCT status FROM findings WHERE lifecycle_version = 0`);
    expect(statuses.rows.map((row) => row.status)).toEqual(
      expect.arrayContaining(['open', 'acknowledged', 'fixed', 'closed', null]),
    );
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE first_seen_at IS NULL AND last_seen_at IS NULL AND times_seen = 0
                                 AND reopened_at IS NULL AND updated_at = created_at)::int AS legacy_shaped,
              bool_and(fingerprint ~ '^[0-9a-f]{21}$') AS hex_fingerprints, count(DISTINCT title)::int AS titles,
              min(created_at) > $1::timestamptz - interval '366 days' AND max(created_at) < $1::timestamptz AS in_year
         FROM findings WHERE lifecycle_version = 0`,
      [SEED_BASE_DATE],
    );
    expect(rows[0].legacy_shaped).toBe(rows[0].n);
    expect(rows[0].hex_fingerprints).toBe(true);
    expect(rows[0].titles).toBeGreaterThan(100);
    expect(rows[0].in_year).toBe(true);
  });

  it('writes 0–10 detections per finding on an hour grid after created_at, with ties', async () => {
    const { rows } = await db.pool.query(
      `SELECT min(n)::int AS min, max(n)::int AS max, count(*) FILTER (WHERE n <= 2)::int AS few,
              count(*) FILTER (WHERE n >= 8)::int AS many
         FROM (SELECT f.id, count(d.id) AS n FROM findings f LEFT JOIN finding_detections d ON d.finding_id = f.id
                GROUP BY f.id) x`,
    );
    expect(rows[0]).toMatchObject({ min: 0, max: 10 });
    expect(rows[0].few).toBeGreaterThan(rows[0].many * 2);
    expect(
      await count(
        db.pool,
        `SELECT count(*)::int AS n FROM finding_detections d JOIN findings f ON f.id = d.finding_id
          WHERE d.detected_at <= f.created_at OR d.detected_at >= $1::timestamptz OR d.tenant_id <> f.tenant_id
             OR date_trunc('hour', d.detected_at, 'UTC') <> d.detected_at`,
        [SEED_BASE_DATE],
      ),
    ).toBe(0);
    const ties = `SELECT count(*)::int AS n FROM (SELECT finding_id, detected_at FROM finding_detections
                   GROUP BY 1, 2 HAVING count(*) > 1) x`;
    expect(await count(db.pool, ties)).toBeGreaterThan(10);
    const equalToEvent = `SELECT count(*)::int AS n FROM finding_detections d
      JOIN finding_events e ON e.finding_id = d.finding_id AND e.occurred_at = d.detected_at`;
    expect(await count(db.pool, equalToEvent)).toBeGreaterThan(10);
  });

  it('writes 0–3 events per finding of the three types, with ties', async () => {
    const { rows } = await db.pool.query(
      `SELECT min(n)::int AS min, max(n)::int AS max
         FROM (SELECT f.id, count(e.id) AS n FROM findings f LEFT JOIN finding_events e ON e.finding_id = f.id
                GROUP BY f.id) x`,
    );
    expect(rows[0]).toEqual({ min: 0, max: 3 });
    const types = await db.pool.query(`SELECT DISTINCT type FROM finding_events ORDER BY 1`);
    expect(types.rows.map((row) => row.type)).toEqual(['resolved', 'risk_accepted', 'triaged']);
    expect(await count(db.pool, `SELECT count(DISTINCT actor)::int AS n FROM finding_events`)).toBeGreaterThan(3);
    const ties = `SELECT count(*)::int AS n FROM (SELECT finding_id, occurred_at FROM finding_events
                   GROUP BY 1, 2 HAVING count(*) > 1) x`;
    expect(await count(db.pool, ties)).toBeGreaterThan(3);
    expect(
      await count(
        db.pool,
        `SELECT count(*)::int AS n FROM finding_events e JOIN findings f ON f.id = e.finding_id
          WHERE e.occurred_at <= f.created_at OR e.tenant_id <> f.tenant_id`,
      ),
    ).toBe(0);
  });

  it('leaves no dangling reference (the bulk insert skips the foreign key triggers)', async () => {
    const orphans = `SELECT
      (SELECT count(*) FROM finding_detections d WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = d.finding_id))
    + (SELECT count(*) FROM finding_events e WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = e.finding_id))
    + (SELECT count(*) FROM findings f WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = f.tenant_id)) AS n`;
    expect(await count(db.pool, orphans)).toBe(0);
  });

  it('has the lowest 10% of ids of each customer tenant already rebuilt, and nothing else', async () => {
    const { rows } = await db.pool.query(
      `SELECT t.external_id, count(*) FILTER (WHERE f.lifecycle_version = 1)::int AS rebuilt,
              bool_and((f.lifecycle_version = 1) = (f.rank <= 20)) AS lowest_ids,
              bool_and(f.lifecycle_version = 0
                       OR (f.status IN ('new', 'triaged', 'resolved', 'reopened', 'risk_accepted')
                           AND f.first_seen_at IS NOT NULL AND f.updated_at = $1::timestamptz)) AS rebuilt_shaped
         FROM (SELECT *, rank() OVER (PARTITION BY tenant_id ORDER BY id) AS rank FROM findings) f
         JOIN tenants t ON t.id = f.tenant_id
        GROUP BY t.external_id ORDER BY t.external_id`,
      [SEED_BASE_DATE],
    );
    expect(rows[0]).toMatchObject({ external_id: 'platform', rebuilt: 0 });
    for (const row of rows.slice(1)) expect(row).toMatchObject({ rebuilt: 20, lowest_ids: true, rebuilt_shaped: true });
    expect(result.alreadyRebuilt).toBe(TENANTS * 20);
  });

  it('is deterministic: the same seed gives identical rows, ids included; another seed differs', async () => {
    const same = await createTestDatabase();
    const other = await createTestDatabase();
    try {
      await seedDemoData(same.pool, { tenants: TENANTS, findingsPerTenant: PER_TENANT, seed: 7 });
      await seedDemoData(other.pool, { tenants: TENANTS, findingsPerTenant: PER_TENANT, seed: 8 });
      const [mine, sameHashes, otherHashes] = await Promise.all([
        contentHashes(db.pool),
        contentHashes(same.pool),
        contentHashes(other.pool),
      ]);
      expect(sameHashes).toEqual(mine);
      expect(otherHashes.findings).not.toBe(mine.findings);
      expect(otherHashes.finding_detections).not.toBe(mine.finding_detections);
      expect(otherHashes.finding_events).not.toBe(mine.finding_events);
      expect(otherHashes.tenants).not.toBe(mine.tenants);
    } finally {
      await Promise.all([same.destroy(), other.destroy()]);
    }
  });

  it('appends when run again: new tenant numbers, the platform tenant untouched', async () => {
    const before = await contentHashes(db.pool);
    const again = await seedDemoData(db.pool, { tenants: 2, findingsPerTenant: 30, seed: 7 });
    expect(again).toMatchObject({
      tenants: 2,
      findings: 60,
      alreadyRebuilt: 6,
      platformFindings: 0,
      externalIds: { first: 'tenant-00006', last: 'tenant-00007' },
    });
    expect(await count(db.pool, `SELECT count(*)::int AS n FROM tenants`)).toBe(1 + TENANTS + 2);
    expect(
      await count(
        db.pool,
        `SELECT count(*)::int AS n FROM findings f JOIN tenants t ON t.id = f.tenant_id
        WHERE t.external_id = 'platform'`,
      ),
    ).toBe(20);
    // The rows written before are unchanged.
    const { rows } = await db.pool.query(
      `SELECT md5(string_agg(f::text, E'\\n' ORDER BY f.id)) AS hash FROM findings f
        WHERE f.tenant_id IN (SELECT id FROM tenants WHERE external_id <= 'tenant-00005' OR external_id = 'platform')`,
    );
    expect(rows[0].hash).toBe(before.findings);
  });

  it('creates tenants without findings when asked for none', async () => {
    const none = await seedDemoData(db.pool, { tenants: 3, findingsPerTenant: 0, seed: 1 });
    expect(none).toMatchObject({ tenants: 3, findings: 0, detections: 0, events: 0, alreadyRebuilt: 0 });
    expect(none.externalIds).toEqual({ first: 'tenant-00008', last: 'tenant-00010' });
  });

  it('refuses options out of range before writing anything', async () => {
    const seed = (tenants: number, findingsPerTenant: number) =>
      seedDemoData(db.pool, { tenants, findingsPerTenant, seed: 1 });
    const before = await count(db.pool, 'SELECT count(*)::int AS n FROM tenants');
    await expect(seed(0, 1)).rejects.toThrow(/tenants/);
    await expect(seed(1, -1)).rejects.toThrow(/findingsPerTenant/);
    await expect(seed(100_000, 1000)).rejects.toThrow(/at most/);
    expect(await count(db.pool, 'SELECT count(*)::int AS n FROM tenants')).toBe(before);
  });
});
