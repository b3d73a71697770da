import type pg from 'pg';
import { expect } from 'vitest';
import { parseParameters } from '../../src/runbooks/parameters.js';
import type { RunRecord } from '../../src/runbooks/runs.js';
import { flagRunbook } from './flagRunbook.js';
import { expectExactCounts, rowsPerTenant } from './runs.js';

/**
 * The engine tests' oracle: the flag runbook's rules (tests/support/flagRunbook.ts) once more, in
 * TypeScript, over findings read before a run. A run must mark each finding created before its
 * instant less `olderThanDays` days, of a chosen severity, whose title is not marked yet; it marks
 * it once, and touches nothing else.
 */

export interface FlagFinding {
  id: number;
  tenantId: number;
  title: string;
  severity: string;
  /** Microseconds since the epoch, as PostgreSQL keeps it. */
  createdAt: number;
  /** As text, so that a rewrite in the same millisecond still shows. */
  updatedAt: string;
}

export type Findings = Map<number, FlagFinding>;

/** What a run of the flag runbook reads: the parameters and the instant its preflight fixed. */
export type FlagRun = Pick<RunRecord, 'parameters' | 'asOf'>;

type FlagParameters = { olderThanDays: number; severities: string[]; note: string };

const MICROS_PER_DAY = 86_400_000_000;

const parametersOf = (run: FlagRun) => parseParameters(flagRunbook.parameters, run.parameters) as FlagParameters;
const suffixOf = (run: FlagRun) => ` [${parametersOf(run).note}]`;

/** Every finding of these tenants, in id order. */
export async function loadFindings(pool: pg.Pool, tenantIds: number[]): Promise<Findings> {
  const { rows } = await pool.query<{
    id: string;
    tenant_id: string;
    title: string;
    severity: string;
    created_at: string;
    updated_at: string;
  }>(
    `SELECT id, tenant_id, title, severity, (extract(epoch FROM created_at) * 1000000)::bigint AS created_at,
            updated_at::text AS updated_at
       FROM findings WHERE tenant_id = ANY($1::bigint[]) ORDER BY id`,
    [tenantIds],
  );
  return new Map(
    rows.map((row) => [
      Number(row.id),
      {
        id: Number(row.id),
        tenantId: Number(row.tenant_id),
        title: row.title,
        severity: row.severity,
        createdAt: Number(row.created_at),
        updatedAt: row.updated_at,
      },
    ]),
  );
}

/** Whether `run` must mark the finding (days of 24 hours: the test database's sessions are in UTC). */
export function mustFlag(finding: FlagFinding, run: FlagRun): boolean {
  const { olderThanDays, severities } = parametersOf(run);
  const cutOff = run.asOf.getTime() * 1000 - olderThanDays * MICROS_PER_DAY;
  return finding.createdAt < cutOff && severities.includes(finding.severity) && !finding.title.endsWith(suffixOf(run));
}

/** The title a finding must have once `run` has done it: marked once if the run had to mark it, as it was otherwise. */
export function flaggedTitle(finding: FlagFinding, run: FlagRun): string {
  return mustFlag(finding, run) ? finding.title + suffixOf(run) : finding.title;
}

/** Per tenant of `findings`, how many `run` must mark (0 for a tenant with none). */
export function toFlagByTenant(findings: Findings, run: FlagRun): Map<number, number> {
  const byTenant = new Map<number, number>();
  for (const finding of findings.values()) {
    byTenant.set(finding.tenantId, (byTenant.get(finding.tenantId) ?? 0) + (mustFlag(finding, run) ? 1 : 0));
  }
  return byTenant;
}

/** Findings of `now` whose title is not `want(id)`: the first few, for a readable failure. */
export function mismatches(
  now: Findings,
  want: (id: number) => string,
  limit = 5,
): Array<{ id: number; title: string; expected: string }> {
  const wrong = [];
  for (const [id, finding] of now) {
    if (finding.title !== want(id)) wrong.push({ id, title: finding.title, expected: want(id) });
    if (wrong.length >= limit) break;
  }
  return wrong;
}

/**
 * Asserts that a completed run did every tenant of `before` exactly as the rules say: each
 * finding it had to mark marked once, every other one untouched (its title and its updated_at),
 * and exact counts per item, summed over the items and on the run. `before` must hold every
 * finding of the tenants in scope, read before the run. Returns the number of findings compared.
 */
export async function expectEveryTenantFlagged(pool: pg.Pool, run: RunRecord, before: Findings): Promise<number> {
  const expectedByTenant = toFlagByTenant(before, run);
  expect(
    [...expectedByTenant.values()].reduce((a, b) => a + b, 0),
    'findings the run had to mark',
  ).toBeGreaterThan(0);
  const tenants = await expectExactCounts(pool, run, rowsPerTenant(before.values()), expectedByTenant);

  const after = await loadFindings(pool, tenants);
  expect(after.size).toBe(before.size);
  expect(mismatches(after, (id) => flaggedTitle(before.get(id)!, run))).toEqual([]);
  const rewritten = [...after.values()].filter((finding) => {
    const was = before.get(finding.id)!;
    return !mustFlag(was, run) && finding.updatedAt !== was.updatedAt;
  });
  expect(rewritten.slice(0, 5), 'findings written that needed no change').toEqual([]);
  return after.size;
}

/**
 * Marks every finding of the tenant that needs it, with the runbook's own batch statement, as
 * someone else's run would: the data a preflight counted changes under it.
 */
export async function flagTenant(pool: pg.Pool, tenantId: number, run: FlagRun): Promise<number> {
  const batch = await flagRunbook.processBatch(
    pool,
    { runId: '00000000-0000-4000-8000-000000000000', tenantId, cursor: 0, batchSize: 1_000_000 },
    { parameters: parametersOf(run), asOf: run.asOf },
  );
  return batch?.changed ?? 0;
}

/** Takes every mark off again (the note is the default's unless given), so a test has work to do. */
export async function unflagFindings(pool: pg.Pool, note = 'flagged'): Promise<void> {
  const suffix = ` [${note}]`;
  await pool.query(`UPDATE findings SET title = left(title, -length($1)) WHERE right(title, length($1)) = $1`, [
    suffix,
  ]);
}
