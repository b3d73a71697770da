import type { RunbookDefinition } from '../definition.js';
import { fingerprintFindings } from './fingerprintSql.js';
import { countingPlanFor, rebuildFindingsBatch, sampleFindingChanges, summarizeFindingsToChange } from './rebuildSql.js';

const SAMPLE_SIZE = 5;

/** Rebuild Findings Lifecycle: recompute every finding's lifecycle fields from its history. */
export const findingsLifecycleRebuild: RunbookDefinition = {
  id: 'findings.lifecycle.rebuild',
  cliName: 'findings-lifecycle',
  title: 'Rebuild Findings Lifecycle',
  description:
    'Recomputes status, seen statistics, SLA due date and resolution times of every finding from its ' +
    'detections and events (rules version 1). Idempotent: a second run changes nothing.',
  unit: 'findings',
  deployTriggered: true,

  async preflight(q, tenants, options = {}) {
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
    const { rows } = await q.query<{ to_id: number | null; ids: number }>(
      `SELECT max(id)::bigint AS to_id, count(*)::int AS ids
         FROM (SELECT id FROM findings WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3) next_batch`,
      [tenantId, cursor, batchSize],
    );
    const toId = rows[0]?.to_id;
    if (toId == null) return null;
    const result = await rebuildFindingsBatch(q, { tenantId, fromId: cursor + 1, toId: Number(toId) });
    return { cursor: Number(toId), examined: result.examined, changed: result.changed, breakdown: result.fields, last: rows[0]!.ids < batchSize };
  },

  async remainingToChange(q, tenantId) {
    // Probes, without asking the planner: one tenant is a small share of all findings (a grouped
    // pass reads every tenant's history: 4.4 s against 0.06 s over 5,000 of 1,000,000 findings).
    const [summary] = await summarizeFindingsToChange(q, [tenantId], 'probes');
    return summary?.changed ?? 0;
  },
};
