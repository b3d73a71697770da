// Where the console sends people: its front doors, the start page after sign-in and on an error
// page's way back, the header's links, the tenant search's links into a runbook's scope, and
// that nothing a signed-in visitor is answered is kept by a cache.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, CAPABILITIES, type Capability } from '../src/runbooks/capabilities.js';
import {
  adminSessionToken,
  consoleApp,
  cookieHeader,
  createCustomer,
  createCustomerTenant,
  createOperator,
  loginForm,
  postForm,
  postLogin,
  signIn,
  signInCustomer,
} from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

type Session = Awaited<ReturnType<typeof signIn>>;
/** A signed-in session of either plane: its cookie and a CSRF token of it. */
type AnySession = { cookies: Record<string, string>; csrf: string };

const HOSTILE = '"><script>alert(1)</script>';

/** The operators whose start pages differ, by what they hold. */
const PEOPLE: Record<string, { capabilities: Capability[]; home: string; nav: string[] }> = {
  everything: {
    capabilities: [...ALL_CAPABILITIES],
    home: '/system/ops/runbooks',
    nav: ['Runbooks', 'Runs', 'Approvals', 'Windows'],
  },
  'runs.view only': {
    capabilities: [CAPABILITIES.runsView],
    home: '/system/ops/runs',
    nav: ['Runs', 'Approvals', 'Windows'],
  },
  'runbooks.view and run': {
    capabilities: [CAPABILITIES.runbooksView, CAPABILITIES.runbooksRun],
    home: '/system/ops/runbooks',
    nav: ['Runbooks'],
  },
  nothing: { capabilities: [], home: '/system/notifications', nav: [] },
};

/** The header's page links (its brand and account aside) as their labels, without a count beside one. */
const navOf = (html: string) => {
  const header = html.slice(html.indexOf('<header'), html.indexOf('</header>'));
  return [
    ...header.matchAll(
      /<li><a href="\/system\/ops\/[^"]+">([^<]+?)(?: \(<span data-count="\d+">\d+<\/span>\))?<\/a><\/li>/g,
    ),
  ].map((m) => m[1]);
};
const brandHrefOf = (html: string) => /<a href="([^"]*)" class="brand">/.exec(html)?.[1];
const backHrefOf = (html: string) => /<a href="([^"]*)">Back to the start page<\/a>/.exec(html)?.[1];

