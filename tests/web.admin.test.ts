import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../src/auth/sessions.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { RunbookRefusal } from '../src/runbooks/refusal.js';
import { startRunbook } from '../src/runbooks/start.js';
import { buildApp } from '../src/web/app.js';
import { durationText } from '../src/web/routes/admin/findings/views.js';
import {
  consoleApp,
  cookieHeader,
  cookiesOf,
  createCustomer,
  createCustomerTenant,
  createOperator,
  fieldOf,
  loginForm,
  postForm,
  signIn,
  signInCustomer,
} from './support/console.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const HOSTILE = '<script>alert("x")</script>';
const TRIGGER = '/admin/maintenance/findings-lifecycle';

type Session = { cookies: Record<string, string>; csrf: string };

const get = (app: FastifyInstance, url: string, cookies: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(cookies) } });

/** Adds `count` findings to a tenant, titled `<prefix> 1` … `<prefix> count` in id order, statuses in turn. */
async function addFindings(
  database: TestDatabase,
  tenantId: number,
  count: number,
  prefix: string,
  statuses = ['new', 'triaged', 'resolved'],
) {
  await database.pool.query(
    `INSERT INTO findings (tenant_id, fingerprint, title, severity, status, first_seen_at, last_seen_at, due_at, resolved_at, created_at, updated_at)
     SELECT $1, $2 || '-' || i, $2 || ' ' || i, 'high', ($4::text[])[1 + (i - 1) % cardinality($4::text[])],
            timestamptz '2024-01-01' + i * interval '1 hour', timestamptz '2024-02-01' + i * interval '1 hour',
            timestamptz '2024-03-01', NULL, now(), now()
       FROM generate_series(1, $3::int) AS i ORDER BY i`,
    [tenantId, prefix, count, statuses],
  );
}

