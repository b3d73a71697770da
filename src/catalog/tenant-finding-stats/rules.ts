import { MICROS_PER_DAY } from '../findings-lifecycle/instants.js';

/**
 * The tenant finding statistics rules (RULES.md in this folder) as a pure function of one
 * tenant's findings. `rebuildSql.ts` states the same rules set-based in SQL; the property test
 * (tests/tenantFindingStats.property.test.ts) holds the two to each other. Field names are the
 * columns of `tenant_finding_stats`.
 */

/** In the order the figures are reported. */
export const STATS_FIELDS = [
  'open_critical',
  'open_high',
  'open_medium',
  'open_low',
  'overdue',
  'resolved_30d',
  'mean_time_to_resolve_seconds',
] as const;

const OPEN_STATUSES: ReadonlySet<string> = new Set(['new', 'triaged', 'reopened']);
const RESOLVED_WINDOW = 30 * MICROS_PER_DAY;
const MICROS_PER_SECOND = 1_000_000n;

/** The stored columns of a finding the figures read; instants in microseconds since the epoch. */
export interface FindingFacts {
  severity: string;
  status: string | null;
  first_seen_at: number | null;
  due_at: number | null;
  resolved_at: number | null;
}

/** A `tenant_finding_stats` row's figures (without `computed_at`, which is no figure). */
export interface TenantFindingStats {
  open_critical: number;
  open_high: number;
  open_medium: number;
  open_low: number;
  overdue: number;
  resolved_30d: number;
  /** Whole seconds; a bigint because the sum behind it is exact, NULL when no finding counts. */
  mean_time_to_resolve_seconds: bigint | null;
}

/** What a run does to a row that needs a change, by kind: the preflight's and the run's breakdown. */
export type StatsChange = 'inserted' | 'updated';

/** The figures of a tenant's findings as of `asOf` (microseconds). */
export function computeTenantStats(findings: Iterable<FindingFacts>, asOf: number): TenantFindingStats {
  const stats = { open_critical: 0, open_high: 0, open_medium: 0, open_low: 0, overdue: 0, resolved_30d: 0 };
  let resolveMicros = 0n;
  let resolves = 0n;
  for (const finding of findings) {
    if (finding.status !== null && OPEN_STATUSES.has(finding.status)) {
      if (finding.severity === 'critical') stats.open_critical += 1;
      if (finding.severity === 'high') stats.open_high += 1;
      if (finding.severity === 'medium') stats.open_medium += 1;
      if (finding.severity === 'low') stats.open_low += 1;
      if (finding.due_at !== null && finding.due_at < asOf) stats.overdue += 1;
    }
    const resolvedAt = finding.resolved_at;
    if (finding.status !== 'resolved' || resolvedAt === null || resolvedAt > asOf) continue;
    if (resolvedAt > asOf - RESOLVED_WINDOW) stats.resolved_30d += 1;
    if (finding.first_seen_at !== null) {
      resolveMicros += BigInt(resolvedAt) - BigInt(finding.first_seen_at);
      resolves += 1n;
    }
  }
  return { ...stats, mean_time_to_resolve_seconds: resolves === 0n ? null : roundedQuotient(resolveMicros, resolves) };
}

/** `micros / (count * 10^6)` rounded half away from zero, in integers: no float or decimal digit is lost. */
function roundedQuotient(micros: bigint, count: bigint): bigint {
  const divisor = count * MICROS_PER_SECOND;
  const magnitude = micros < 0n ? -micros : micros;
  // floor(|x| / d + 1/2), and BigInt division truncates, which is floor for these non-negative operands.
  const rounded = (2n * magnitude + divisor) / (2n * divisor);
  return micros < 0n ? -rounded : rounded;
}

/** What a run does to a tenant's stored row (null when there is none): insert, update, or nothing. */
export function statsChange(stored: TenantFindingStats | null, computed: TenantFindingStats): StatsChange | null {
  if (stored === null) return 'inserted';
  // Every figure is a number, a bigint or null, so strict inequality is the NULL-safe comparison.
  return STATS_FIELDS.some((field) => stored[field] !== computed[field]) ? 'updated' : null;
}
