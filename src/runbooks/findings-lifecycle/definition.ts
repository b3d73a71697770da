import type { Queryable } from '../../db/queryable.js';
import { defineRunbook } from '../definition.js';
import { NO_PARAMETERS } from '../parameters.js';
import { fingerprintFindings } from './fingerprintSql.js';
import {
  countingPlanFor,
  countTenantToChange,
  rangePlanFor,
  rebuildFindingsBatch,
  sampleFindingChanges,
  summarizeFindingsToChange,
} from './rebuildSql.js';

const SAMPLE_SIZE = 5;

interface IdSpan {
  fromId: number;
  toId: number;
  ids: number;
}

/** The least and greatest id and the count of the findings `ids` selects (one index-only read); null for none. */
async function idSpan(q: Queryable, ids: string, values: unknown[]): Promise<IdSpan | null> {
  const { rows } = await q.query<{ from_id: string | null; to_id: string | null; ids: number }>(
    `SELECT min(id)::bigint AS from_id, max(id)::bigint AS to_id, count(*)::int AS ids FROM (${ids}) selected`,
    values,
  );
  const { from_id, to_id } = rows[0]!;
  return from_id == null || to_id == null ? null : { fromId: Number(from_id), toId: Number(to_id), ids: rows[0]!.ids };
}

/** Rebuild Findings Lifecycle: recompute every finding's lifecycle fields from its history. */
export const findingsLifecycleRebuild = defineRunbook({
  id: 'findings.lifecycle.rebuild',
  cliName: 'findings-lifecycle',
  title: 'Rebuild Findings Lifecycle',
  description:
    'Recomputes status, seen statistics, SLA due date and resolution times of every finding from its ' +
    'detections and events (rules version 1). Idempotent: a second run changes nothing.',
  unit: 'findings',
  sampleKey: 'Finding',
  deployTriggered: true,
  parameters: NO_PARAMETERS,
  writes: 'findings',
  // The legacy /admin maintenance trigger starts it for the customer's own tenant.
  customerTrigger: true,

  async preflight(q, tenants, _context, options = {}) {
    const ids = tenants.map((tenant) => tenant.id);
    const summaries = await summarizeFindingsToChange(q, ids, await countingPlanFor(q, ids));
    const breakdown: Record<string, number> = {};
    for (const summary of summaries) {
      for (const [field, count] of Object.entries(summary.fields)) breakdown[field] = (breakdown[field] ?? 0) + count;
    }
    return {
      perTenant: summaries.map((summary) => ({
        tenantId: summary.tenantId,
        inScope: summary.findings,
        toChange: summary.changed,
      })),
      breakdown,
      sample: options.sample === false ? [] : await sampleFindingChanges(q, ids, SAMPLE_SIZE),
    };
  },

  fingerprint(q, tenantIds) {
    return fingerprintFindings(q, tenantIds);
  },

  async processBatch(q, { tenantId, cursor, batchSize }) {
    const span = await idSpan(q, 'SELECT id FROM findings WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
      tenantId,
      cursor,
      batchSize,
    ]);
    if (!span) return null;
    const result = await rebuildFindingsBatch(q, { tenantId, fromId: cursor + 1, toId: span.toId }, rangePlanFor(span));
    return {
      cursor: span.toId,
      examined: result.examined,
      changed: result.changed,
      breakdown: result.fields,
      last: span.ids < batchSize,
    };
  },

  async remainingToChange(q, tenantId) {
    // Without asking the planner: one tenant is a small share of all findings, so the only
    // question is whether its findings lie together.
    const span = await idSpan(q, 'SELECT id FROM findings WHERE tenant_id = $1', [tenantId]);
    return span ? countTenantToChange(q, tenantId, rangePlanFor(span)) : 0;
  },
});