describe('customer sign-in at /admin/login', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let customer: Awaited<ReturnType<typeof createCustomer>>;

  const auditRows = async (email: string) =>
    (
      await database.pool.query<{ action: string; metadata: Record<string, unknown>; target_kind: string }>(
        `SELECT action, metadata, target_kind FROM audit_events WHERE metadata ->> 'email' = $1 OR actor_label = $1 ORDER BY id`,
        [email],
      )
    ).rows;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    customer = await createCustomer(database);
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  it('serves the customer form, its CSRF token bound to a login cookie on /admin/login only', async () => {
    const response = await get(app, '/admin/login');
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('action="/admin/login"');
    expect(response.body).not.toContain('Platform operators only');
    const cookie = response.cookies.find((c) => c.name === 'admin_login_csrf')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin/login', secure: true });
  });

  it('signs in: a 303 to the findings, an HttpOnly SameSite=Strict Secure cookie on /admin, an admin session of the user', async () => {
    const form = await loginForm(app, {}, 'admin');
    const response = await postForm(
      app,
      '/admin/login',
      { email: customer.email.toUpperCase(), password: customer.password, _csrf: form.csrf },
      { cookies: form.cookies },
    );
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/admin/findings');
    const cookie = response.cookies.find((c) => c.name === 'admin_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin', secure: true });
    expect(cookiesOf(response).system_session).toBeUndefined();
    const { rows } = await database.pool.query(
      'SELECT plane, user_id::int AS "userId", platform_user_id FROM sessions WHERE token_hash = $1',
      [hashSessionToken(cookie.value)],
    );
    expect(rows).toEqual([{ plane: 'admin', userId: customer.id, platform_user_id: null }]);
    const page = await get(app, '/admin/findings', { admin_session: cookie.value });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(customer.email);
    expect((await auditRows(customer.email)).at(-1)).toMatchObject({
      action: 'auth.login_succeeded',
      metadata: { plane: 'admin' },
      target_kind: 'user',
    });
  });

  it('answers a wrong password and an unknown email alike, audits both and never stores the password', async () => {
    const unknown = `nobody-${Date.now()}@example.com`;
    const answers = [];
    for (const email of [customer.email, unknown]) {
      const form = await loginForm(app, {}, 'admin');
      answers.push(
        await postForm(
          app,
          '/admin/login',
          { email, password: 'Wrong-Password-123', _csrf: form.csrf },
          { cookies: form.cookies },
        ),
      );
    }
    for (const answer of answers) {
      expect(answer.statusCode).toBe(401);
      expect(answer.body).toContain('The email or password is not right.');
      expect(cookiesOf(answer).admin_session).toBeUndefined();
    }
    expect((await auditRows(customer.email)).at(-1)).toMatchObject({
      action: 'auth.login_failed',
      metadata: { plane: 'admin', reason: 'wrong_password' },
    });
    expect((await auditRows(unknown)).at(-1)).toMatchObject({
      action: 'auth.login_failed',
      metadata: { plane: 'admin', reason: 'unknown_email' },
    });
    const { rows } = await database.pool.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE audit_events::text LIKE '%Wrong-Password-123%'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('an operator cannot sign in to /admin, nor a customer to /system', async () => {
    const operator = await createOperator(database, ALL_CAPABILITIES);
    const adminForm = await loginForm(app, {}, 'admin');
    const asOperator = await postForm(
      app,
      '/admin/login',
      { email: operator.email, password: operator.password, _csrf: adminForm.csrf },
      { cookies: adminForm.cookies },
    );
    expect(asOperator.statusCode).toBe(401);
    const systemForm = await loginForm(app);
    const asCustomer = await postForm(
      app,
      '/system/login',
      { email: customer.email, password: customer.password, _csrf: systemForm.csrf },
      { cookies: systemForm.cookies },
    );
    expect(asCustomer.statusCode).toBe(401);
  });

  it('refuses a POST without a valid CSRF token with 403, audited', async () => {
    const form = await loginForm(app, {}, 'admin');
    const systemForm = await loginForm(app);
    const tokens: Array<Record<string, string>> = [{}, { _csrf: 'forged' }, { _csrf: systemForm.csrf }];
    for (const fields of tokens) {
      const response = await postForm(
        app,
        '/admin/login',
        { email: customer.email, password: customer.password, ...fields },
        { cookies: { ...form.cookies, ...systemForm.cookies } },
      );
      expect(response.statusCode).toBe(403);
      expect(cookiesOf(response).admin_session).toBeUndefined();
    }
    const refused = (await auditRows(customer.email)).filter((row) => row.metadata.reason === 'csrf');
    expect(refused).toHaveLength(3);
    expect(refused.every((row) => row.action === 'auth.login_failed' && row.metadata.plane === 'admin')).toBe(true);
  });

  it.each([
    ['/admin/findings?status=new', '/admin/findings?status=new'],
    ['/system/ops/runs', '/admin/findings'],
    ['//evil.example', '/admin/findings'],
    ['/admin//evil.example', '/admin/findings'],
    ['/admin/login', '/admin/findings'],
  ])('next %j goes to %j', async (next, expected) => {
    const form = await loginForm(app, {}, 'admin');
    const response = await postForm(
      app,
      '/admin/login',
      { email: customer.email, password: customer.password, _csrf: form.csrf, next },
      { cookies: form.cookies },
    );
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe(expected);
  });

  it('signing out deletes the session and clears the cookie; the old token is signed out', async () => {
    // A customer of its own: the one above has used up its sign-in attempts for the minute.
    const { cookies, csrf } = await signInCustomer(app, await createCustomer(database));
    const response = await postForm(app, '/admin/logout', { _csrf: csrf }, { cookies });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/admin/login');
    expect(response.cookies.find((c) => c.name === 'admin_session')).toMatchObject({ value: '', path: '/admin' });
    const { rows } = await database.pool.query('SELECT 1 FROM sessions WHERE token_hash = $1', [
      hashSessionToken(cookies.admin_session),
    ]);
    expect(rows).toHaveLength(0);
    const after = await get(app, '/admin/findings', cookies);
    expect(after.statusCode).toBe(303);
    expect(after.headers.location).toBe('/admin/login?next=%2Fadmin%2Ffindings');
  });

  it('a deactivated customer is signed out', async () => {
    const someone = await createCustomer(database);
    const { cookies } = await signInCustomer(app, someone);
    await database.pool.query('UPDATE users SET is_active = false WHERE id = $1', [someone.id]);
    await app.changeFeed.caughtUp();
    expect((await get(app, '/admin/findings', cookies)).statusCode).toBe(303);
  });
});

