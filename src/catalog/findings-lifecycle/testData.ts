import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Queryable } from '../../db/queryable.js';
import { defineTestData } from '../../runbooks/testData.js';
import { findingsLifecycleRebuild } from './definition.js';
import { formatInstant, MICROS_PER_DAY, parseInstant } from './instants.js';
import {
  LIFECYCLE_FIELDS,
  mapLifecycleInstants,
  rebuildLifecycle,
  type FindingHistory,
  type Lifecycle,
} from './rules.js';

/**
 * Random findings with their history, for the lifecycle's property test and the conformance
 * suite, and for the runbooks that read the same data (close-stale-findings).
 */

const HOUR = MICROS_PER_DAY / 24;

// A small grid makes ties common: detection = resolution, two events at one instant, ...
// It sits just before the US DST change of 2026-03-08, so every SLA crosses it.
const BASE = parseInstant('2026-03-06T18:00:00Z');
const gridInstant = fc
  .tuple(fc.integer({ min: 0, max: 12 }), fc.constantFrom(0, 0, 0, 0, 1, 999_999))
  .map(([hours, micros]) => BASE + hours * HOUR + micros);

function legacyLifecycle(instant: fc.Arbitrary<number>): fc.Arbitrary<Lifecycle> {
  return fc.record({
    status: fc.option(
      fc.constantFrom('open', 'acknowledged', 'fixed', 'new', 'triaged', 'resolved', 'reopened', 'risk_accepted'),
    ),
    first_seen_at: fc.option(instant),
    last_seen_at: fc.option(instant),
    times_seen: fc.integer({ min: 0, max: 10 }),
    due_at: fc.option(instant),
    resolved_at: fc.option(instant),
    reopened_at: fc.option(instant),
    lifecycle_version: fc.constantFrom(0, 1),
  });
}

function nudged(lifecycle: Lifecycle, field: (typeof LIFECYCLE_FIELDS)[number], somewhen: number): Lifecycle {
  if (field === 'status') return { ...lifecycle, status: 'open' };
  if (field === 'times_seen' || field === 'lifecycle_version') return { ...lifecycle, [field]: lifecycle[field] + 1 };
  const at = lifecycle[field];
  return { ...lifecycle, [field]: at === null ? somewhen : at + 1 };
}

/**
 * One finding and its history, its instants drawn from `instant`. The current values are
 * legacy noise, the exact rebuilt values (so some rows must not change), or those with one
 * field nudged (a microsecond is a change). Events are listed in the order they are inserted.
 */
export function findingHistory(
  instant: fc.Arbitrary<number> = gridInstant,
  { maxDetections = 10 } = {},
): fc.Arbitrary<FindingHistory> {
  return fc
    .record({
      severity: fc.constantFrom('critical', 'high', 'medium', 'low', 'info', 'urgent'),
      created_at: instant,
      legacy: legacyLifecycle(instant),
      detections: fc.array(instant, { maxLength: maxDetections }),
      events: fc.array(
        fc.record({ type: fc.constantFrom('triaged', 'resolved', 'risk_accepted', 'commented'), occurred_at: instant }),
        { maxLength: 4 },
      ),
      currentKind: fc.constantFrom('legacy', 'rebuilt', 'nudged'),
      nudge: fc.constantFrom(...LIFECYCLE_FIELDS),
    })
    .map(({ severity, created_at, legacy, detections, events, currentKind, nudge }) => {
      // Listed order as ids here; a check that needs the ids the database assigns reads them
      // back, so a guess off at a tie only turns an unchanged row into a changed one.
      const history = {
        severity,
        created_at,
        detections,
        current: legacy,
        events: events.map((e, i) => ({ ...e, id: i + 1 })),
      };
      if (currentKind !== 'legacy') history.current = { ...rebuildLifecycle(history).rebuilt };
      if (currentKind === 'nudged') history.current = nudged(history.current, nudge, created_at);
      return history;
    });
}

const iso = (at: number | null) => (at === null ? null : formatInstant(at));

/**
 * Inserts the findings with their detections and events (events in listed order) for a tenant,
 * and returns the finding ids in the order given.
 */
