import pg from 'pg';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../src/db/schema/tenancy.js';
import { formatInstant } from '../src/catalog/findings-lifecycle/instants.js';
import {
  LIFECYCLE_FIELDS,
  LIFECYCLE_INSTANT_FIELDS,
  rebuildLifecycle,
  type Lifecycle,
} from '../src/catalog/findings-lifecycle/rules.js';
import type { IdRange } from './physicalLimit.js';
import { profiled, round, type Profile, type ProfileTarget } from './profile.js';

export interface NaivePeerFigures {
  findings: number;
  changed: number;
  seconds: number;
  findingsPerSecond: number;
  /** Round trips to PostgreSQL per finding (three reads, and the update when it changed). */
  roundTripsPerFinding: number;
  range: IdRange;
  profile: Profile;
}

const micros = (column: string) => `(extract(epoch FROM ${column}) * 1000000)::bigint`;
const INSTANTS = new Set<string>(LIFECYCLE_INSTANT_FIELDS);

const READ_FINDING = `SELECT severity, ${micros('created_at')} AS created_at, ${LIFECYCLE_FIELDS.map((f) => (INSTANTS.has(f) ? `${micros(f)} AS ${f}` : f)).join(', ')}
  FROM findings WHERE id = $1`;
const READ_DETECTIONS = `SELECT ${micros('detected_at')} AS at FROM finding_detections WHERE finding_id = $1`;
const READ_EVENTS = `SELECT id, type, ${micros('occurred_at')} AS at FROM finding_events WHERE finding_id = $1`;
const UPDATE = `UPDATE findings SET ${LIFECYCLE_FIELDS.map((f, i) => `${f} = $${i + 2}${INSTANTS.has(f) ? '::timestamptz' : ''}`).join(', ')}, updated_at = now()
  WHERE id = $1`;

const toMicros = (value: unknown) => (value === null ? null : Number(value));

/** A finding as READ_FINDING returns it: instants as microseconds (bigint text), the other fields as stored. */
type FindingRow = { severity: string; created_at: string } & Record<string, unknown>;

/**
 * The way a rebuild looks without set-based SQL: per finding, read it and its history, apply
 * the rules in application code (rules.ts, the pure function) and update the one row if it
 * changed; one connection, autocommit. Over the first `limit` customer findings by id.
 */
export async function measureNaivePeer(
  url: string,
  limit: number,
  profileTarget: ProfileTarget,
): Promise<NaivePeerFigures> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows: ids } = await client.query<{ id: number }>(
      `SELECT f.id FROM findings f JOIN tenants t ON t.id = f.tenant_id WHERE t.external_id <> $1 ORDER BY f.id LIMIT $2`,
      [PLATFORM_TENANT_EXTERNAL_ID, limit],
    );
    let changed = 0;
    let roundTrips = 0;
    const { result: seconds, profile } = await profiled(profileTarget, async () => {
      const started = performance.now();
      for (const { id } of ids) {
        const finding = (await client.query<FindingRow>(READ_FINDING, [id])).rows[0]!;
        const detections = (await client.query<{ at: string }>(READ_DETECTIONS, [id])).rows.map((row) =>
          Number(row.at),
        );
        const events = (await client.query<{ id: string; type: string; at: string }>(READ_EVENTS, [id])).rows.map(
          (row) => ({
            id: Number(row.id),
            type: row.type,
            occurred_at: Number(row.at),
          }),
        );
        roundTrips += 3;
        const current = Object.fromEntries(
          LIFECYCLE_FIELDS.map((f) => [f, INSTANTS.has(f) ? toMicros(finding[f]) : finding[f]]),
        ) as unknown as Lifecycle;
        const { rebuilt, changedFields } = rebuildLifecycle({
          severity: finding.severity,
          created_at: Number(finding.created_at),
          current,
          detections,
          events,
        });
        if (changedFields.length === 0) continue;
        const values = LIFECYCLE_FIELDS.map((f) => {
          const value = rebuilt[f];
          return INSTANTS.has(f) && value !== null ? formatInstant(value as number) : value;
        });
        await client.query(UPDATE, [id, ...values]);
        roundTrips++;
        changed++;
      }
      return (performance.now() - started) / 1000;
    });
    return {
      findings: ids.length,
      changed,
      seconds: round(seconds, 3),
      findingsPerSecond: Math.round(ids.length / seconds),
      roundTripsPerFinding: round(roundTrips / ids.length),
      range: { fromId: Number(ids[0]?.id ?? 0), toId: Number(ids.at(-1)?.id ?? 0) },
      profile,
    };
  } finally {
    await client.end();
  }
}