describe('customer sign-in throttle: 10 attempts a minute per address and email', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.destroy();
  });

  const attempt = async (
    app: FastifyInstance,
    url: '/admin/login' | '/system/login',
    email: string,
    password = 'wrong password',
  ) => {
    const form = await loginForm(app, {}, url === '/admin/login' ? 'admin' : 'system');
    return postForm(app, url, { email, password, _csrf: form.csrf }, { cookies: form.cookies });
  };

  it('answers the 11th with 429, audited; another email, and the /system sign-in, go on', async () => {
    const app = await consoleApp(database);
    try {
      const customer = await createCustomer(database);
      for (let i = 0; i < 10; i++) expect((await attempt(app, '/admin/login', customer.email)).statusCode).toBe(401);
      const throttled = await attempt(app, '/admin/login', customer.email, customer.password);
      expect(throttled.statusCode).toBe(429);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      expect(cookiesOf(throttled).admin_session).toBeUndefined();
      expect((await attempt(app, '/admin/login', `other-${Date.now()}@example.com`)).statusCode).toBe(401);
      // The planes count apart: the same address and email on /system is not throttled.
      expect((await attempt(app, '/system/login', customer.email)).statusCode).toBe(401);
      const { rows } = await database.pool.query(
        `SELECT metadata FROM audit_events WHERE action = 'auth.login_throttled' AND metadata ->> 'email' = $1`,
        [customer.email],
      );
      expect(rows.map((row) => row.metadata)).toEqual([
        expect.objectContaining({ reason: 'throttled', plane: 'admin' }),
      ]);
    } finally {
      await app.close();
    }
  });

  it('counts attempts without a CSRF token too', async () => {
    const app = await consoleApp(database);
    try {
      const email = `nocsrf-${Date.now()}@example.com`;
      for (let i = 0; i < 10; i++)
        expect((await postForm(app, '/admin/login', { email, password: 'x' })).statusCode).toBe(403);
      expect((await postForm(app, '/admin/login', { email, password: 'x' })).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});

describe('the findings of the signed-in customer', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let mine: Session;
  let other: Session;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    const acme = await createCustomerTenant(database, 'Acme & Sons');
    const rival = await createCustomerTenant(database, 'Rival');
    await addFindings(database, acme.id, 120, 'Acme finding', ['new', 'new', 'triaged']);
    await addFindings(database, rival.id, 5, 'Rival secret');
    await database.pool.query(
      `INSERT INTO findings (tenant_id, fingerprint, title, severity, status, created_at, updated_at) VALUES ($1, 'hostile', $2, 'low', NULL, now(), now())`,
      [rival.id, `${HOSTILE} rival`],
    );
    await database.pool.query(
      `INSERT INTO findings (tenant_id, fingerprint, title, severity, status, created_at, updated_at) VALUES ($1, 'hostile', $2, 'critical', 'open', now(), now())`,
      [acme.id, HOSTILE],
    );
    mine = await signInCustomer(app, await createCustomer(database, acme.externalId));
    other = await signInCustomer(app, await createCustomer(database, rival.externalId));
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  const titles = (html: string) =>
    [...html.matchAll(/<td>((?:Acme finding|Rival secret) \d+)<\/td>/g)].map((match) => match[1]!);
  const olderHref = (html: string) => html.match(/<a href="([^"]*)">Older<\/a>/)?.[1]?.replaceAll('&amp;', '&') ?? null;

  it('GET /admin goes to the findings', async () => {
    const response = await get(app, '/admin', mine.cookies);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/admin/findings');
  });

  it("shows the own tenant's findings only, newest first, with a hostile title escaped", async () => {
    const page = await get(app, '/admin/findings', mine.cookies);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Findings of Acme &amp; Sons');
    expect(page.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page.body).not.toContain(HOSTILE);
    expect(page.body).not.toContain('Rival');
    expect(page.body).toContain('<td>critical</td>');
    expect(page.body).toContain(
      '<time datetime="2024-03-01T00:00:00.000Z" title="2024-03-01T00:00:00.000Z">2024-03-01</time>',
    );
    // The hostile finding is the newest; then the 120 in reverse order of creation.
    expect(titles(page.body).slice(0, 3)).toEqual(['Acme finding 120', 'Acme finding 119', 'Acme finding 118']);
    const theirs = await get(app, '/admin/findings', other.cookies);
    expect(titles(theirs.body)).toEqual([
      'Rival secret 5',
      'Rival secret 4',
      'Rival secret 3',
      'Rival secret 2',
      'Rival secret 1',
    ]);
    expect(theirs.body).not.toContain('Acme');
    expect(theirs.body).not.toContain('<a href="/admin/findings?before=');
  });

  it("shows the own tenant's statistics above the findings, or that they have not been computed yet", async () => {
    const figures = (html: string) =>
      [...html.matchAll(/<dt>([^<]*)<\/dt><dd>([^<]*)<\/dd>/g)].map((m) => [m[1], m[2]]);
    const before = await get(app, '/admin/findings', mine.cookies);
    expect(before.body).toContain('Statistics have not been computed yet.');
    expect(figures(before.body)).toEqual([]);

    const { rows } = await database.pool.query(`SELECT id::int FROM tenants WHERE name = 'Acme & Sons'`);
    await database.pool.query(
      `INSERT INTO tenant_finding_stats (tenant_id, open_critical, open_high, open_medium, open_low, overdue, resolved_30d,
                                         mean_time_to_resolve_seconds, computed_at)
       VALUES ($1, 1234, 12, 3, 0, 5, 9, 273659, '2026-03-01T12:34:56.789Z')`,
      [rows[0].id],
    );
    const page = await get(app, '/admin/findings', mine.cookies);
    expect(figures(page.body)).toEqual([
      ['Open critical', '1,234'],
      ['Open high', '12'],
      ['Open medium', '3'],
      ['Open low', '0'],
      ['Overdue', '5'],
      ['Resolved in the last 30 days', '9'],
      ['Mean time to resolve', '3 d 4 h'],
    ]);
    expect(page.body).toContain(
      'Computed <time datetime="2026-03-01T12:34:56.789Z" title="2026-03-01T12:34:56.789Z">2026-03-01 12:34:56 UTC</time>',
    );
    expect(page.body).not.toContain('not been computed');
    expect(page.body.indexOf('<dt>Open critical</dt>')).toBeLessThan(page.body.indexOf('<table class="findings">'));

    // Without a resolution there is no mean; and another tenant's row is never shown.
    await database.pool.query(
      `UPDATE tenant_finding_stats SET mean_time_to_resolve_seconds = NULL WHERE tenant_id = $1`,
      [rows[0].id],
    );
    expect(figures((await get(app, '/admin/findings', mine.cookies)).body).at(-1)).toEqual([
      'Mean time to resolve',
      '—',
    ]);
    const theirs = await get(app, '/admin/findings', other.cookies);
    expect(theirs.body).toContain('Statistics have not been computed yet.');
    expect(figures(theirs.body)).toEqual([]);
  });

  it.each([
    [0, '0 s'],
    [59, '59 s'],
    [60, '1 min'],
    [3661, '1 h 1 min'],
    [86_400 + 59, '1 d'],
    [273_659, '3 d 4 h'],
    [1_000 * 86_400, '1,000 d'],
    [-5_400, '-1 h 30 min'],
  ])('reads a mean of %j seconds as %j', (seconds, text) => {
    expect(durationText(seconds)).toBe(text);
  });

  it('pages by keyset: 50 a page with a cursor to the next, every finding once, the last page without one', async () => {
    const seen: string[] = [];
    let url: string | null = '/admin/findings';
    const pages: number[] = [];
    while (url) {
      const page = await get(app, url, mine.cookies);
      expect(page.statusCode).toBe(200);
      const rows = (page.body.match(/<tr>\s*<td>/g) ?? []).length;
      pages.push(rows);
      seen.push(...titles(page.body));
      url = olderHref(page.body);
      if (url) expect(url).toMatch(/^\/admin\/findings\?before=\d+$/);
    }
    expect(pages).toEqual([50, 50, 21]);
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => `Acme finding ${120 - i}`));
  });

  it('filters by status and keeps the filter on the next page', async () => {
    const first = await get(app, '/admin/findings?status=triaged', mine.cookies);
    expect(first.body).toContain('<option value="triaged" selected>');
    const triaged = titles(first.body);
    expect(triaged).toHaveLength(40);
    expect(triaged.every((title) => Number(title.split(' ').at(-1)) % 3 === 0)).toBe(true);
    expect(olderHref(first.body)).toBeNull();
    const news = await get(app, '/admin/findings?status=new', mine.cookies);
    const next = olderHref(news.body);
    expect(next).toMatch(/^\/admin\/findings\?status=new&before=\d+$/);
    const rest = await get(app, next!, mine.cookies);
    expect(rest.body).toContain('<a href="/admin/findings?status=new">Newest</a>');
    const all = [...titles(news.body), ...titles(rest.body)];
    expect(all).toHaveLength(80);
    expect(new Set(all).size).toBe(80);
    expect(all.some((title) => Number(title.split(' ').at(-1)) % 3 === 0)).toBe(false);
  });

  it('a cursor of another tenant shows nothing of it', async () => {
    const { rows } = await database.pool.query(`SELECT max(id)::int + 1 AS id FROM findings`);
    const page = await get(app, `/admin/findings?before=${rows[0].id}`, other.cookies);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('Acme');
  });

  it.each(['?before=abc', '?before=0', '?before=99999999999999999999', '?status=open'])(
    'refuses %s with a 400 naming the field',
    async (query) => {
      const page = await get(app, `/admin/findings${query}`, mine.cookies);
      expect(page.statusCode).toBe(400);
      expect(page.body).toContain(`<strong>${query.slice(1).split('=')[0]}</strong>`);
    },
  );

  it("a tenant in the query is refused, naming the field: the tenant is the session's", async () => {
    const { rows } = await database.pool.query(`SELECT id::int FROM tenants WHERE name = 'Rival'`);
    const page = await get(app, `/admin/findings?tenant=${rows[0].id}`, mine.cookies);
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('<strong>tenant</strong> is not a field of this form.');
    expect(page.body).not.toContain('Rival');
  });

  it('without ADMIN_MAINTENANCE_TRIGGER there is no trigger: no form, and its URL is the ordinary 404 page', async () => {
    const page = await get(app, '/admin/findings', mine.cookies);
    expect(page.body).not.toContain('Rebuild my findings lifecycle');
    expect(page.body).not.toContain(TRIGGER);
    const unknown = await get(app, '/admin/no-such-page', mine.cookies);
    const response = await postForm(app, TRIGGER, { _csrf: mine.csrf }, { cookies: mine.cookies });
    expect(response.statusCode).toBe(404);
    expect(unknown.statusCode).toBe(404);
    // The same page but for the session's fresh CSRF tokens.
    const tokensOut = (html: string) =>
      html.replace(/(name="_csrf" value|name="csrf-token" content)="[^"]*"/g, '$1=""');
    expect(tokensOut(response.body)).toBe(tokensOut(unknown.body));
    expect(app.consoleRoutes.map((route) => route.url)).not.toContain(TRIGGER);
  });

  it("the customer's header is their own: their email and sign-out, nothing of the operators' console, even on an error page", async () => {
    for (const url of ['/admin/findings', '/admin/no-such-page']) {
      const page = await get(app, url, mine.cookies);
      expect(page.body).toContain('<form method="post" action="/admin/logout" class="inline">');
      expect(page.body).not.toMatch(/Platform Ops|\/system/);
    }
    expect((await get(app, '/admin/no-such-page', mine.cookies)).body).toContain(
      '<a href="/admin/findings">Back to the start page</a>',
    );
    expect((await get(app, '/admin/login')).body).not.toMatch(/Platform Ops|\/system/);
  });
});

