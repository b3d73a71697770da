// Change windows in the console: the windows page lists every window with its openings in the
// coming week and what they mean now; a manager defines one (refusals kept in the form, 422) and
// deletes one behind a confirmation; a viewer sees no form. The preflight says when a start would
// begin, and a run page says what window its run waits for, and that resuming a run its window
// paused is an override. Through the real app; no worker polls this file's queue.
import type { ChangeWindowRecord } from '../src/runbooks/windows/changeWindows.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { utcTime } from '../src/format.js';
import { ALL_CAPABILITIES, CAPABILITIES } from '../src/runbooks/capabilities.js';
import { WINDOW_CLOSED } from '../src/runbooks/model.js';
import { WINDOW_PAUSER } from '../src/workflows/queries.js';
import { buildApp } from '../src/web/app.js';
import { adminSessionToken, cookieHeader, cookiesOf, createOperator, postForm, signIn } from './support/console.js';
import { LIFECYCLE, RUNBOOK, useRunbookHarness } from './support/harness.js';
import { until } from './support/until.js';

type Session = { cookies: Record<string, string>; csrf: string; email: string };

const HOSTILE = 'Freeze <script>alert(1)</script> for the release';
const WINDOWS = '/system/ops/windows';

/** A window's fields as the form sends them; runbooks as ticked boxes (the field given once a box). */
type WindowForm = Partial<Record<'kind' | 'schedule' | 'duration' | 'timeZone' | 'cutoff' | 'description', string>> & {
  runbooks?: string[];
};

