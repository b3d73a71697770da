import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HISTORY_PLANS,
  rebuildFindingsBatch,
  sampleFindingChanges,
  summarizeFindingsToChange,
  type FieldCounts,
} from '../src/catalog/findings-lifecycle/rebuildSql.js';
import { formatInstant, parseInstant } from '../src/catalog/findings-lifecycle/instants.js';
import {
  LIFECYCLE_FIELDS,
  mapLifecycleInstants,
  type LifecycleField,
} from '../src/catalog/findings-lifecycle/rules.js';
import vectors from './fixtures/findings-lifecycle-vectors.json' with { type: 'json' };
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

type Vector = (typeof vectors.cases)[number];

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${column}`;
const PAST = '2020-01-01T00:00:00Z';

let database: TestDatabase;
// A session in a zone with DST: SLA days must still be 24 hours (the "reopened" vectors cross
// the 2026-03-08 change), and nothing may depend on the session zone.
let client: pg.PoolClient;
let tenantA: number;
let tenantB: number;
let tenantEmpty: number;
/** Finding id of tenant A per vector, in vector order. */
const vectorIds: number[] = [];

function countsOf(cases: readonly Vector[]): { changed: number; fields: FieldCounts } {
  const fields = Object.fromEntries(LIFECYCLE_FIELDS.map((field) => [field, 0])) as FieldCounts;
  for (const vector of cases) {
    for (const field of vector.expected_changed_fields) fields[field as LifecycleField] += 1;
  }
  return { changed: cases.filter((vector) => vector.expected_changed_fields.length > 0).length, fields };
}

async function insertFinding(tenantId: number, fingerprint: string, vector: Vector): Promise<number> {
  const { current } = vector.finding;
  const { rows } = await client.query(
    `INSERT INTO findings (tenant_id, fingerprint, title, severity, created_at, updated_at, status, first_seen_at,
                           last_seen_at, times_seen, due_at, resolved_at, reopened_at, lifecycle_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
    [
      tenantId,
      fingerprint,
      vector.name,
      vector.finding.severity,
      vector.finding.created_at,
      PAST,
      current.status,
      current.first_seen_at,
      current.last_seen_at,
      current.times_seen,
      current.due_at,
      current.resolved_at,
      current.reopened_at,
      current.lifecycle_version,
    ],
  );
  const id = Number(rows[0].id);
  for (const detectedAt of vector.detections) {
    await client.query('INSERT INTO finding_detections (finding_id, tenant_id, detected_at) VALUES ($1, $2, $3)', [
      id,
      tenantId,
      detectedAt,
    ]);
  }
  // One by one, in listed order: the vectors rely on event ids following that order.
  for (const event of vector.events) {
    await client.query(
      'INSERT INTO finding_events (finding_id, tenant_id, type, occurred_at) VALUES ($1, $2, $3, $4)',
      [id, tenantId, event.type, event.occurred_at],
    );
  }
  return id;
}

async function lifecycleRows(ids: number[]) {
  const { rows } = await client.query(
    `SELECT id, status, ${ISO('first_seen_at')}, ${ISO('last_seen_at')}, times_seen, ${ISO('due_at')},
            ${ISO('resolved_at')}, ${ISO('reopened_at')}, lifecycle_version, updated_at > $2::timestamptz AS touched
       FROM findings WHERE id = ANY($1::bigint[])`,
    [ids, PAST],
  );
  return new Map(rows.map(({ id, touched, ...lifecycle }) => [Number(id), { touched: touched as boolean, lifecycle }]));
}

async function tenantSnapshot(tenantId: number): Promise<string[]> {
  const { rows } = await client.query(
    `SELECT to_jsonb(f)::text AS row FROM findings f WHERE tenant_id = $1 ORDER BY id`,
    [tenantId],
  );
  return rows.map((row) => row.row as string);
}

beforeAll(async () => {
  database = await createTestDatabase();
  client = await database.pool.connect();
  await client.query(`SET TIME ZONE 'America/New_York'`);
  const workspace = await client.query(`INSERT INTO workspaces (slug, name) VALUES ('w', 'W') RETURNING id`);
  const tenants = await client.query(
    `INSERT INTO tenants (workspace_id, external_id, name)
     SELECT $1, x, x FROM unnest(ARRAY['a', 'b', 'empty']) AS x ORDER BY x RETURNING id, external_id`,
    [workspace.rows[0].id],
  );
  const tenantId = (externalId: string) => Number(tenants.rows.find((row) => row.external_id === externalId).id);
  [tenantA, tenantB, tenantEmpty] = [tenantId('a'), tenantId('b'), tenantId('empty')];
  // Tenant B's copies interleave with A's ids, so A's id range covers them too.
  for (const [index, vector] of vectors.cases.entries()) {
    vectorIds.push(await insertFinding(tenantA, `a-${index}`, vector));
    await insertFinding(tenantB, `b-${index}`, vector);
  }
});