export async function insertFindingHistories(
  q: Queryable,
  tenantId: number,
  findings: readonly FindingHistory[],
): Promise<number[]> {
  // Fingerprints new to the tenant, which map the ids back to the order given.
  const prefix = `generated-${randomUUID()}-`;
  const inserted = await q.query<{ id: string; fingerprint: string }>(
    `INSERT INTO findings (tenant_id, fingerprint, title, severity, created_at, status, first_seen_at, last_seen_at,
                           times_seen, due_at, resolved_at, reopened_at, lifecycle_version)
     SELECT $1, x.fingerprint, 'generated', x.severity, x.created_at, x.status, x.first_seen_at, x.last_seen_at,
            x.times_seen, x.due_at, x.resolved_at, x.reopened_at, x.lifecycle_version
       FROM jsonb_to_recordset($2::jsonb) AS x (fingerprint text, severity text, created_at timestamptz, status text,
            first_seen_at timestamptz, last_seen_at timestamptz, times_seen int, due_at timestamptz,
            resolved_at timestamptz, reopened_at timestamptz, lifecycle_version int)
     RETURNING id, fingerprint`,
    [
      tenantId,
      JSON.stringify(
        findings.map((history, index) => ({
          fingerprint: `${prefix}${index}`,
          severity: history.severity,
          created_at: iso(history.created_at),
          ...mapLifecycleInstants(history.current, formatInstant),
        })),
      ),
    ],
  );
  const ids: number[] = [];
  for (const row of inserted.rows) ids[Number(row.fingerprint.slice(prefix.length))] = Number(row.id);
  const detections = findings.flatMap((history, index) =>
    history.detections.map((at) => ({ finding_id: ids[index], detected_at: iso(at) })),
  );
  await q.query(
    `INSERT INTO finding_detections (finding_id, tenant_id, detected_at)
     SELECT x.finding_id, $1, x.detected_at FROM jsonb_to_recordset($2::jsonb) AS x (finding_id bigint, detected_at timestamptz)`,
    [tenantId, JSON.stringify(detections)],
  );
  const events = findings
    .flatMap((history, index) =>
      history.events.map((event) => ({
        finding_id: ids[index],
        type: event.type,
        occurred_at: iso(event.occurred_at),
      })),
    )
    .map((event, n) => ({ ...event, n }));
  await q.query(
    `INSERT INTO finding_events (finding_id, tenant_id, type, occurred_at)
     SELECT x.finding_id, $1, x.type, x.occurred_at
       FROM jsonb_to_recordset($2::jsonb) AS x (finding_id bigint, type text, occurred_at timestamptz, n int)
      ORDER BY x.n`,
    [tenantId, JSON.stringify(events)],
  );
  return ids;
}

/** A change the product makes to a tenant's findings; `finding` picks one of them by position, modulo their count. */
export type FindingChange =
  | { kind: 'detection'; finding: number; at: number }
  | { kind: 'event'; finding: number; type: string; at: number }
  | { kind: 'severity'; finding: number; severity: string }
  | { kind: 'finding'; history: FindingHistory };

export function findingChange(
  instant: fc.Arbitrary<number> = gridInstant,
  newFinding: fc.Arbitrary<FindingHistory> = findingHistory(instant),
): fc.Arbitrary<FindingChange> {
  const finding = fc.nat({ max: 1000 });
  return fc.oneof(
    fc.record({ kind: fc.constant('detection' as const), finding, at: instant }),
    fc.record({
      kind: fc.constant('event' as const),
      finding,
      type: fc.constantFrom('triaged', 'resolved', 'risk_accepted', 'commented'),
      at: instant,
    }),
    fc.record({
      kind: fc.constant('severity' as const),
      finding,
      severity: fc.constantFrom('critical', 'high', 'medium', 'low', 'info'),
    }),
    fc.record({ kind: fc.constant('finding' as const), history: newFinding }),
  );
}

const PICKED_FINDING = `(SELECT id FROM findings WHERE tenant_id = $1 ORDER BY id
    OFFSET $2::int % greatest((SELECT count(*) FROM findings WHERE tenant_id = $1), 1) LIMIT 1)`;

/** Makes the change as the product would: history rows appended, a finding's update stamped with updated_at. */
export async function applyFindingChange(q: Queryable, tenantId: number, change: FindingChange): Promise<void> {
  switch (change.kind) {
    case 'detection':
      await q.query(
        `INSERT INTO finding_detections (finding_id, tenant_id, detected_at) SELECT id, $1, $3 FROM ${PICKED_FINDING} f`,
        [tenantId, change.finding, iso(change.at)],
      );
      return;
    case 'event':
      await q.query(
        `INSERT INTO finding_events (finding_id, tenant_id, type, occurred_at) SELECT id, $1, $3, $4 FROM ${PICKED_FINDING} f`,
        [tenantId, change.finding, change.type, iso(change.at)],
      );
      return;
    case 'severity':
      await q.query(`UPDATE findings SET severity = $3, updated_at = now() WHERE id IN ${PICKED_FINDING}`, [
        tenantId,
        change.finding,
        change.severity,
      ]);
      return;
    case 'finding':
      await insertFindingHistories(q, tenantId, [change.history]);
  }
}

export const testData = defineTestData({
  runbookId: findingsLifecycleRebuild.id,
  tenantData: fc.array(findingHistory(), { minLength: 20, maxLength: 60 }),
  write: async (q, tenantId, findings) => void (await insertFindingHistories(q, tenantId, findings)),
  parameters: fc.constant({}),
  change: findingChange(),
  applyChange: applyFindingChange,
});
