import fc from 'fast-check';
import type { Queryable } from '../../db/queryable.js';
import { defineTestData } from '../../runbooks/testData.js';
import { MICROS_PER_DAY, parseInstant } from '../findings-lifecycle/instants.js';
import { mapLifecycleInstants, type FindingHistory } from '../findings-lifecycle/rules.js';
import {
  applyFindingChange,
  findingChange,
  findingHistory,
  insertFindingHistories,
  type FindingChange,
} from '../findings-lifecycle/testData.js';
import { closeStaleFindings } from './definition.js';
import { SEVERITIES } from './rules.js';

/**
 * Findings seen up to 400 days ago, their instants relative to the database's now() when
 * written: half a day off any whole number of days, so a cut-off of whole days before the
 * preflight's instant never falls within hours of one.
 */
const daysAgo = fc.integer({ min: 0, max: 400 }).map((days) => -(days * MICROS_PER_DAY + MICROS_PER_DAY / 2));
// Few detections each, so that many are last seen long ago.
const finding = findingHistory(daysAgo, { maxDetections: 3 });

async function nowMicros(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ now: string }>(
    `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now`,
  );
  return parseInstant(rows[0]!.now);
}

function shifted(history: FindingHistory, by: number): FindingHistory {
  return {
    ...history,
    created_at: history.created_at + by,
    current: mapLifecycleInstants(history.current, (at) => at + by),
    detections: history.detections.map((at) => at + by),
    events: history.events.map((event) => ({ ...event, occurred_at: event.occurred_at + by })),
  };
}

function shiftedChange(change: FindingChange, by: number): FindingChange {
  switch (change.kind) {
    case 'detection':
    case 'event':
      return { ...change, at: change.at + by };
    case 'severity':
      return change;
    case 'finding':
      return { ...change, history: shifted(change.history, by) };
  }
}

export const testData = defineTestData({
  runbookId: closeStaleFindings.id,
  tenantData: fc.array(finding, { minLength: 20, maxLength: 60 }),
  async write(q, tenantId, findings) {
    const now = await nowMicros(q);
    await insertFindingHistories(
      q,
      tenantId,
      findings.map((history) => shifted(history, now)),
    );
  },
  parameters: fc.record(
    {
      olderThanDays: fc.integer({ min: 7, max: 60 }),
      severities: fc.subarray([...SEVERITIES], { minLength: 2 }),
      note: fc.string({ maxLength: 200 }),
    },
    { requiredKeys: ['olderThanDays'] },
  ),
  change: findingChange(daysAgo, finding),
  async applyChange(q, tenantId, change) {
    await applyFindingChange(q, tenantId, shiftedChange(change, await nowMicros(q)));
  },
});