describe('change windows in the console', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 20, seed: 61 }, worker: false });
  let app: FastifyInstance;
  let manager: Session;
  let viewer: Session;
  /** May manage runs but not override a change window. */
  let runsManager: Session;
  let tenant: string;

  const session = async (capabilities: Parameters<typeof createOperator>[1]): Promise<Session> => {
    const operator = await createOperator(h.database, capabilities);
    return { ...(await signIn(app, operator)), email: operator.email };
  };

  beforeAll(async () => {
    app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
    manager = await session(ALL_CAPABILITIES);
    viewer = await session([CAPABILITIES.runsView]);
    runsManager = await session([CAPABILITIES.runsView, CAPABILITIES.runsManage]);
    const { rows } = await h.database.pool.query<{ externalId: string }>(
      `SELECT external_id AS "externalId" FROM tenants WHERE external_id <> 'platform' ORDER BY id LIMIT 1`,
    );
    tenant = rows[0]!.externalId;
  });
  afterEach(() => h.database.pool.query('DELETE FROM change_windows'));
  afterAll(async () => {
    await app?.close();
  });

  const get = (url: string, as: Pick<Session, 'cookies'> = manager, cookies: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { cookie: cookieHeader({ ...as.cookies, ...cookies }) } });
  const create = (form: WindowForm, as: Session = manager, csrf: string | null = as.csrf) => {
    const { runbooks = [], ...fields } = form;
    const pairs: Array<[string, string]> = [
      ...(csrf === null ? [] : [['_csrf', csrf] as [string, string]]),
      ...Object.entries(fields),
      ...runbooks.map((id): [string, string] => ['runbooks', id]),
    ];
    return postForm(app, WINDOWS, pairs, { cookies: as.cookies });
  };
  const windowRows = async () =>
    (
      await h.database.pool.query<Omit<ChangeWindowRecord, 'createdAt'>>(
        `SELECT id::int, kind, schedule, duration_minutes AS "durationMinutes", time_zone AS "timeZone",
                cutoff_minutes AS "cutoffMinutes", runbooks, description, created_by AS "createdBy"
           FROM change_windows ORDER BY id`,
      )
    ).rows;

  /** The id of the one window there is. */
  const onlyWindowId = async () => {
    const rows = await windowRows();
    expect(rows).toHaveLength(1);
    return rows[0]!.id;
  };

  const NIGHTLY: WindowForm = {
    kind: 'allow',
    schedule: '0 22 * * 1-5',
    duration: '4h',
    timeZone: 'Europe/Berlin',
    cutoff: '30m',
    runbooks: [LIFECYCLE],
    description: 'Rebuilds run on weekday nights only',
  };

  it('lists no window at first, and is in the header of whoever may view runs', async () => {
    const page = await get(WINDOWS, viewer);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Change windows</h1>');
    expect(page.body).toContain('No change windows are defined: runs may start at any time.');
    expect(page.body).toContain('<strong>Now:</strong> runs may start.');
    expect(page.body).toContain(`<li><a href="${WINDOWS}">Windows</a></li>`);
  });

  it('defines an allow and a deny window, with their runbooks, and lists their openings of the coming week', async () => {
    const created = await create(NIGHTLY);
    expect(created.statusCode, created.body.slice(0, 500)).toBe(303);
    expect(created.headers.location).toBe(WINDOWS);
    // The page says so once, by the cookie the redirect set.
    const shown = await get(WINDOWS, manager, cookiesOf(created));
    expect(shown.body).toContain('The change window is defined');
    expect((await get(WINDOWS)).body).not.toContain('The change window is defined');

    const deny = await create({
      kind: 'deny',
      schedule: '0 0 * * *',
      duration: '90',
      timeZone: '',
      runbooks: [RUNBOOK, LIFECYCLE],
      description: 'Backups run at midnight',
    });
    expect(deny.statusCode, deny.body.slice(0, 500)).toBe(303);
    expect(await windowRows()).toMatchObject([
      {
        kind: 'allow',
        schedule: '0 22 * * 1-5',
        durationMinutes: 240,
        timeZone: 'Europe/Berlin',
        cutoffMinutes: 30,
        runbooks: [LIFECYCLE],
        description: 'Rebuilds run on weekday nights only',
        createdBy: manager.email,
      },
      // A bare number is minutes; an empty time zone is UTC.
      { kind: 'deny', durationMinutes: 90, timeZone: 'UTC', cutoffMinutes: 0, runbooks: [RUNBOOK, LIFECYCLE] },
    ]);
    const [allowId, denyId] = (await windowRows()).map((row) => row.id);

    const page = (await get(WINDOWS, viewer)).body;
    expect(page).toContain(`<span class="badge window-allow">Allow</span> Window ${allowId}:`);
    expect(page).toContain(`<span class="badge window-deny">Deny</span> Window ${denyId}:`);
    expect(page).toContain('<code>0 22 * * 1-5</code> in Europe/Berlin');
    expect(page).toContain('<dd>4h</dd>');
    expect(page).toContain('<dd>30m before it closes, no new tenant starts</dd>');
    expect(page).toContain('<dd>90m</dd>');
    expect(page).toContain(`by ${manager.email}`);
    // The deny window opens every midnight UTC: the next one is listed, with its end.
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    const end = new Date(midnight.getTime() + 90 * 60_000);
    expect(page).toContain(
      `${utcTime(midnight)}</time> – <time datetime="${end.toISOString()}">${utcTime(end)}</time>`,
    );
    // The allow window's, in UTC and in its own zone: 22:00 to 02:00 the next day in Berlin.
    expect(page).toMatch(/<small>\(\w{3} \d{4}-\d{2}-\d{2} 22:00 – \w{3} 02:00 Europe\/Berlin\)<\/small>/);
    expect(page).toContain('Openings in the coming week');
    // Each runbook's state now: the allow window holds only Rebuild Findings Lifecycle.
    expect(page).toMatch(/<strong>Now, for Rebuild Findings Lifecycle:<\/strong> (runs may start|new tenants wait)/);
  });

  it('refuses a bad schedule, time zone, duration or description with the message beside the form, keeping what was typed', async () => {
    const cases: Array<[WindowForm, string]> = [
      [{ ...NIGHTLY, schedule: '61 * * * *' }, 'is not a cron schedule'],
      [{ ...NIGHTLY, timeZone: 'Mars/Olympus_Mons' }, 'is not an IANA time zone'],
      [{ ...NIGHTLY, description: 'short' }, 'The description must be 10 to 500 characters; it has 5.'],
      [{ ...NIGHTLY, duration: 'forever' }, 'The duration &quot;forever&quot; is not whole minutes'],
      [{ ...NIGHTLY, kind: '' }, 'A window is &quot;allow&quot; or &quot;deny&quot;'],
      [{ ...NIGHTLY, runbooks: ['no.such.runbook'] }, 'Unknown runbook &quot;no.such.runbook&quot;'],
    ];
    for (const [form, message] of cases) {
      const refused = await create(form);
      expect(refused.statusCode, message).toBe(422);
      expect(refused.body).toContain('<p class="notice error" role="alert" id="window-problem">');
      expect(refused.body).toContain(message);
      for (const kept of [form.schedule, form.timeZone, form.duration, form.cutoff]) {
        expect(refused.body).toContain(`value="${kept}"`);
      }
      expect(refused.body).toContain(`>${form.description}</textarea>`);
      if (form.runbooks?.includes(LIFECYCLE)) expect(refused.body).toContain(`value="${LIFECYCLE}" checked`);
    }
    expect((await create({ ...NIGHTLY, duration: 'forever' })).body).toContain(
      'name="duration" maxlength="40" required autocomplete="off" placeholder="4h" value="forever" aria-invalid=true',
    );
    expect(await windowRows()).toEqual([]);
  });

  it('shows a viewer without platform.ops.windows.manage no form, and refuses their POSTs', async () => {
    await create(NIGHTLY);
    const id = await onlyWindowId();
    const page = await get(WINDOWS, viewer);
    expect(page.body).not.toContain(`action="${WINDOWS}"`);
    expect(page.body).not.toContain(`${WINDOWS}/${id}/delete`);
    expect(page.body).toContain(
      'Defining and deleting change windows needs the capability platform.ops.windows.manage.',
    );

    const refused = await create({ ...NIGHTLY, description: 'A viewer tries to define one' }, viewer);
    expect(refused.statusCode).toBe(403);
    expect((await get(`${WINDOWS}/${id}/delete`, viewer)).statusCode).toBe(403);
    const deleted = await postForm(app, `${WINDOWS}/${id}/delete`, { _csrf: viewer.csrf }, { cookies: viewer.cookies });
    expect(deleted.statusCode).toBe(403);
    expect(await windowRows()).toHaveLength(1);
  });

  it('refuses a POST without the CSRF token of the session', async () => {
    for (const csrf of [null, 'forged', viewer.csrf]) {
      const refused = await create(NIGHTLY, manager, csrf);
      expect(refused.statusCode, String(csrf)).toBe(403);
    }
    await create(NIGHTLY);
    const id = await onlyWindowId();
    const forged = await postForm(app, `${WINDOWS}/${id}/delete`, {}, { cookies: manager.cookies });
    expect(forged.statusCode).toBe(403);
    expect(await windowRows()).toHaveLength(1);
  });

  it('deletes a window behind its confirmation, audited; an unknown window is a 404', async () => {
    await create(NIGHTLY);
    const id = await onlyWindowId();
    expect((await get(WINDOWS)).body).toContain(`<a href="${WINDOWS}/${id}/delete" role="button"`);
    const confirm = await get(`${WINDOWS}/${id}/delete`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain(`<h1>Delete window ${id}?</h1>`);
    expect(confirm.body).toContain(`<form method="post" action="${WINDOWS}/${id}/delete"`);

    const deleted = await postForm(
      app,
      `${WINDOWS}/${id}/delete`,
      { _csrf: manager.csrf },
      { cookies: manager.cookies },
    );
    expect(deleted.statusCode).toBe(303);
    expect(deleted.headers.location).toBe(WINDOWS);
    expect((await get(WINDOWS, manager, cookiesOf(deleted))).body).toContain('The change window is deleted');
    expect(await windowRows()).toEqual([]);
    const audit = await h.database.pool.query(
      `SELECT actor_label FROM audit_events WHERE action = 'change_window.deleted' AND target_id = $1`,
      [String(id)],
    );
    expect(audit.rows).toEqual([{ actor_label: manager.email }]);

    for (const unknown of [String(id), '999999', 'abc', '-1']) {
      expect((await get(`${WINDOWS}/${unknown}/delete`)).statusCode, unknown).toBe(404);
      const post = await postForm(
        app,
        `${WINDOWS}/${unknown}/delete`,
        { _csrf: manager.csrf },
        { cookies: manager.cookies },
      );
      expect(post.statusCode, unknown).toBe(404);
    }
  });

  it('is an unknown page to an /admin session', async () => {
    const response = await get(WINDOWS, { cookies: { admin_session: await adminSessionToken(h.database) } });
    expect(response.statusCode).toBe(404);
  });

  it('escapes a hostile description on the list, the confirmation and a refused form', async () => {
    expect((await create({ ...NIGHTLY, description: HOSTILE })).statusCode).toBe(303);
    const id = await onlyWindowId();
    for (const body of [
      (await get(WINDOWS)).body,
      (await get(`${WINDOWS}/${id}/delete`)).body,
      (await create({ ...NIGHTLY, schedule: 'never', description: HOSTILE })).body,
    ]) {
      expect(body).toContain('Freeze &lt;script&gt;alert(1)&lt;/script&gt; for the release');
      expect(body).not.toContain('<script>alert(1)');
    }
  });

  it('the preflight says when a start would begin: at once, or after the deny window that covers now', async () => {
    const preflight = () =>
      postForm(
        app,
        `/system/ops/runbooks/${LIFECYCLE}/preflight`,
        { _csrf: manager.csrf, scope: 'tenant', tenant },
        { cookies: manager.cookies },
      );
    const open = await preflight();
    expect(open.statusCode, open.body.slice(0, 500)).toBe(200);
    expect(open.body).toContain('<strong>Change windows:</strong> Starts at once.');

    // A one-off freeze that began a few seconds ago and lasts an hour.
    const began = new Date(Date.now() - 5_000).toISOString().slice(0, 19);
    const freeze = await create({
      kind: 'deny',
      schedule: began,
      duration: '60',
      timeZone: 'UTC',
      description: 'Freeze while the release goes out',
    });
    expect(freeze.statusCode, freeze.body.slice(0, 500)).toBe(303);
    const id = await onlyWindowId();
    expect((await get(WINDOWS)).body).toContain('In force now, until ');

    const held = await preflight();
    expect(held.statusCode).toBe(200);
    const opensAt = utcTime(new Date(new Date(`${began}Z`).getTime() + 60 * h.config.windowMinuteMs));
    expect(held.body).toContain(
      `<strong>Change windows:</strong> Would wait for the window that opens at ${opensAt} (deny window ${id} (${began}, UTC)).`,
    );
    expect(held.body).toContain('class="window-start notice paused"');
  });

  it('the run page says which window a run waits for; resuming a run its window paused is an override offered to those who may', async () => {
    const { run } = await h.start({ kind: 'all_tenants' });
    const runUrl = `/system/ops/runs/${run.id}`;
    const opensAt = new Date(Date.now() + 3_600_000);
    await h.database.pool.query('UPDATE operation_runs SET window_opens_at = $2 WHERE id = $1', [run.id, opensAt]);
    const waiting = await until(
      async () => (await get(runUrl, viewer)).body,
      (body) => body.includes('Waits for the change window that opens at'),
      'the run page to say the run waits for its window',
    );
    expect(waiting).toContain(`Queued: waits for the window that opens at ${utcTime(opensAt)}.`);
    expect(waiting).toContain(`<time datetime="${opensAt.toISOString()}"`);

    // Paused by its window at the cutoff, as the workflow records it.
    await h.database.pool.query(
      `UPDATE operation_runs SET status = 'running', started_at = now(), paused_at = now(), paused_by = $2, pause_reason = $3 WHERE id = $1`,
      [run.id, WINDOW_PAUSER, WINDOW_CLOSED],
    );
    const paused = await until(
      async () => (await get(runUrl)).body,
      (body) => body.includes('Paused by its change window'),
      'the run page to say the window paused the run',
    );
    expect(paused).toContain(`goes on when the window opens at ${utcTime(opensAt)}`);
    expect(paused).toContain(`href="${runUrl}/actions/resume"`);
    expect(paused).toContain('Resume (override the window)…');
    const confirm = await get(`${runUrl}/actions/resume`);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('Override the change window and resume the run?');
    expect(confirm.body).toContain('it needs the capability platform.ops.windows.override');

    // A manager of runs without the override sees why there is no Resume, and is refused it.
    const theirs = (await get(runUrl, runsManager)).body;
    expect(theirs).not.toContain(`href="${runUrl}/actions/resume"`);
    expect(theirs).toContain(`href="${runUrl}/actions/cancel"`);
    expect(theirs).toContain('which needs the capability platform.ops.windows.override.');
    const page = await get(`${runUrl}/actions/resume`, runsManager);
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('platform.ops.windows.override');
    const post = await postForm(
      app,
      `${runUrl}/actions/resume`,
      { _csrf: runsManager.csrf, reason: 'The release is done, go on now' },
      { cookies: runsManager.cookies },
    );
    expect(post.statusCode).toBe(403);
    expect(post.body).toContain('platform.ops.windows.override');
  });
});
