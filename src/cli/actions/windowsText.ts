import { utcTime } from '../../format.js';
import { RUNBOOKS } from '../../runbooks/registry.js';
import type { ChangeWindowRecord } from '../../runbooks/windows/changeWindows.js';
import { openings } from '../../runbooks/windows/windowSchedule.js';
import { printable } from '../printable.js';

/** How far ahead the CLI shows a window's openings. */
const WEEK_MS = 7 * 24 * 3600_000;

type Opening = { start: Date; end: Date };

/** A window as the CLI shows it: its row, and its openings in the coming week (one open now among them). */
export type ShownWindow = ChangeWindowRecord & { openings: Opening[] };

/** `minuteMs`: how long a window's minute lasts (`Config.windowMinuteMs`). */
export function withOpenings(window: ChangeWindowRecord, now: Date, minuteMs: number): ShownWindow {
  return { ...window, openings: openings(window, now, new Date(now.getTime() + WEEK_MS), minuteMs) };
}

/** Minutes as `--duration` takes them: 1d, 4h, 90m. */
export function minutesText(minutes: number): string {
  if (minutes > 0 && minutes % (24 * 60) === 0) return `${minutes / (24 * 60)}d`;
  if (minutes > 0 && minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/** The runbooks a window holds, by their CLI names (an id no longer in the catalog as it is): `all` for every one. */
export function runbooksText(ids: readonly string[] | null): string {
  if (!ids) return 'all';
  return ids.map((id) => RUNBOOKS.find((runbook) => runbook.id === id)?.cliName ?? printable(id, 80)).join(', ');
}

const openingText = (opening: Opening, now: Date) =>
  opening.start <= now ? `now until ${utcTime(opening.end)}` : utcTime(opening.start);

/** The next opening and how many there are this week: what a table has room for. */
export function nextOpeningText(window: ShownWindow, now: Date): string {
  const [next] = window.openings;
  if (!next) return 'none this week';
  return `${openingText(next, now)} (${window.openings.length} this week)`;
}

/** Every opening of the week, a line each, for the window just defined. */
export function openingLines(window: ShownWindow, now: Date): string[] {
  if (window.openings.length === 0) return ['It does not open in the coming week.'];
  const shown = window.openings.slice(0, 10);
  const more = window.openings.length - shown.length;
  return [
    'Openings in the coming week:',
    ...shown.map((opening) =>
      opening.start <= now
        ? `  ${openingText(opening, now)}`
        : `  ${utcTime(opening.start)} to ${utcTime(opening.end)}`,
    ),
    ...(more > 0 ? [`  … and ${more} more (windows list --json lists them all)`] : []),
  ];
}

/** What a window is, in one line: kind, schedule, time zone, duration, cutoff, runbooks. */
export function windowSummary(window: ChangeWindowRecord): string {
  const cutoff = window.cutoffMinutes ? `, cutoff ${minutesText(window.cutoffMinutes)}` : '';
  const runbooks = window.runbooks ? `runbooks ${runbooksText(window.runbooks)}` : 'every runbook';
  return (
    `${window.kind} window ${window.id}: "${printable(window.schedule, 100)}" in ${printable(window.timeZone, 80)}, ` +
    `lasting ${minutesText(window.durationMinutes)}${cutoff}, for ${runbooks}`
  );
}