describe('the start page and the header', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  const sessions = new Map<string, Session>();
  const accounts = new Map<string, { email: string; password: string }>();

  const get = (url: string, cookies: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(cookies) } });

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    for (const [who, { capabilities }] of Object.entries(PEOPLE)) {
      const operator = await createOperator(database, capabilities);
      accounts.set(who, operator);
      sessions.set(who, await signIn(app, operator));
    }
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  it('sends / to /system/, and /system and /system/ to the first page the operator may open', async () => {
    const root = await get('/');
    expect(root.statusCode).toBe(303);
    expect(root.headers.location).toBe('/system/');
    for (const [who, { home }] of Object.entries(PEOPLE)) {
      for (const url of ['/system', '/system/']) {
        const response = await get(url, sessions.get(who)!.cookies);
        expect(response.statusCode, `${who} at ${url}`).toBe(303);
        expect(response.headers.location, `${who} at ${url}`).toBe(home);
        // Where it leads opens: never a 403.
        expect((await get(home, sessions.get(who)!.cookies)).statusCode, `${who} at ${home}`).toBe(200);
      }
    }
  });

  it('sends a signed-out visitor at /system to the sign-in, and an /admin-only visitor gets the unknown-URL 404', async () => {
    for (const url of ['/system', '/system/']) {
      const response = await get(url);
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe('/system/login');
    }
    const admin = { admin_session: await adminSessionToken(database) };
    const unknown = await get('/system/no-such-page', admin);
    expect(unknown.statusCode).toBe(404);
    for (const url of ['/system', '/system/']) {
      const response = await get(url, admin);
      expect(response.statusCode).toBe(404);
      expect(response.body).toBe(unknown.body);
    }
  });

  it('signs each operator in to their own first page unless they were on their way elsewhere', async () => {
    const form = await app.inject({ method: 'GET', url: '/system/login' });
    // Signed out, the form cannot know where its operator starts: the sign-in decides.
    expect(form.body).toContain('name="next" value=""');
    for (const [who, { home }] of Object.entries(PEOPLE)) {
      const { csrf, cookies } = await loginForm(app);
      const account = accounts.get(who)!;
      const response = await postLogin(
        app,
        { email: account.email, password: account.password, _csrf: csrf, next: '' },
        { cookies },
      );
      expect(response.statusCode, who).toBe(303);
      expect(response.headers.location, who).toBe(home);
    }
    // A `next` it accepts still wins, even one the operator may not open (they asked for it).
    const { csrf, cookies } = await loginForm(app);
    const runsOnly = accounts.get('runs.view only')!;
    const asked = await postLogin(
      app,
      { email: runsOnly.email, password: runsOnly.password, _csrf: csrf, next: '/system/ops/runbooks' },
      { cookies },
    );
    expect(asked.headers.location).toBe('/system/ops/runbooks');
  });

  it("shows only the header links the operator may use, and the brand and a 403's way back lead to their first page", async () => {
    for (const [who, { home, nav }] of Object.entries(PEOPLE)) {
      const { cookies } = sessions.get(who)!;
      const page = await get('/system/notifications', cookies);
      expect(page.statusCode).toBe(200);
      expect(navOf(page.body), who).toEqual(nav);
      expect(brandHrefOf(page.body), who).toBe(home);
    }
    // The read-only operator's first screen was a 403 on Runbooks, whose way back led to the same 403.
    const { cookies } = sessions.get('runs.view only')!;
    const refused = await get('/system/ops/runbooks', cookies);
    expect(refused.statusCode).toBe(403);
    expect(backHrefOf(refused.body)).toBe('/system/ops/runs');
    expect((await get(backHrefOf(refused.body)!, cookies)).statusCode).toBe(200);
    const nowhere = await get('/system/no-such-page', sessions.get('nothing')!.cookies);
    expect(nowhere.statusCode).toBe(404);
    expect(backHrefOf(nowhere.body)).toBe('/system/notifications');
    // Signed out, the way back is /system/, which sends on to the sign-in.
    expect(backHrefOf((await get('/system/no-such-page')).body)).toBe('/system/');
  });

  it('leaves the customer plane as it was: its own start page, links and way back', async () => {
    const customer = await createCustomer(database);
    const { csrf, cookies } = await loginForm(app, {}, 'admin');
    const response = await postForm(
      app,
      '/admin/login',
      { email: customer.email, password: customer.password, _csrf: csrf },
      { cookies },
    );
    expect(response.headers.location).toBe('/admin/findings');
    const session = await signInCustomer(app, customer);
    const page = await get('/admin/findings', session.cookies);
    expect(page.statusCode).toBe(200);
    expect(brandHrefOf(page.body)).toBe('/admin/findings');
    expect(page.body).not.toContain('/system/');
    const nowhere = await get('/admin/no-such-page', session.cookies);
    expect(nowhere.statusCode).toBe(404);
    expect(backHrefOf(nowhere.body)).toBe('/admin/findings');
  });
});

