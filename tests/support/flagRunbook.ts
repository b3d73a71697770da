import { defineRunbook } from '../../src/runbooks/definition.js';
import { defineParameters, param } from '../../src/runbooks/parameters.js';
import { registerRunbook } from '../../src/runbooks/registry.js';

/**
 * A tiny runbook that exists only for the engine's tests: it marks the titles of a tenant's old
 * findings of some severities with a note. It takes parameters of three kinds and reads the
 * run's instant, and writes nothing the lifecycle rules read.
 */
const parameters = defineParameters({
  olderThanDays: param.integer({
    label: 'Older than (days)',
    help: 'Only findings created before this',
    min: 1,
    max: 3650,
  }),
  severities: param.choices({
    label: 'Severities',
    help: 'Only findings of these severities',
    choices: ['critical', 'high', 'medium', 'low'],
    default: ['critical', 'high', 'medium', 'low'],
  }),
  note: param.text({ label: 'Note', help: 'What the title is marked with', maxLength: 40, default: 'flagged' }),
});

/** The findings a run with these values touches, and whether each is marked already; $1 tenant, $2 instant, $3 days, $4 severities, $5 suffix. */
const MATCHING = `tenant_id = $1 AND created_at < $2::timestamptz - make_interval(days => $3) AND severity = ANY($4::text[])`;
const UNMARKED = `NOT (title LIKE '%' || $5)`;
const suffix = (note: string) => ` [${note}]`;

export const flagRunbook = defineRunbook({
  id: 'test.findings.flag',
  cliName: 'test-flag-findings',
  title: 'Flag old findings (test)',
  description: 'Marks the titles of old findings of the chosen severities. For the engine tests only.',
  unit: 'findings',
  sampleKey: 'Finding',
  deployTriggered: false,
  parameters,
  writes: 'findings',
  tables: ['findings'],

  async preflight(q, tenants, { parameters: p, asOf }) {
    const perTenant = [];
    for (const tenant of tenants) {
      const { rows } = await q.query<{ in_scope: number; to_change: number }>(
        `SELECT count(*)::int AS in_scope, count(*) FILTER (WHERE ${UNMARKED})::int AS to_change
           FROM findings WHERE ${MATCHING}`,
        [tenant.id, asOf, p.olderThanDays, p.severities, suffix(p.note)],
      );
      perTenant.push({ tenantId: tenant.id, inScope: rows[0]!.in_scope, toChange: rows[0]!.to_change });
    }
    return { perTenant, breakdown: { title: perTenant.reduce((n, t) => n + t.toChange, 0) }, sample: [] };
  },

  async fingerprint(q, tenantIds) {
    const { rows } = await q.query<{ tenant_id: number; n: number; latest: string | null }>(
      `SELECT t.id::int AS tenant_id, count(f.id)::int AS n, max(f.updated_at)::text AS latest
         FROM unnest($1::bigint[]) AS t(id) LEFT JOIN findings f ON f.tenant_id = t.id GROUP BY t.id`,
      [tenantIds],
    );
    return new Map(rows.map((row) => [row.tenant_id, { n: row.n, latest: row.latest }]));
  },

  async processBatch(q, { tenantId, cursor, batchSize }, { parameters: p, asOf }) {
    const { rows } = await q.query<{ examined: number; changed: number; last_id: string | null }>(
      `WITH batch AS (SELECT id FROM findings WHERE tenant_id = $1 AND id > $6 ORDER BY id LIMIT $7),
            changed AS (
              UPDATE findings SET title = title || $5, updated_at = now()
               WHERE id IN (SELECT id FROM batch) AND ${MATCHING} AND ${UNMARKED}
              RETURNING id)
       SELECT (SELECT count(*) FROM batch)::int AS examined, (SELECT count(*) FROM changed)::int AS changed,
              (SELECT max(id) FROM batch)::text AS last_id`,
      [tenantId, asOf, p.olderThanDays, p.severities, suffix(p.note), cursor, batchSize],
    );
    const row = rows[0]!;
    if (row.last_id === null) return null;
    return {
      cursor: Number(row.last_id),
      examined: row.examined,
      changed: row.changed,
      breakdown: { title: row.changed },
      last: row.examined < batchSize,
    };
  },

  async remainingToChange(q, tenantId, { parameters: p, asOf }) {
    const { rows } = await q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM findings WHERE ${MATCHING} AND ${UNMARKED}`,
      [tenantId, asOf, p.olderThanDays, p.severities, suffix(p.note)],
    );
    return rows[0]!.n;
  },
});

let registered = false;

/** Registers the test runbook in this process (once): the console, the starter and an in-process worker find it. */
export function useFlagRunbook(): typeof flagRunbook {
  if (!registered) registerRunbook(flagRunbook);
  registered = true;
  return flagRunbook;
}
