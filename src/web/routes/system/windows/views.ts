import { utcTime } from '../../../../format.js';
import { REASON_LENGTH } from '../../../../runbooks/validateStart.js';
import { RUNBOOKS, runbookTitle } from '../../../../runbooks/registry.js';
import type { ChangeWindowRecord } from '../../../../runbooks/windows/changeWindows.js';
import { openings, windowState, type WindowState } from '../../../../runbooks/windows/windowSchedule.js';
import { WINDOW_NOTICES, type WindowNotice } from './notice.js';

/** The plain view models of the change windows pages; views never see database rows. */

/** How far ahead the page shows a window's openings. */
const WEEK_MS = 7 * 24 * 3600_000;
/** Openings listed per window; the rest are counted. */
const SHOWN_OPENINGS = 10;

export const WINDOWS_HREF = '/system/ops/windows';
const deleteHref = (id: number) => `${WINDOWS_HREF}/${id}/delete`;

/** An instant for a `<time>`: in the one human form, its exact value for the `title`. */
const instant = (date: Date) => ({ iso: date.toISOString(), text: utcTime(date) });

/** Minutes as the form takes them: 1d, 4h, 90m. */
function minutesText(minutes: number): string {
  if (minutes > 0 && minutes % (24 * 60) === 0) return `${minutes / (24 * 60)}d`;
  if (minutes > 0 && minutes % 60 === 0) return `${minutes / 60}h`;
  return `${minutes}m`;
}

/** An instant's wall-clock date and time in a time zone, "Mon 2026-12-07 23:00" (its parts, to drop a repeated date). */
function zoned(date: Date, timeZone: string): { day: string; time: string } {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(date);
  } catch {
    // A zone this Node no longer knows (the window was checked against another's data): UTC.
    return zoned(date, 'UTC');
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    day: `${part('weekday')} ${part('year')}-${part('month')}-${part('day')}`,
    time: `${part('hour')}:${part('minute')}`,
  };
}

/** "Mon 2026-12-07 23:00 – Tue 03:00": a span in a zone, its end's date said only when it differs. */
function zonedSpan(start: Date, end: Date, timeZone: string): string {
  const from = zoned(start, timeZone);
  const to = zoned(end, timeZone);
  const endDay = to.day === from.day ? '' : `${to.day.split(' ')[0]} `;
  return `${from.day} ${from.time} – ${endDay}${to.time}`;
}

/** The runbooks a window holds, by title: every runbook when it names none. */
function runbooksOf(ids: readonly string[] | null): string {
  return ids ? ids.map(runbookTitle).join(', ') : 'every runbook';
}

/** What a window does, in a few words, by kind. */
const KIND_TEXT = {
  allow: { label: 'Allow', explain: 'runs may start new tenants only inside it' },
  deny: { label: 'Deny', explain: 'no run starts a new tenant inside it' },
} as const;

/** One window as the page shows it, with its openings in the coming week and whether it is open now. */
function windowView(window: ChangeWindowRecord, context: { now: Date; minuteMs: number; canManage: boolean }) {
  const { now } = context;
  const found = openings(window, now, new Date(now.getTime() + WEEK_MS), context.minuteMs);
  const current = found.find((opening) => opening.start <= now && now < opening.end) ?? null;
  const next = found.find((opening) => opening.start > now) ?? null;
  const inUtc = window.timeZone === 'UTC' || window.timeZone === 'Etc/UTC';
  const verb = window.kind === 'allow' ? 'Open' : 'In force';
  return {
    id: window.id,
    anchor: `window-${window.id}`,
    kind: window.kind,
    kindLabel: KIND_TEXT[window.kind].label,
    kindExplain: KIND_TEXT[window.kind].explain,
    schedule: window.schedule,
    timeZone: window.timeZone,
    duration: minutesText(window.durationMinutes),
    cutoff:
      window.cutoffMinutes === 0
        ? 'none'
        : window.kind === 'allow'
          ? `${minutesText(window.cutoffMinutes)} before it closes, no new tenant starts`
          : `no new tenant starts from ${minutesText(window.cutoffMinutes)} before it opens`,
    runbooks: runbooksOf(window.runbooks),
    description: window.description,
    createdBy: window.createdBy,
    created: instant(window.createdAt),
    now: current
      ? `${verb} now, until ${utcTime(current.end)}.`
      : next
        ? `${window.kind === 'allow' ? 'Closed' : 'Not in force'} now; next from ${utcTime(next.start)}.`
        : `${window.kind === 'allow' ? 'Closed' : 'Not in force'} now, and it does not open in the coming week.`,
    open: current !== null,
    openings: found.slice(0, SHOWN_OPENINGS).map((opening) => ({
      start: instant(opening.start),
      end: instant(opening.end),
      current: opening === current,
      zoned: inUtc ? null : `${zonedSpan(opening.start, opening.end, window.timeZone)} ${window.timeZone}`,
    })),
    more: Math.max(0, found.length - SHOWN_OPENINGS),
    deleteHref: context.canManage ? deleteHref(window.id) : null,
  };
}