describe('the planes keep their sessions apart', () => {
  let database: TestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  it('a customer cookie on /system is a 404; an operator cookie on /admin is signed out', async () => {
    const customer = await signInCustomer(app, await createCustomer(database));
    const operator = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
    for (const url of ['/system/ops/runbooks', '/system/ops/runs']) {
      expect((await get(app, url, customer.cookies)).statusCode).toBe(404);
    }
    const signedOut = await get(app, '/admin/findings', operator.cookies);
    expect(signedOut.statusCode).toBe(303);
    expect(signedOut.headers.location).toBe('/admin/login?next=%2Fadmin%2Ffindings');
    // The operator's token under the admin cookie's name is no customer session either.
    const renamed = await get(app, '/admin/findings', { admin_session: operator.cookies.system_session });
    expect(renamed.statusCode).toBe(303);
    // Both cookies at once: each plane reads only its own.
    const both = { ...customer.cookies, ...operator.cookies };
    expect((await get(app, '/admin/findings', both)).statusCode).toBe(200);
    expect((await get(app, '/system/ops/runs', both)).statusCode).toBe(200);
  });
});

describe('ADMIN_MAINTENANCE_TRIGGER', () => {
  it('is off unless "on"; any other value is an error naming the variable', () => {
    expect(loadConfig({}).adminMaintenanceTrigger).toBe(false);
    expect(loadConfig({ ADMIN_MAINTENANCE_TRIGGER: '' }).adminMaintenanceTrigger).toBe(false);
    expect(loadConfig({ ADMIN_MAINTENANCE_TRIGGER: 'off' }).adminMaintenanceTrigger).toBe(false);
    expect(loadConfig({ ADMIN_MAINTENANCE_TRIGGER: 'on' }).adminMaintenanceTrigger).toBe(true);
    for (const value of ['true', 'ON', '1', 'yes']) {
      expect(() => loadConfig({ ADMIN_MAINTENANCE_TRIGGER: value })).toThrow(ConfigError);
      expect(() => loadConfig({ ADMIN_MAINTENANCE_TRIGGER: value })).toThrow(/ADMIN_MAINTENANCE_TRIGGER/);
    }
  });
});