describe('Cache-Control on what a signed-in visitor is answered', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let operator: Session;
  let readOnly: Session;
  let customer: AnySession;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    operator = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
    readOnly = await signIn(app, await createOperator(database, [CAPABILITIES.runsView]));
    customer = await signInCustomer(app, await createCustomer(database));
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  const send = (
    method: 'GET' | 'HEAD',
    url: string,
    session: AnySession | null,
    headers: Record<string, string> = {},
  ) =>
    app.inject({ method, url, headers: { ...(session ? { cookie: cookieHeader(session.cookies) } : {}), ...headers } });
  const post = (url: string, session: AnySession) =>
    postForm(app, url, { _csrf: session.csrf }, { cookies: session.cookies });

  const expectNoStore = (response: LightMyRequestResponse, what: string) =>
    expect(response.headers['cache-control'], what).toBe('no-store');

  it('is no-store on every answer: pages, partials, redirects, errors, form answers, on both planes', async () => {
    const answers: Array<[string, LightMyRequestResponse, number]> = [
      ['runbooks page', await send('GET', '/system/ops/runbooks', operator), 200],
      ['runs page', await send('GET', '/system/ops/runs', operator), 200],
      ['HEAD of a page', await send('HEAD', '/system/ops/runs', operator), 200],
      ['notifications page', await send('GET', '/system/notifications', operator), 200],
      ['htmx count', await send('GET', '/system/notifications/count', operator, { 'hx-request': 'true' }), 200],
      ['tenant search', await send('GET', '/system/ops/tenants?q=x', operator, { 'hx-request': 'true' }), 200],
      ['the front door', await send('GET', '/system/', operator), 303],
      ['sign-in page, signed in', await send('GET', '/system/login', operator), 200],
      ['a 403', await send('GET', '/system/ops/runbooks', readOnly), 403],
      ['a 404', await send('GET', '/system/no-such-page', operator), 404],
      ['a 400', await send('GET', '/system/ops/runs?nonsense=1', operator), 400],
      ['a POST', await post('/system/notifications/read-all', operator), 303],
      ['a refused POST', await post('/system/notifications/read-all', { ...operator, csrf: 'forged' }), 403],
      ['customer findings', await send('GET', '/admin/findings', customer), 200],
      ['customer redirect', await send('GET', '/admin', customer), 303],
      ['customer 404', await send('GET', '/admin/no-such-page', customer), 404],
    ];
    for (const [what, response, status] of answers) {
      expect(response.statusCode, what).toBe(status);
      expectNoStore(response, what);
    }
  });

  it('is no-store on the sign-out answer, and the page it left is not served again', async () => {
    const session = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
    const out = await post('/system/logout', session);
    expect(out.statusCode).toBe(303);
    expectNoStore(out, 'sign-out');
    const back = await send('GET', '/system/ops/runs', session);
    expect(back.statusCode).toBe(303);
    expect(back.headers.location).toMatch(/^\/system\/login/);
  });

  it('leaves the static assets their caching, with a session or without', async () => {
    for (const session of [null, operator]) {
      for (const url of ['/assets/console.css', '/assets/pico.min.css', '/assets/htmx.min.js']) {
        const response = await send('GET', url, session);
        expect(response.statusCode, url).toBe(200);
        expect(response.headers['cache-control'], url).toBe('public, max-age=3600');
      }
    }
  });
});

