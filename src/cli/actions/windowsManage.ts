import { createChangeWindow, deleteChangeWindow } from '../../runbooks/windows/changeWindows.js';
import { withDeps } from '../deps.js';
import { CLI, withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printResult } from '../output.js';
import { printable } from '../printable.js';
import { openingLines, windowSummary, withOpenings } from './windowsText.js';

interface CreateOptions {
  kind: 'allow' | 'deny';
  schedule: string;
  /** Whole minutes, as `minutesOption` parsed them. */
  duration: number;
  timeZone: string;
  cutoff?: number;
  runbook?: string[];
  description: string;
  json?: boolean;
}

/** `windows create`: the engine checks and audits the window; printed with its openings in the coming week. */
export async function windowsCreate(options: CreateOptions): Promise<void> {
  await withDeps(async ({ database, config }) => {
    const created = await createChangeWindow(database.pool, {
      initiator: cliInitiator(),
      window: {
        kind: options.kind,
        schedule: options.schedule,
        durationMinutes: options.duration,
        timeZone: options.timeZone,
        cutoffMinutes: options.cutoff,
        runbooks: options.runbook,
        description: options.description,
      },
      minuteMs: config.windowMinuteMs,
    });
    const now = new Date();
    const shown = withOpenings(created, now, config.windowMinuteMs);
    printResult(Boolean(options.json), shown, () =>
      [
        `Created ${windowSummary(created)}.`,
        `  ${printable(created.description)}`,
        ...openingLines(shown, now),
        `Delete it with: ${CLI} windows delete ${created.id}`,
      ].join('\n'),
    );
  });
}

/** `windows delete`: audited with what the window was. */
export async function windowsDelete(id: number, options: { json?: boolean }): Promise<void> {
  await withDeps(async ({ database }) => {
    const deleted = await deleteChangeWindow(database.pool, { initiator: cliInitiator(), id }).catch(
      (error: unknown) => {
        throw withCliHint(error);
      },
    );
    printResult(
      Boolean(options.json),
      deleted,
      () => `Deleted ${windowSummary(deleted)}. Runs waiting for it look again within a minute.`,
    );
  });
}
