import { MICROS_PER_DAY } from './instants.js';

/**
 * The findings lifecycle rules (RULES.md, rules_version 1) as a pure
 * function of one finding's history. `rebuildSql.ts` states the same rules set-based in SQL;
 * the vector and property tests hold the two to each other.
 *
 * Field names are the column names, so the changed-field lists here, the SQL change flags and
 * the preflight counts share one vocabulary.
 */
const RULES_VERSION = 1;

/** In the order changed fields are reported. */
export const LIFECYCLE_FIELDS = [
  'status',
  'first_seen_at',
  'last_seen_at',
  'times_seen',
  'due_at',
  'resolved_at',
  'reopened_at',
  'lifecycle_version',
] as const;
export type LifecycleField = (typeof LIFECYCLE_FIELDS)[number];

export const LIFECYCLE_INSTANT_FIELDS = [
  'first_seen_at',
  'last_seen_at',
  'due_at',
  'resolved_at',
  'reopened_at',
] as const;

export type LifecycleStatus = 'new' | 'triaged' | 'resolved' | 'reopened' | 'risk_accepted';

export const STATUS_EVENT_TYPES = ['triaged', 'resolved', 'risk_accepted'] as const;
type StatusEventType = (typeof STATUS_EVENT_TYPES)[number];

// A Map, not an object literal: a severity such as "constructor" must find no SLA either.
const SLA_DAYS: ReadonlyMap<string, number> = new Map([
  ['critical', 3],
  ['high', 7],
  ['medium', 30],
  ['low', 90],
]);

/** The lifecycle columns of a finding; instants are microseconds unless stated otherwise. */
export interface Lifecycle<Instant = number> {
  /** Legacy rows may hold any text, or NULL. */
  status: string | null;
  first_seen_at: Instant | null;
  last_seen_at: Instant | null;
  times_seen: number;
  due_at: Instant | null;
  resolved_at: Instant | null;
  reopened_at: Instant | null;
  lifecycle_version: number;
}

interface RebuiltLifecycle extends Lifecycle {
  status: LifecycleStatus;
  first_seen_at: number;
  last_seen_at: number;
}

interface FindingEvent {
  id: number;
  /** Any type is accepted; only the status event types count. */
  type: string;
  occurred_at: number;
}

export interface FindingHistory {
  severity: string;
  created_at: number;
  current: Lifecycle;
  detections: readonly number[];
  events: readonly FindingEvent[];
}

export interface LifecycleRebuild {
  rebuilt: RebuiltLifecycle;
  /** Fields whose current value differs from the rebuilt one, in LIFECYCLE_FIELDS order. */
  changedFields: LifecycleField[];
}

export function rebuildLifecycle(history: FindingHistory): LifecycleRebuild {
  const { detections } = history;
  // A loop, not Math.min(...detections): spreading a long history would overflow the call stack.
  let first_seen_at = detections[0] ?? history.created_at;
  let last_seen_at = first_seen_at;
  for (const at of detections) {
    if (at < first_seen_at) first_seen_at = at;
    if (at > last_seen_at) last_seen_at = at;
  }
  const outcome = statusFromLatestEvent(latestStatusEvent(history.events), detections);
  const slaDays = SLA_DAYS.get(history.severity);
  const slaStart =
    outcome.status === 'new' || outcome.status === 'triaged'
      ? first_seen_at
      : outcome.status === 'reopened'
        ? outcome.reopened_at
        : null;
  const rebuilt: RebuiltLifecycle = {
    status: outcome.status,
    first_seen_at,
    last_seen_at,
    times_seen: detections.length,
    due_at: slaStart === null || slaDays === undefined ? null : slaStart + slaDays * MICROS_PER_DAY,
    resolved_at: outcome.resolved_at,
    reopened_at: outcome.reopened_at,
    lifecycle_version: RULES_VERSION,
  };
  // Every field is a primitive or null, so strict inequality is the NULL-safe comparison.
  const changedFields = LIFECYCLE_FIELDS.filter((field) => history.current[field] !== rebuilt[field]);
  return { rebuilt, changedFields };
}

function isStatusEvent(event: FindingEvent): event is FindingEvent & { type: StatusEventType } {
  return (STATUS_EVENT_TYPES as readonly string[]).includes(event.type);
}

/** Greatest occurred_at; on a tie, greatest id. */
function latestStatusEvent(events: readonly FindingEvent[]) {
  let latest: (FindingEvent & { type: StatusEventType }) | undefined;
  for (const event of events) {
    if (!isStatusEvent(event)) continue;
    const later =
      latest === undefined ||
      event.occurred_at > latest.occurred_at ||
      (event.occurred_at === latest.occurred_at && event.id > latest.id);
    if (later) latest = event;
  }
  return latest;
}

function statusFromLatestEvent(
  latest: (FindingEvent & { type: StatusEventType }) | undefined,
  detections: readonly number[],
): { status: LifecycleStatus; resolved_at: number | null; reopened_at: number | null } {
  if (latest === undefined) return { status: 'new', resolved_at: null, reopened_at: null };
  if (latest.type !== 'resolved') return { status: latest.type, resolved_at: null, reopened_at: null };
  const resolvedAt = latest.occurred_at;
  // Strictly later: a detection at the very instant of resolution does not reopen.
  const reopenedAt = detections.reduce<number | null>(
    (earliest, at) => (at > resolvedAt && (earliest === null || at < earliest) ? at : earliest),
    null,
  );
  return reopenedAt === null
    ? { status: 'resolved', resolved_at: resolvedAt, reopened_at: null }
    : { status: 'reopened', resolved_at: null, reopened_at: reopenedAt };
}

/** Converts the instants of a lifecycle, e.g. to ISO strings with formatInstant. */
export function mapLifecycleInstants<From, To>(
  lifecycle: Lifecycle<From>,
  convert: (instant: From) => To,
): Lifecycle<To> {
  const map = (instant: From | null) => (instant === null ? null : convert(instant));
  return {
    ...lifecycle,
    first_seen_at: map(lifecycle.first_seen_at),
    last_seen_at: map(lifecycle.last_seen_at),
    due_at: map(lifecycle.due_at),
    resolved_at: map(lifecycle.resolved_at),
    reopened_at: map(lifecycle.reopened_at),
  };
}