describe('the tenant search fills a runbook scope', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let operator: Session;
  let viewer: Session;
  let acme: { id: number; externalId: string };
  let hostile: { id: number; externalId: string };

  const get = (url: string, session: Session = operator, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(session.cookies), ...headers } });

  /** Every runbook form's tenant field value, and whether its "One tenant" radio is checked. */
  const scopeFieldsOf = (html: string) => ({
    tenants: [...html.matchAll(/name="tenant" maxlength="200"[^>]*value="([^"]*)"/g)].map((m) => m[1]),
    oneTenantChecked: [...html.matchAll(/<input type="radio" name="scope" value="tenant"( checked)?>/g)].map(
      (m) => m[1] === ' checked',
    ),
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    acme = await createCustomerTenant(database, 'Navigation Acme Foods');
    hostile = await createCustomerTenant(database, 'Navigation hostile');
    // An external id with every character a URL or an attribute could trip on.
    await database.pool.query('UPDATE tenants SET external_id = $1 WHERE id = $2', [
      `nav-${HOSTILE}&x=1 #?%`,
      hostile.id,
    ]);
    hostile.externalId = `nav-${HOSTILE}&x=1 #?%`;
    operator = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
    viewer = await signIn(app, await createOperator(database, [CAPABILITIES.runbooksView]));
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  it('links each result to the runbooks with that tenant as the scope, and the link fills it in', async () => {
    const page = await get('/system/ops/tenants?q=navigation');
    expect(page.statusCode).toBe(200);
    const links = [...page.body.matchAll(/<a href="(\/system\/ops\/runbooks\?tenant=[^"]*)"><code>([^<]*)<\/code>/g)];
    expect(links.map((m) => m[1])).toEqual(
      [acme.externalId, hostile.externalId].map((id) => `/system/ops/runbooks?tenant=${encodeURIComponent(id)}`),
    );
    expect(page.body).not.toContain(HOSTILE);
    for (const [, href] of links) {
      const runbooks = await get(href!);
      expect(runbooks.statusCode).toBe(200);
      const fields = scopeFieldsOf(runbooks.body);
      expect(fields.tenants.length).toBeGreaterThan(0);
      expect(fields.oneTenantChecked.every(Boolean)).toBe(true);
      expect(runbooks.body).not.toContain(HOSTILE);
    }
    const acmePage = await get(links[0]![1]!);
    expect(new Set(scopeFieldsOf(acmePage.body).tenants)).toEqual(new Set([acme.externalId]));
    const hostilePage = await get(links[1]![1]!);
    expect(new Set(scopeFieldsOf(hostilePage.body).tenants)).toEqual(
      new Set(['nav-&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x=1 #?%']),
    );
    // The htmx list still fills the field as options.
    const partial = await get('/system/ops/tenants?q=acme', operator, { 'hx-request': 'true' });
    expect(partial.body).toContain(`<option value="${acme.externalId}">Navigation Acme Foods</option>`);
  });

  it('takes any text as the tenant to fill in, escaped, and an unknown tenant as it is: the preflight names it', async () => {
    for (const tenant of ['no-such-tenant', HOSTILE, "' OR 1=1 --", '\u011f\u{1F600}', '%', '  padded  ']) {
      const response = await get(`/system/ops/runbooks?tenant=${encodeURIComponent(tenant)}`);
      expect(response.statusCode, tenant).toBe(200);
      expect(response.body).not.toContain(HOSTILE);
      const expected = tenant
        .trim()
        .replaceAll('&', '&amp;')
        .replaceAll('"', '&quot;')
        .replaceAll("'", '&#39;')
        .replaceAll('<', '&lt;')
        .replaceAll('>', '&gt;');
      expect(new Set(scopeFieldsOf(response.body).tenants), tenant).toEqual(new Set([expected]));
    }
    // Without one, the fields are empty, as before.
    expect(new Set(scopeFieldsOf((await get('/system/ops/runbooks')).body).tenants)).toEqual(new Set(['']));
  });

  it('refuses a tenant the form could not hold with a 400 naming it, never a 500', async () => {
    const refused = [
      `tenant=${'x'.repeat(201)}`,
      'tenant=a%00b',
      'tenant=a%0Ab',
      'tenant=a&tenant=b',
      'tenant=a&scope=all_tenants',
    ];
    for (const query of refused) {
      const response = await get(`/system/ops/runbooks?${query}`);
      expect(response.statusCode, query).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, query).toBeLessThan(500);
      expect(response.body, query).not.toContain('FST_');
      expect(response.body, query).not.toContain('    at ');
    }
    // Text the query parser cannot decode is taken as it is: shown escaped, like any other.
    for (const query of ['tenant=%ZZ', 'tenant=%', 'tenant=%C4', 'tenant=%22%3E%3Cscript%3E', 'tenant']) {
      const response = await get(`/system/ops/runbooks?${query}`);
      expect(response.statusCode, query).toBe(200);
      expect(response.body, query).not.toContain('"><script>');
    }
    const tooLong = await get(`/system/ops/runbooks?tenant=${'x'.repeat(201)}`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.body).toContain('<strong>tenant</strong> must be at most 200 characters.');
    // The access rule comes first: a runbooks viewer sees the page, a signed-out visitor the sign-in.
    expect((await get(`/system/ops/runbooks?tenant=${acme.externalId}`, viewer)).statusCode).toBe(200);
    const signedOut = await app.inject({ method: 'GET', url: `/system/ops/runbooks?tenant=${'x'.repeat(201)}` });
    expect(signedOut.statusCode).toBe(303);
  });
});

describe('the notifications page buttons', () => {
  it('are compact: the stylesheet undoes the full-width submit slab inside the list the page renders', async () => {
    const database = await createTestDatabase();
    const app = await consoleApp(database);
    try {
      const operator = await createOperator(database, [CAPABILITIES.runsView]);
      // Before signing in, so that the header's count (kept between requests) counts it.
      await database.pool.query(
        `INSERT INTO notifications (platform_user_id, type, data) VALUES ($1, 'OperationRunCompleted', '{"outcome": "succeeded"}')`,
        [operator.id],
      );
      const session = await signIn(app, operator);
      const page = await app.inject({
        method: 'GET',
        url: '/system/notifications',
        headers: { cookie: cookieHeader(session.cookies) },
      });
      const section = page.body.slice(
        page.body.indexOf('<section id="notifications"'),
        page.body.indexOf('</section>'),
      );
      // Every button of the page's own body is in the section the rule is scoped to.
      const main = page.body.slice(page.body.indexOf('<main'), page.body.indexOf('</main>'));
      expect(section.match(/<button/g)).toHaveLength(2);
      expect(main.match(/<button/g)).toHaveLength(2);
      const css = await app.inject({ method: 'GET', url: '/assets/console.css' });
      const rule = /#notifications button \{([^}]*)\}/.exec(css.body);
      expect(rule?.[1]).toMatch(/width: auto;/);
      expect(rule?.[1]).toMatch(/margin-bottom: 0;/);
    } finally {
      await app.close();
      await database.destroy();
    }
  });
});
