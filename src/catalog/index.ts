import type { RunbookDefinition } from '../runbooks/definition.js';
import { closeStaleFindings } from './close-stale-findings/definition.js';
import { findingsLifecycleRebuild } from './findings-lifecycle/definition.js';
import { tenantFindingStatsRebuild } from './tenant-finding-stats/definition.js';

/**
 * The catalog: one folder per runbook, each registered here, in the order the console and the
 * CLI list them. `npm run cli -- runbook new <name>` adds a line.
 */
export const CATALOG: readonly RunbookDefinition[] = [
  findingsLifecycleRebuild,
  closeStaleFindings,
  tenantFindingStatsRebuild,
];
