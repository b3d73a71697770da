// Change windows' arithmetic (#24): deny wins, allow windows bound every start, cutoffs come before
// the end of an allowed time, time zones and one-off freezes; and the checks of a window's definition.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { windowStartText } from '../src/runbooks/windows/runWindows.js';
import {
  openings,
  scheduleProblem,
  windowState,
  type ScheduledWindow,
} from '../src/runbooks/windows/windowSchedule.js';

const window = (overrides: Partial<ScheduledWindow> & Pick<ScheduledWindow, 'kind' | 'schedule'>): ScheduledWindow => ({
  id: 1,
  durationMinutes: 60,
  timeZone: 'UTC',
  cutoffMinutes: 0,
  runbooks: null,
  ...overrides,
});
const at = (iso: string) => new Date(iso);
// Monday 7 December 2026.
const MONDAY_NOON = at('2026-12-07T12:00:00Z');

describe('change window arithmetic', () => {
  it('with no window, every time is open', () => {
    expect(windowState([], 'any', MONDAY_NOON)).toEqual({ open: true, until: null });
  });

  it('a deny window holds starts while it lasts and says when they may go on', () => {
    const deny = window({ kind: 'deny', schedule: '0 11 * * *', durationMinutes: 120 });
    expect(windowState([deny], 'any', MONDAY_NOON)).toEqual({
      open: false,
      opensAt: at('2026-12-07T13:00:00Z'),
      reason: 'deny window 1 (0 11 * * *, UTC)',
    });
    expect(windowState([deny], 'any', at('2026-12-07T10:00:00Z'))).toEqual({
      open: true,
      until: at('2026-12-07T11:00:00Z'),
    });
    // Its cutoff comes before it opens: no tenant starts within 15 minutes of the freeze.
    const cut = { ...deny, cutoffMinutes: 15 };
    expect(windowState([cut], 'any', at('2026-12-07T10:44:00Z'))).toEqual({
      open: true,
      until: at('2026-12-07T10:45:00Z'),
    });
    expect(windowState([cut], 'any', at('2026-12-07T10:50:00Z'))).toMatchObject({
      open: false,
      opensAt: at('2026-12-07T13:00:00Z'),
    });
  });

  it('allow windows bound starts, in their time zone, up to their cutoff', () => {
    // Weeknights 22:00–02:00 Berlin time, no new tenant in the last 30 minutes.
    const nights = window({
      kind: 'allow',
      schedule: '0 22 * * 1-5',
      durationMinutes: 240,
      timeZone: 'Europe/Berlin',
      cutoffMinutes: 30,
    });
    expect(windowState([nights], 'any', MONDAY_NOON)).toEqual({
      open: false,
      opensAt: at('2026-12-07T21:00:00Z'),
      reason: 'outside the allow windows',
    });
    expect(windowState([nights], 'any', at('2026-12-07T21:10:00Z'))).toEqual({
      open: true,
      until: at('2026-12-08T00:30:00Z'),
    });
    expect(windowState([nights], 'any', at('2026-12-08T00:45:00Z'))).toMatchObject({
      open: false,
      opensAt: at('2026-12-08T21:00:00Z'),
    });
    // Friday night's window is the last of the week: Saturday noon waits for Monday night.
    expect(windowState([nights], 'any', at('2026-12-12T12:00:00Z'))).toMatchObject({
      opensAt: at('2026-12-14T21:00:00Z'),
    });
  });

  it('deny wins over allow', () => {
    const allowDay = window({ kind: 'allow', schedule: '0 8 * * *', durationMinutes: 600 });
    const denyLunch = window({ id: 2, kind: 'deny', schedule: '0 12 * * *', durationMinutes: 60 });
    expect(windowState([allowDay, denyLunch], 'any', MONDAY_NOON)).toEqual({
      open: false,
      opensAt: at('2026-12-07T13:00:00Z'),
      reason: 'deny window 2 (0 12 * * *, UTC)',
    });
    expect(windowState([allowDay, denyLunch], 'any', at('2026-12-07T09:00:00Z'))).toEqual({
      open: true,
      until: at('2026-12-07T12:00:00Z'),
    });
  });

  it('a one-off deny window is a change freeze, and windows narrowed to runbooks leave the others alone', () => {
    const freeze = window({
      kind: 'deny',
      schedule: '2026-12-24T00:00:00',
      durationMinutes: 3 * 24 * 60,
      timeZone: 'Europe/Berlin',
      runbooks: ['a'],
    });
    expect(windowState([freeze], 'a', at('2026-12-25T12:00:00Z'))).toMatchObject({
      open: false,
      opensAt: at('2026-12-26T23:00:00Z'),
    });
    expect(windowState([freeze], 'b', at('2026-12-25T12:00:00Z'))).toEqual({ open: true, until: null });
    expect(windowState([freeze], 'a', at('2027-01-02T12:00:00Z'))).toEqual({ open: true, until: null });
  });

  it('lists the openings of the coming week', () => {
    const nights = window({ kind: 'allow', schedule: '0 22 * * 1-5', durationMinutes: 240, timeZone: 'Europe/Berlin' });
    const week = openings(nights, MONDAY_NOON, new Date(MONDAY_NOON.getTime() + 7 * 86_400_000));
    expect(week.map((opening) => opening.start.toISOString())).toEqual([
      '2026-12-07T21:00:00.000Z',
      '2026-12-08T21:00:00.000Z',
      '2026-12-09T21:00:00.000Z',
      '2026-12-10T21:00:00.000Z',
      '2026-12-11T21:00:00.000Z',
    ]);
    expect(week[0]!.end.toISOString()).toBe('2026-12-08T01:00:00.000Z');
  });

  it('says what is wrong with a schedule or a time zone', () => {
    expect(scheduleProblem({ schedule: '0 22 * * 1-5', timeZone: 'Europe/Berlin', durationMinutes: 60 })).toBeNull();
    expect(scheduleProblem({ schedule: '61 * * * *', timeZone: 'UTC', durationMinutes: 60 })).toMatch(
      /^"61 \* \* \* \*" is not a cron schedule \(.*minute.*\); write five fields/,
    );
    expect(scheduleProblem({ schedule: '0 * * * *', timeZone: 'Mars/Olympus', durationMinutes: 60 })).toBe(
      '"Mars/Olympus" is not an IANA time zone (write Europe/Berlin, America/New_York or UTC)',
    );
    expect(scheduleProblem({ schedule: '2020-01-01T00:00:00', timeZone: 'UTC', durationMinutes: 60 })).toBe(
      '"2020-01-01T00:00:00" never opens again',
    );
    // A freeze that began a moment ago counts while it lasts.
    const justNow = new Date(Date.now() - 60_000).toISOString().slice(0, 19);
    expect(scheduleProblem({ schedule: justNow, timeZone: 'UTC', durationMinutes: 60 })).toBeNull();
  });

  it('says when a run started now would begin', () => {
    expect(windowStartText({ open: true, until: null })).toBe('Starts at once.');
    expect(
      windowStartText({ open: false, opensAt: at('2026-12-07T21:00:00Z'), reason: 'outside the allow windows' }),
    ).toBe('Would wait for the window that opens at 2026-12-07 21:00:00 UTC (outside the allow windows).');
  });

  it('an open state is open up to its end, and the next opening is open (property)', () => {
    const schedules = ['0 */2 * * *', '30 9 * * 1-5', '0 0 1 * *', '15 */3 * * *'];
    fc.assert(
      fc.property(
        fc.constantFrom(...schedules),
        fc.constantFrom(...schedules),
        fc.integer({ min: 10, max: 300 }),
        // Shorter than every schedule's period: a deny window that never ends would only search the whole year.
        fc.integer({ min: 10, max: 100 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 60 * 24 * 60 }),
        (allowSchedule, denySchedule, allowMinutes, denyMinutes, cutoff, offsetMinutes) => {
          const windows = [
            window({ kind: 'allow', schedule: allowSchedule, durationMinutes: allowMinutes, cutoffMinutes: cutoff }),
            window({ id: 2, kind: 'deny', schedule: denySchedule, durationMinutes: denyMinutes }),
          ];
          const now = new Date(MONDAY_NOON.getTime() + offsetMinutes * 60_000);
          const state = windowState(windows, 'any', now);
          if (state.open) {
            if (state.until) {
              expect(windowState(windows, 'any', new Date(state.until.getTime() - 1)).open).toBe(true);
              expect(windowState(windows, 'any', state.until).open).toBe(false);
            }
          } else if (state.opensAt) {
            expect(state.opensAt.getTime()).toBeGreaterThan(now.getTime());
            expect(windowState(windows, 'any', state.opensAt).open).toBe(true);
            expect(windowState(windows, 'any', new Date(state.opensAt.getTime() - 1)).open).toBe(false);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
