import { MICROS_PER_DAY } from '../findings-lifecycle/instants.js';
import {
  rebuildLifecycle,
  STATUS_EVENT_TYPES,
  type FindingHistory,
  type Lifecycle,
} from '../findings-lifecycle/rules.js';

/**
 * Close stale findings (RULES.md) as a pure function of one finding's history. It decides
 * through the lifecycle rules themselves, so "open" and "last seen" mean what they derive, and
 * the closed finding's fields are what they derive once the resolution is in its history.
 * `sql.ts` states the same set-based; the property test holds the two together.
 */

export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;

const OPEN_STATUSES: ReadonlySet<string> = new Set(['new', 'triaged', 'reopened']);

export interface StaleCriteria {
  /** The run's fixed instant, in microseconds: the resolution's occurred_at. */
  asOf: number;
  olderThanDays: number;
  severities: readonly string[];
}

/**
 * The finding's lifecycle once closed, or null when it is left alone: it is not open, not of
 * a chosen severity, seen on or after the cut-off (asOf − olderThanDays, days of 24 hours), or
 * has a status event after the instant (acted on since: a resolution at the instant would not
 * be its latest, and the finding would stay open).
 */
export function closeIfStale(history: FindingHistory, criteria: StaleCriteria): Lifecycle | null {
  const { rebuilt } = rebuildLifecycle(history);
  const cutOff = criteria.asOf - criteria.olderThanDays * MICROS_PER_DAY;
  const statusEvents: readonly string[] = STATUS_EVENT_TYPES;
  const actedOnSince = history.events.some(
    (event) => event.occurred_at > criteria.asOf && statusEvents.includes(event.type),
  );
  if (
    !OPEN_STATUSES.has(rebuilt.status) ||
    !criteria.severities.includes(history.severity) ||
    rebuilt.last_seen_at >= cutOff ||
    actedOnSince
  ) {
    return null;
  }
  // The resolution is inserted after every event the finding has: it wins a tie at the instant.
  const id = history.events.reduce((greatest, event) => Math.max(greatest, event.id), 0) + 1;
  const resolution = { id, type: 'resolved', occurred_at: criteria.asOf };
  return rebuildLifecycle({ ...history, events: [...history.events, resolution] }).rebuilt;
}