/** Whether a run of a runbook may start a new tenant now, in one line. */
function nowText(state: WindowState): string {
  if (state.open)
    return state.until ? `runs may start; new tenants stop starting at ${utcTime(state.until)}` : 'runs may start';
  return state.opensAt
    ? `new tenants wait until ${utcTime(state.opensAt)} (${state.reason})`
    : `new tenants wait: no window lets them start within a year (${state.reason})`;
}

/**
 * What the windows mean now, by runbook (a window may name some runbooks only): the runbooks in
 * the same state share a line, and when every runbook is in one state the line names none.
 */
function nowLines(windows: ChangeWindowRecord[], now: Date, minuteMs: number) {
  const byText = new Map<string, string[]>();
  for (const runbook of RUNBOOKS) {
    const text = nowText(windowState(windows, runbook.id, now, minuteMs));
    byText.set(text, [...(byText.get(text) ?? []), runbook.title]);
  }
  if (byText.size <= 1) return [{ runbooks: null, text: [...byText.keys()][0] ?? 'runs may start' }];
  return [...byText].map(([text, titles]) => ({ runbooks: titles.join(', '), text }));
}

/** What the create form holds, as typed. */
export interface WindowFields {
  kind: string;
  schedule: string;
  duration: string;
  timeZone: string;
  cutoff: string;
  runbooks: string[];
  description: string;
}

export const emptyWindowFields = (): WindowFields => ({
  kind: '',
  schedule: '',
  duration: '',
  timeZone: 'UTC',
  cutoff: '',
  runbooks: [],
  description: '',
});

/** The form's problem: its message, and the field it concerns when that is known. */
export interface WindowProblem {
  message: string;
  field: keyof WindowFields | null;
}

/** The windows page: every window with its coming week, what they mean now, and the form to define one. */
export function windowsPageView(input: {
  windows: ChangeWindowRecord[];
  now: Date;
  minuteMs: number;
  canManage: boolean;
  csrfToken: string;
  fields: WindowFields;
  problem: WindowProblem | null;
  notice: WindowNotice | null;
}) {
  const { now, minuteMs, canManage } = input;
  return {
    toast: input.notice ? WINDOW_NOTICES[input.notice] : null,
    now: instant(now),
    nowLines: nowLines(input.windows, now, minuteMs),
    windows: input.windows.map((window) => windowView(window, { now, minuteMs, canManage })),
    form: canManage
      ? {
          postUrl: WINDOWS_HREF,
          csrfToken: input.csrfToken,
          fields: input.fields,
          problem: input.problem,
          runbooks: RUNBOOKS.map((runbook) => ({
            id: runbook.id,
            title: runbook.title,
            checked: input.fields.runbooks.includes(runbook.id),
          })),
          descriptionMin: REASON_LENGTH.min,
          descriptionMax: REASON_LENGTH.max,
          descriptionLength: [...input.fields.description.trim()].length,
        }
      : null,
  };
}

/** The confirmation of a window's deletion: the window in brief, and what deleting it does. */
export function deleteView(window: ChangeWindowRecord, input: { csrfToken: string; now: Date; minuteMs: number }) {
  return {
    window: windowView(window, { now: input.now, minuteMs: input.minuteMs, canManage: true }),
    postUrl: deleteHref(window.id),
    href: `${WINDOWS_HREF}#window-${window.id}`,
    csrfToken: input.csrfToken,
  };
}
