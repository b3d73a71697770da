import { defineRunbook } from '../../runbooks/definition.js';
import { defineParameters, param } from '../../runbooks/parameters.js';
import { nextFindingSpan, tenantFindingSpan } from '../findings-lifecycle/findingSpans.js';
import { fingerprintFindings } from '../findings-lifecycle/fingerprintSql.js';
import { countingPlanFor, rangePlanFor } from '../findings-lifecycle/rebuildSql.js';
import { SEVERITIES } from './rules.js';
import {
  closeStaleBatch,
  countTenantStale,
  sampleStaleFindings,
  summarizeStaleFindings,
  type StaleCriteria,
} from './sql.js';

const SAMPLE_SIZE = 5;

const parameters = defineParameters({
  olderThanDays: param.integer({
    label: 'Not seen for (days)',
    help: 'Close the open findings last seen more than this many days before the preflight',
    min: 7,
    max: 3650,
  }),
  severities: param.choices({
    label: 'Severities',
    help: 'Only findings of these severities (info findings have no SLA and are never closed)',
    choices: SEVERITIES,
    default: [...SEVERITIES],
    flag: 'severity',
  }),
  note: param.text({
    label: 'Note',
    help: "Kept with each resolution, for whoever reads the finding's history",
    maxLength: 200,
    default: '',
  }),
});

const criteria = (p: { olderThanDays: number; severities: readonly string[] }, asOf: Date): StaleCriteria => ({
  asOf,
  olderThanDays: p.olderThanDays,
  severities: p.severities,
});

/** Close stale findings: resolve the open findings nobody has seen for a while (RULES.md). */
export const closeStaleFindings = defineRunbook({
  id: 'findings.stale.close',
  cliName: 'close-stale-findings',
  title: 'Close stale findings',
  description:
    'Resolves the open findings (new, triaged or reopened) of the chosen severities that were last seen ' +
    'before the cut-off, with a resolution event that names the run and carries the note. Their lifecycle ' +
    'fields are set as the lifecycle rules derive them, so a later rebuild leaves them alone.',
  unit: 'findings',
  sampleKey: 'Finding',
  deployTriggered: false,
  parameters,
  // It writes the lifecycle fields the rebuild writes: their runs must not overlap.
  writes: 'findings',
  tables: ['findings', 'finding_events'],

  async preflight(q, tenants, { parameters: p, asOf }, options = {}) {
    const ids = tenants.map((tenant) => tenant.id);
    const summaries = await summarizeStaleFindings(q, ids, criteria(p, asOf), await countingPlanFor(q, ids));
    const breakdown: Record<string, number> = {};
    for (const summary of summaries) {
      for (const [severity, count] of Object.entries(summary.bySeverity)) {
        if (count > 0) breakdown[severity] = (breakdown[severity] ?? 0) + count;
      }
    }
    return {
      perTenant: summaries.map((summary) => ({
        tenantId: summary.tenantId,
        inScope: summary.findings,
        toChange: summary.closing,
      })),
      breakdown,
      sample: options.sample === false ? [] : await sampleStaleFindings(q, ids, criteria(p, asOf), SAMPLE_SIZE),
    };
  },

  // What is stale depends on the findings, their detections and events, as the lifecycle's
  // count does; the instant is fixed, so time passing moves nothing.
  fingerprint(q, tenantIds) {
    return fingerprintFindings(q, tenantIds);
  },

  async processBatch(q, { runId, tenantId, cursor, batchSize }, { parameters: p, asOf }) {
    const span = await nextFindingSpan(q, tenantId, cursor, batchSize);
    if (!span) return null;
    const result = await closeStaleBatch(
      q,
      { runId, tenantId, fromId: cursor + 1, toId: span.toId, note: p.note },
      criteria(p, asOf),
      rangePlanFor(span),
    );
    const breakdown = Object.fromEntries(Object.entries(result.bySeverity).filter(([, count]) => count > 0));
    return {
      cursor: span.toId,
      examined: result.examined,
      changed: result.changed,
      breakdown,
      last: span.ids < batchSize,
    };
  },

  async remainingToChange(q, tenantId, { parameters: p, asOf }) {
    const span = await tenantFindingSpan(q, tenantId);
    return span ? countTenantStale(q, tenantId, criteria(p, asOf), rangePlanFor(span)) : 0;
  },
});
