// `windows` at the CLI: change windows defined, listed with their openings in the coming week,
// refused in one line for what is wrong with them, and deleted, audited; `start-runbook` says
// whether a run would start at once or wait for a window. Real CLI processes on a database of
// this file's own (no Temporal: nothing here starts a run).
import type { ChangeWindowRecord } from '../src/runbooks/windows/changeWindows.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { runCli } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const DESCRIPTION = 'Weeknight maintenance for the lifecycle rebuild';

interface ListedWindow extends Omit<ChangeWindowRecord, 'createdAt'> {
  openings: Array<{ start: string; end: string }>;
}

/** The weekday and time of day of an instant in a time zone: "Mon 22:00". */
const localTime = (iso: string, timeZone: string) =>
  new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  })
    .format(new Date(iso))
    .replace(',', '');

describe('tsx src/cli windows', { timeout: 180_000 }, () => {
  let database: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url };
    await seedDemoData(database.pool, { tenants: 2, findingsPerTenant: 10, seed: 211 });
  });

  afterAll(async () => {
    await database?.destroy();
  });

  const windowCount = async () =>
    (await database.pool.query('SELECT count(*)::int AS n FROM change_windows')).rows[0].n as number;

  /** `windows create` with `--json`: the window it defined, with its openings. */
  const create = async (args: string[]): Promise<ListedWindow> => {
    const result = await runCli(['windows', 'create', ...args, '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as ListedWindow;
  };

  it('with none, says runs may start at any time and how to define one', async () => {
    const text = await runCli(['windows', 'list'], env);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(
      /^No change windows: runs may start at any time\.\nDefine one with: npm run cli -- windows create --kind deny /,
    );
    const json = await runCli(['windows', 'list', '--json'], env);
    expect(JSON.parse(json.stdout)).toEqual([]);
  });

  it('creates allow and deny windows, lists them with their openings, and deletes them, audited', async () => {
    const allowText = await runCli(
      [
        'windows',
        'create',
        '--kind',
        'allow',
        '--schedule',
        '0 22 * * 1-5',
        '--duration',
        '4h',
        '--time-zone',
        'Europe/Berlin',
        '--cutoff',
        '30',
        '--runbook',
        'findings-lifecycle',
        '--description',
        DESCRIPTION,
      ],
      env,
    );
    expect(allowText.code, allowText.stderr).toBe(0);
    expect(allowText.stdout).toMatch(
      /^Created allow window (\d+): "0 22 \* \* 1-5" in Europe\/Berlin, lasting 4h, cutoff 30m, for runbooks findings-lifecycle\.\n/,
    );
    expect(allowText.stdout).toContain('Openings in the coming week:\n');
    expect(allowText.stdout).toMatch(/Delete it with: npm run cli -- windows delete \d+\n$/);

    const deny = await create([
      '--kind',
      'deny',
      '--schedule',
      '0 3 * * *',
      '--duration',
      '90',
      '--time-zone',
      'UTC',
      '--cutoff',
      '1h',
      '--runbook',
      'findings-lifecycle',
      '--runbook',
      'close-stale-findings',
      '--description',
      'No rebuilds while the nightly backup runs',
    ]);
    expect(deny).toMatchObject({
      kind: 'deny',
      schedule: '0 3 * * *',
      durationMinutes: 90,
      timeZone: 'UTC',
      cutoffMinutes: 60,
      // Stored by id, whichever name was given.
      runbooks: ['findings.lifecycle.rebuild', 'findings.stale.close'],
      createdBy: expect.stringMatching(/^cli:/),
    });
    // Every day at 03:00 UTC for 90 minutes: seven in a week, and an eighth while one is open now.
    expect(deny.openings.length).toBeGreaterThanOrEqual(7);
    expect(deny.openings.length).toBeLessThanOrEqual(8);
    for (const opening of deny.openings) {
      expect(opening.start).toMatch(/T03:00:00\.000Z$/);
      expect(Date.parse(opening.end) - Date.parse(opening.start)).toBe(90 * 60_000);
    }

    const listed = await runCli(['windows', 'list', '--json'], env);
    expect(listed.code, listed.stderr).toBe(0);
    const windows = JSON.parse(listed.stdout) as ListedWindow[];
    expect(windows.map((window) => window.kind)).toEqual(['allow', 'deny']);
    const [allow] = windows;
    expect(allow).toMatchObject({
      schedule: '0 22 * * 1-5',
      durationMinutes: 240,
      timeZone: 'Europe/Berlin',
      cutoffMinutes: 30,
      description: DESCRIPTION,
    });
    // Weeknights at 22:00 in Berlin, four hours each: five in a week, and a sixth while one is open now.
    expect(allow!.openings.length).toBeGreaterThanOrEqual(5);
    expect(allow!.openings.length).toBeLessThanOrEqual(6);
    for (const opening of allow!.openings) {
      expect(localTime(opening.start, 'Europe/Berlin')).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 22:00$/);
      expect(Date.parse(opening.end) - Date.parse(opening.start)).toBe(240 * 60_000);
    }
    expect(windows[1]).toEqual({ ...deny, createdAt: expect.any(String) });

    const text = await runCli(['windows', 'list'], env);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +KIND +SCHEDULE +TIME ZONE +DURATION +CUTOFF +RUNBOOKS +NEXT OPENING +DESCRIPTION$/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${allow!.id} +allow +0 22 \\* \\* 1-5 +Europe/Berlin +4h +30m +findings-lifecycle +` +
          `(now until )?\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\(${allow!.openings.length} this week\\) +${DESCRIPTION}$`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^${deny.id} +deny +0 3 \\* \\* \\* +UTC +90m +1h +findings-lifecycle, close-stale-findings +` +
          `.+ UTC \\(${deny.openings.length} this week\\) +No rebuilds while the nightly backup runs$`,
      ),
    );

    const deleted = await runCli(['windows', 'delete', String(allow!.id)], env);
    expect(deleted).toMatchObject({ code: 0, stderr: '' });
    expect(deleted.stdout).toBe(
      `Deleted allow window ${allow!.id}: "0 22 * * 1-5" in Europe/Berlin, lasting 4h, cutoff 30m, for runbooks findings-lifecycle. ` +
        'Runs waiting for it look again within a minute.\n',
    );
    const deletedJson = await runCli(['windows', 'delete', String(deny.id), '--json'], env);
    expect(deletedJson.code, deletedJson.stderr).toBe(0);
    expect(JSON.parse(deletedJson.stdout)).toMatchObject({ id: deny.id, kind: 'deny' });
    expect(await windowCount()).toBe(0);

    const { rows } = await database.pool.query(
      `SELECT action, target_id AS "targetId", actor_label AS "actorLabel" FROM audit_events
        WHERE target_kind = 'change_window' ORDER BY id`,
    );
    expect(rows).toEqual(
      [
        ['change_window.created', allow!.id],
        ['change_window.created', deny.id],
        ['change_window.deleted', allow!.id],
        ['change_window.deleted', deny.id],
      ].map(([action, id]) => ({ action, targetId: String(id), actorLabel: expect.stringMatching(/^cli:/) })),
    );
  });

  const valid = {
    '--kind': 'allow',
    '--schedule': '0 22 * * 1-5',
    '--duration': '60',
    '--time-zone': 'UTC',
    '--description': DESCRIPTION,
  };
  const args = (changes: Record<string, string>, extra: string[] = []) => [
    'windows',
    'create',
    ...Object.entries({ ...valid, ...changes }).flat(),
    ...extra,
  ];

  it.each([
    ['a bad cron schedule', args({ '--schedule': '61 * * * *' }), /^error: "61 \* \* \* \*" is not a cron schedule \(/],
    [
      'an unknown time zone',
      args({ '--time-zone': 'Mars/Olympus' }),
      /^error: "Mars\/Olympus" is not an IANA time zone /,
    ],
    [
      'an allow cutoff as long as the window',
      args({}, ['--cutoff', '1h']),
      /^error: The cutoff must be a whole number of minutes from 0 to 59; it is 60\.$/,
    ],
    [
      'an unknown runbook',
      args({}, ['--runbook', 'no-such-runbook']),
      /^error: Unknown runbook "no-such-runbook"\. Known runbooks: /,
    ],
    [
      'a short description',
      args({ '--description': 'freeze' }),
      /^error: The description must be 10 to 500 characters; it has 6\. Say what the window is for\.$/,
    ],
    [
      'a kind other than allow or deny',
      args({ '--kind': 'maybe' }),
      /^error: option '--kind <kind>' argument 'maybe' is invalid\. Allowed choices are allow, deny\.$/,
    ],
    [
      'a duration that is not whole minutes',
      args({ '--duration': '90s' }),
      /^error: option '--duration <minutes>' argument '90s' is invalid\. expected whole minutes: /,
    ],
    [
      'an id that names no window',
      ['windows', 'delete', '999999'],
      /^error: No change window has the id 999999\. List them with: npm run cli -- windows list$/,
    ],
  ])('refuses %s in one line with exit 2, writing nothing', async (_name, command, message) => {
    const result = await runCli(command, env);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
    expect(await windowCount()).toBe(0);
  });

  it('start-runbook says after its preflight that a run would wait for the deny window that covers now', async () => {
    const preflight = ['start-runbook', 'findings-lifecycle', '--tenant', 'tenant-00001', '--preflight-only'];
    const before = await runCli(preflight, env);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/\nStarts at once\.\n$/);

    // A one-off freeze from a few seconds ago, for an hour.
    const start = new Date(Date.now() - 5000).toISOString().slice(0, 19);
    const freeze = await create([
      '--kind',
      'deny',
      '--schedule',
      start,
      '--duration',
      '1h',
      '--time-zone',
      'UTC',
      '--runbook',
      'findings-lifecycle',
      '--description',
      'Freeze while the incident is open',
    ]);
    const ends = new Date(Date.parse(`${start}Z`) + 3600_000);
    expect(freeze.openings).toEqual([{ start: `${start}.000Z`, end: ends.toISOString() }]);

    const text = await runCli(preflight, env);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^Preflight [0-9a-f-]{36} — /);
    const endsText = `${ends.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
    expect(text.stdout).toContain(
      `\nWould wait for the window that opens at ${endsText} (deny window ${freeze.id} (${start}, UTC)).\n`,
    );

    const json = await runCli([...preflight, '--json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toMatchObject({
      report: { runbook: 'findings.lifecycle.rebuild', tenantsInScope: 1 },
      window: { open: false, opensAt: ends.toISOString(), reason: `deny window ${freeze.id} (${start}, UTC)` },
    });

    // A start says the same after its preflight; here Temporal is out of reach, so nothing starts.
    const started = await runCli([...preflight.slice(0, -1), '--reason', 'Rebuild after the rules release'], {
      ...env,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect({ code: started.code, stdout: started.stdout }).toEqual({ code: 3, stdout: '' });
    expect(started.stderr).toMatch(/^Preflight [0-9a-f-]{36} — /);
    expect(started.stderr).toContain(
      `\nWould wait for the window that opens at ${endsText} (deny window ${freeze.id} (${start}, UTC)).\nerror: Cannot reach Temporal at 127.0.0.1:1 `,
    );

    // Another runbook's runs are not held by it.
    const other = await runCli(
      ['start-runbook', 'tenant-finding-stats', '--tenant', 'tenant-00001', '--preflight-only', '--json'],
      env,
    );
    expect(other.code, other.stderr).toBe(0);
    expect(JSON.parse(other.stdout).window).toEqual({ open: true, until: null });

    const deleted = await runCli(['windows', 'delete', String(freeze.id)], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    const after = await runCli(preflight, env);
    expect(after.stdout).toMatch(/\nStarts at once\.\n$/);
  });
});
