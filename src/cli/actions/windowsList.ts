import { listChangeWindows } from '../../runbooks/windows/changeWindows.js';
import { withDeps } from '../deps.js';
import { CLI } from '../hints.js';
import { printResult, table } from '../output.js';
import { printable } from '../printable.js';
import { minutesText, nextOpeningText, runbooksText, withOpenings, type ShownWindow } from './windowsText.js';

const HEADER = ['ID', 'KIND', 'SCHEDULE', 'TIME ZONE', 'DURATION', 'CUTOFF', 'RUNBOOKS', 'NEXT OPENING', 'DESCRIPTION'];

const windowCells = (window: ShownWindow, now: Date): string[] => [
  String(window.id),
  window.kind,
  printable(window.schedule, 100),
  printable(window.timeZone, 80),
  minutesText(window.durationMinutes),
  window.cutoffMinutes ? minutesText(window.cutoffMinutes) : 'none',
  runbooksText(window.runbooks),
  nextOpeningText(window, now),
  printable(window.description, 80),
];

const NONE = [
  'No change windows: runs may start at any time.',
  `Define one with: ${CLI} windows create --kind deny --schedule "0 22 * * 5" --duration 4h --time-zone Europe/Berlin --description "<what it is for>"`,
].join('\n');

/** `windows list`: every window, with its openings in the coming week (the next one and a count, in text). */
export async function windowsList(options: { json?: boolean }): Promise<void> {
  await withDeps(async ({ database, config }) => {
    const now = new Date();
    const windows = (await listChangeWindows(database.pool)).map((window) =>
      withOpenings(window, now, config.windowMinuteMs),
    );
    printResult(Boolean(options.json), windows, () =>
      windows.length ? table([HEADER, ...windows.map((window) => windowCells(window, now))]) : NONE,
    );
  });
}
