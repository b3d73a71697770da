import { defineRunbook } from '../../runbooks/definition.js';
import { NO_PARAMETERS } from '../../runbooks/parameters.js';
import { nextFindingSpan, tenantFindingSpan } from './findingSpans.js';
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
  tables: ['findings'],
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
    const span = await nextFindingSpan(q, tenantId, cursor, batchSize);
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
    const span = await tenantFindingSpan(q, tenantId);
    return span ? countTenantToChange(q, tenantId, rangePlanFor(span)) : 0;
  },
});