afterAll(async () => {
  client?.release();
  await database?.destroy();
});

// The tests below run in order on one database: preview, rebuild, then rebuild again.
describe('findings lifecycle rebuild in SQL', () => {
  // The grouped plan reads tenant B's history too: only tenant A's findings may count.
  it.each(HISTORY_PLANS)('predicts per tenant, read-only, what the rebuild will change (%s)', async (plan) => {
    const before = await tenantSnapshot(tenantA);
    const summary = await summarizeFindingsToChange(client, [tenantEmpty, tenantA, tenantA], plan);
    const zero = countsOf([]);
    expect(summary).toEqual([
      { tenantId: tenantA, findings: vectors.cases.length, ...countsOf(vectors.cases) },
      { tenantId: tenantEmpty, findings: 0, ...zero },
    ]);
    expect(await tenantSnapshot(tenantA)).toEqual(before);
  });

  it('samples the changing findings with their values before and after', async () => {
    const changing = vectors.cases.flatMap((vector, index) =>
      vector.expected_changed_fields.length > 0 ? [{ vector, id: vectorIds[index] }] : [],
    );
    const all = await sampleFindingChanges(client, [tenantA], 1000);
    // Keyed by the finding's id, with exactly the fields that change, in the rules' order.
    expect(all.map((sample) => sample.key)).toEqual(changing.map(({ id }) => String(id)));
    for (const [index, sample] of all.entries()) {
      const vector = changing[index]!.vector;
      const changed = (lifecycle: object) =>
        Object.fromEntries(
          vector.expected_changed_fields.map((field) => [field, (lifecycle as Record<string, unknown>)[field]]),
        );
      expect(Object.keys(sample.before)).toEqual(vector.expected_changed_fields);
      expect(Object.keys(sample.after)).toEqual(vector.expected_changed_fields);
      expect(sample.after).toEqual(changed(vector.expected));
      expect(sample.before).toEqual(
        changed(mapLifecycleInstants(vector.finding.current, (at) => formatInstant(parseInstant(at)))),
      );
    }
    expect(await sampleFindingChanges(client, [tenantA, tenantB], 3)).toEqual(all.slice(0, 3));
  });

  it('rebuilds every vector to its expected values and writes only the changed rows', async () => {
    const tenantBBefore = await tenantSnapshot(tenantB);
    const result = await rebuildFindingsBatch(client, {
      tenantId: tenantA,
      fromId: Math.min(...vectorIds),
      toId: Math.max(...vectorIds),
    });
    expect(result).toEqual({ examined: vectors.cases.length, ...countsOf(vectors.cases) });

    const rows = await lifecycleRows(vectorIds);
    for (const [index, vector] of vectors.cases.entries()) {
      const row = rows.get(vectorIds[index]!);
      expect(row?.lifecycle, vector.name).toEqual(vector.expected);
      expect(row?.touched, `${vector.name}: updated_at moved`).toBe(vector.expected_changed_fields.length > 0);
    }
    expect(await tenantSnapshot(tenantB)).toEqual(tenantBBefore);
  });

  it('changes nothing on a second pass, and finds nothing left to change', async () => {
    const range = { tenantId: tenantA, fromId: Math.min(...vectorIds), toId: Math.max(...vectorIds) };
    expect(await rebuildFindingsBatch(client, range)).toEqual({ examined: vectors.cases.length, ...countsOf([]) });
    for (const plan of HISTORY_PLANS) {
      const summaries = await summarizeFindingsToChange(client, [tenantA, tenantB], plan);
      expect(summaries, plan).toEqual([
        { tenantId: tenantA, findings: vectors.cases.length, ...countsOf([]) },
        { tenantId: tenantB, findings: vectors.cases.length, ...countsOf(vectors.cases) },
      ]);
    }
    expect(await sampleFindingChanges(client, [tenantA], 10)).toEqual([]);
  });

  it('examines only the ids in the range', async () => {
    const [first, , third] = vectorIds;
    const result = await rebuildFindingsBatch(client, { tenantId: tenantB, fromId: first!, toId: third! });
    // B's ids interleave with A's, so [first, third] holds exactly B's first two findings.
    expect(result).toEqual({ examined: 2, ...countsOf(vectors.cases.slice(0, 2)) });
  });
});