// No worker polls this file's task queue: a started run stays active, which is what the
// "already under way" refusal needs and all that the customer is promised.
describe('the legacy maintenance trigger, switched on', () => {
  const h = useRunbookHarness({ seed: { tenants: 2, findingsPerTenant: 30, seed: 7 }, worker: false });
  let app: FastifyInstance;
  let customer: Awaited<ReturnType<typeof createCustomer>>;
  let session: Session;
  let tenants: Array<{ id: number; externalId: string }>;

  beforeAll(async () => {
    app = await buildApp({
      config: { ...h.config, adminMaintenanceTrigger: true },
      database: h.database,
      temporal: h.client,
    });
    const { rows } = await h.database.pool.query<{ id: number; externalId: string }>(
      `SELECT id::int, external_id AS "externalId" FROM tenants WHERE external_id <> 'platform' ORDER BY id`,
    );
    tenants = rows;
    customer = await createCustomer(h.database, tenants[0]!.externalId);
    session = await signInCustomer(app, customer);
  });

  afterAll(async () => {
    await app?.close();
  });

  const runs = async () =>
    (
      await h.database.pool.query(
        `SELECT id, runbook, scope, source, status, initiator_label AS "initiatorLabel", initiator_platform_user_id AS "operatorId", idempotency_key AS "key"
           FROM operation_runs ORDER BY created_at`,
      )
    ).rows;

  /** The findings page's trigger form, as the customer gets it. */
  const triggerForm = async () => {
    const page = await get(app, '/admin/findings', session.cookies);
    expect(page.body).toContain('Rebuild my findings lifecycle');
    expect(page.body).toContain(`action="${TRIGGER}"`);
    return { _csrf: session.csrf, idempotencyKey: fieldOf(page.body, 'idempotencyKey') };
  };

  it("starts one rebuild of the customer's own tenant, from admin_trigger, and says only that it is queued", async () => {
    const form = await triggerForm();
    const response = await postForm(app, TRIGGER, form, { cookies: session.cookies });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/admin/findings?rebuild=queued');
    const started = await runs();
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      runbook: LIFECYCLE,
      scope: { tenants: [{ id: tenants[0]!.id, externalId: tenants[0]!.externalId }] },
      source: 'admin_trigger',
      initiatorLabel: customer.email,
      operatorId: null,
      // In the customer's tenant's namespace: a customer's key never meets the deploy hook's or an operator's.
      key: `tenant:${tenants[0]!.externalId} ${form.idempotencyKey}`,
    });
    expect(['queued', 'running']).toContain(started[0].status);
    const { rows: audit } = await h.database.pool.query(
      `SELECT action, actor_kind AS "actorKind", actor_id AS "actorId" FROM audit_events WHERE action IN ('runbook.preflighted', 'runbook.started') ORDER BY id`,
    );
    expect(audit).toEqual([
      { action: 'runbook.preflighted', actorKind: 'user', actorId: String(customer.id) },
      { action: 'runbook.started', actorKind: 'user', actorId: String(customer.id) },
    ]);
    const page = await get(app, response.headers.location as string, session.cookies);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Rebuild queued');
    for (const internal of [started[0].id, 'workflow', '/system/', 'preflight', LIFECYCLE])
      expect(page.body).not.toContain(internal);
  });

  it('a double submit starts no second run; a new press while it is active is refused in customer words', async () => {
    const [first] = await runs();
    const again = await postForm(
      app,
      TRIGGER,
      { _csrf: session.csrf, idempotencyKey: first.key.split(' ')[1] },
      { cookies: session.cookies },
    );
    expect(again.statusCode).toBe(303);
    const refused = await postForm(app, TRIGGER, await triggerForm(), { cookies: session.cookies });
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('A rebuild of your findings is already under way.');
    for (const internal of [first.id, 'Run ', 'cancel', 'operator']) expect(refused.body).not.toContain(internal);
    expect(await runs()).toHaveLength(1);
  });

  it('a body naming a tenant is refused by the schema, and nothing is written', async () => {
    const before = await h.database.pool.query(
      'SELECT (SELECT count(*) FROM operation_runs) AS runs, (SELECT count(*) FROM preflights) AS preflights',
    );
    for (const tenant of [tenants[1]!.externalId, tenants[0]!.externalId]) {
      const response = await postForm(app, TRIGGER, { ...(await triggerForm()), tenant }, { cookies: session.cookies });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('<strong>tenant</strong>');
    }
    const after = await h.database.pool.query(
      'SELECT (SELECT count(*) FROM operation_runs) AS runs, (SELECT count(*) FROM preflights) AS preflights',
    );
    expect(after.rows).toEqual(before.rows);
  });

  it('the core refuses a customer anything but a one-tenant start of their own tenant', async () => {
    const initiator: Initiator = {
      kind: 'customer',
      id: customer.id,
      email: customer.email,
      tenantExternalId: customer.tenantExternalId,
    };
    const deps = { pool: h.database.pool, launcher: h.launcher };
    const before = (await runs()).length;
    for (const scope of [
      { kind: 'tenants' as const, externalIds: [tenants[1]!.externalId] },
      { kind: 'tenants' as const, externalIds: [tenants[0]!.externalId, tenants[1]!.externalId] },
      { kind: 'all_tenants' as const },
    ]) {
      const start = startRunbook(deps, {
        runbook: LIFECYCLE,
        scope,
        initiator,
        reason: 'A customer reaching out of bounds',
        source: 'admin_trigger',
        confirmation: 'ALL TENANTS',
      });
      await expect(start).rejects.toBeInstanceOf(RunbookRefusal);
      await expect(start).rejects.toMatchObject({ code: 'capability' });
    }
    expect(await runs()).toHaveLength(before);
    const { rows } = await h.database.pool.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE action = 'runbook.start_rejected' AND actor_kind = 'user'`,
    );
    expect(rows[0].n).toBeGreaterThanOrEqual(3);
  });
});
