import { Cron } from 'croner';

/** A change window as the schedule arithmetic needs it (`change_windows`). */
export interface ScheduledWindow {
  id: number;
  kind: 'allow' | 'deny';
  schedule: string;
  durationMinutes: number;
  timeZone: string;
  cutoffMinutes: number;
  runbooks: string[] | null;
}

/** Whether a new tenant may start now, and until when; or when it may next. */
export type WindowState =
  /** `until`: when tenants stop starting (an allow window's cutoff, a deny window's); null: no window ends it. */
  | { open: true; until: Date | null }
  /** `opensAt`: when one may next (null: not within a year); `reason`: the window that holds it. */
  | { open: false; opensAt: Date | null; reason: string };

/** How far ahead the next opening is looked for. */
const HORIZON_MS = 366 * 24 * 3600_000;
/** Boundaries looked at before giving up: windows that open and close more often than this in a year are not real. */
const MAX_STEPS = 3_000;

/** A window's schedule, parsed once per window object: the search below asks it many times. */
const parsed = new WeakMap<object, Cron>();
function cronOf(window: Pick<ScheduledWindow, 'schedule' | 'timeZone'>): Cron {
  let cron = parsed.get(window);
  if (!cron) parsed.set(window, (cron = new Cron(window.schedule, { timezone: window.timeZone, paused: true })));
  return cron;
}

/** The schedule's checks, for a window being defined: what is wrong with it, or null. */
export function scheduleProblem(
  window: Pick<ScheduledWindow, 'schedule' | 'timeZone' | 'durationMinutes'>,
  minuteMs = 60_000,
): string | null {
  try {
    new Intl.DateTimeFormat('en', { timeZone: window.timeZone });
  } catch {
    return `"${window.timeZone.slice(0, 100)}" is not an IANA time zone (write Europe/Berlin, America/New_York or UTC)`;
  }
  try {
    const cron = new Cron(window.schedule, { timezone: window.timeZone, paused: true });
    // A one-off window that began a moment ago still counts while it lasts (a freeze from now on).
    const once = cron.getOnce();
    const over = once ? once.getTime() + window.durationMinutes * minuteMs <= Date.now() : !cron.nextRun(new Date());
    return over ? `"${window.schedule.slice(0, 100)}" never opens again` : null;
  } catch (error) {
    return `"${window.schedule.slice(0, 100)}" is not a cron schedule (${error instanceof Error ? error.message : String(error)}); write five fields such as "0 22 * * 1-5", or one date-time such as 2026-12-24T00:00:00`;
  }
}

/**
 * The instants a window matters at, relative to each opening: an allow window lets tenants start
 * from its opening to its cutoff; a deny window stops them from its cutoff before it opens to its end.
 */
function span(window: ScheduledWindow, minuteMs: number): { from: number; to: number } {
  const duration = window.durationMinutes * minuteMs;
  const cutoff = window.cutoffMinutes * minuteMs;
  return window.kind === 'allow' ? { from: 0, to: duration - cutoff } : { from: -cutoff, to: duration };
}

/** Whether `at` falls in one of the window's spans: its latest opening that could cover it does. */
function covers(window: ScheduledWindow, at: number, minuteMs: number): boolean {
  const { from, to } = span(window, minuteMs);
  if (to <= from) return false;
  // The latest opening s with s + from <= at, and then at < s + to.
  const [opening] = cronOf(window).previousRuns(1, new Date(at - from + 1));
  return opening !== undefined && at < opening.getTime() + to;
}

/** The first instant after `at` where the window's span begins or ends. */
function nextBoundary(window: ScheduledWindow, at: number, minuteMs: number): number | null {
  const { from, to } = span(window, minuteMs);
  const cron = cronOf(window);
  const times = [from, to].flatMap((offset) => {
    const opening = cron.nextRun(new Date(at - offset));
    return opening ? [opening.getTime() + offset] : [];
  });
  return times.length ? Math.min(...times) : null;
}

const applies = (window: ScheduledWindow, runbook: string) => !window.runbooks || window.runbooks.includes(runbook);

/** Whether a new tenant may start at `at`, and the window that says no if one does. */
function verdict(
  windows: ScheduledWindow[],
  at: number,
  minuteMs: number,
): { open: boolean; holder?: ScheduledWindow } {
  const deny = windows.find((window) => window.kind === 'deny' && covers(window, at, minuteMs));
  if (deny) return { open: false, holder: deny };
  const allows = windows.filter((window) => window.kind === 'allow');
  if (allows.length === 0 || allows.some((window) => covers(window, at, minuteMs))) return { open: true };
  return { open: false, holder: allows[0] };
}

/** The first boundary after `at` where the verdict becomes `open`, or null within the horizon. */
function nextChange(windows: ScheduledWindow[], at: number, open: boolean, minuteMs: number): number | null {
  let now = at;
  for (let step = 0; step < MAX_STEPS && now - at < HORIZON_MS; step++) {
    const boundaries = windows.flatMap((window) => nextBoundary(window, now, minuteMs) ?? []);
    if (boundaries.length === 0) return null;
    now = Math.min(...boundaries);
    if (verdict(windows, now, minuteMs).open === open) return now;
  }
  return null;
}

/**
 * Whether a run of `runbook` may start a tenant at `at` under these windows: deny wins; with no
 * allow window for it, every time is allowed but the deny windows. `minuteMs` is how long a
 * window's minute lasts (a minute, but for tests that shorten it).
 */
export function windowState(all: ScheduledWindow[], runbook: string, at: Date, minuteMs = 60_000): WindowState {
  const windows = all.filter((window) => applies(window, runbook));
  const now = verdict(windows, at.getTime(), minuteMs);
  if (now.open) {
    const until = nextChange(windows, at.getTime(), false, minuteMs);
    return { open: true, until: until === null ? null : new Date(until) };
  }
  const opensAt = nextChange(windows, at.getTime(), true, minuteMs);
  const holder = now.holder!;
  return {
    open: false,
    opensAt: opensAt === null ? null : new Date(opensAt),
    reason:
      holder.kind === 'deny'
        ? `deny window ${holder.id} (${holder.schedule}, ${holder.timeZone})`
        : `outside the allow windows`,
  };
}

/** A window's openings from `from` to `to`, for a page that shows the coming week. */
export function openings(
  window: ScheduledWindow,
  from: Date,
  to: Date,
  minuteMs = 60_000,
): Array<{ start: Date; end: Date }> {
  const cron = cronOf(window);
  const found: Array<{ start: Date; end: Date }> = [];
  let after = new Date(from.getTime() - window.durationMinutes * minuteMs);
  for (let next = cron.nextRun(after); next && next < to && found.length < 100; next = cron.nextRun(after)) {
    found.push({ start: next, end: new Date(next.getTime() + window.durationMinutes * minuteMs) });
    after = next;
  }
  return found;
}
