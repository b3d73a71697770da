import { Option, type Command } from 'commander';
import { lazyAction } from '../lazy.js';
import { minutesOption, wholeNumber } from '../options.js';

/** `--runbook a --runbook b`: every one given. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function registerWindowsCommands(program: Command): void {
  const windows = program
    .command('windows')
    .description(
      'Change windows: when runs may start tenants (allow windows) and when not (deny windows, which win); ' +
        'with none, runs start at any time',
    );

  windows
    .command('list')
    .description('Every change window, with its next openings in the coming week')
    .option('--json', 'print machine-readable JSON (with every opening in the coming week)')
    .action(lazyAction(async () => (await import('../actions/windowsList.js')).windowsList));

  windows
    .command('create')
    .description(
      'Define a change window: once there is an allow window, runs start tenants only inside allow windows; ' +
        'inside a deny window they start none. A running run pauses where its windows close and goes on where they open',
    )
    .addOption(
      new Option('--kind <kind>', 'allow: runs may start tenants inside it; deny: they may not')
        .choices(['allow', 'deny'])
        .makeOptionMandatory(),
    )
    .requiredOption(
      '--schedule <when>',
      'when it opens: a cron pattern in its time zone ("0 22 * * 1-5": weekdays at 22:00), ' +
        'or one date-time for a one-off window (2026-12-24T00:00:00)',
    )
    .requiredOption(
      '--duration <minutes>',
      'how long it stays open each time: minutes (90), or 90m, 4h, 1d; at most a week',
      minutesOption,
    )
    .requiredOption('--time-zone <zone>', 'the IANA time zone the schedule is read in: Europe/Berlin, UTC')
    .option(
      '--cutoff <minutes>',
      'allow: no tenant starts this long before it closes; deny: none starts this long before it opens ' +
        '(minutes, or 30m, 1h; default none)',
      minutesOption,
    )
    .option(
      '--runbook <name>',
      'only runs of this runbook (its CLI name or id); repeat for more (default: every runbook)',
      collect,
    )
    .requiredOption('--description <text>', 'what the window is for (10–500 characters); audited, and listed')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/windowsManage.js')).windowsCreate));

  windows
    .command('delete')
    .description('Delete a change window; runs waiting for it look again within a minute')
    .argument('<id>', 'the window id (windows list shows it)', wholeNumber(1))
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/windowsManage.js')).windowsDelete));
}
