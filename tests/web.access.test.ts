import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { ALL_CAPABILITIES, isCapability } from '../src/runbooks/capabilities.js';
import { CUSTOMER, PUBLIC, SIGNED_IN, type ConsoleRoute, type RouteAccess } from '../src/web/plugins/app/auth.js';
import {
  adminSessionToken,
  consoleApp,
  cookieHeader,
  createCustomer,
  createOperator,
  signIn,
  signInCustomer,
} from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

/** A value each route parameter accepts, so that a request reaches the rules under test. */
const SAMPLE_PARAMS: Record<string, () => string> = {
  id: () => randomUUID(),
  action: () => 'cancel',
  runbook: () => 'findings.lifecycle.rebuild',
  // A change window's id is a whole number (none exists here: a page of one is a 404).
  window: () => '1',
};

/** A request to a plane route as a browser would send it, with these cookies and form fields. */
function requestRoute(
  app: FastifyInstance,
  route: ConsoleRoute,
  cookies: Record<string, string>,
  fields: Record<string, string> = {},
) {
  return app.inject({
    method: route.method as 'GET',
    url: route.url.replace(/:(\w+)/g, (_, name: string) => SAMPLE_PARAMS[name]?.() ?? 'x'),
    headers: {
      cookie: cookieHeader(cookies),
      ...(route.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(route.method === 'POST' ? { payload: new URLSearchParams(fields).toString() } : {}),
  });
}

describe('access rules on every /system route', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let routes: ConsoleRoute[];
  let adminToken: string;
  /** A signed-in operator per capability left out (and one with every capability). */
  const sessions = new Map<string, { cookies: Record<string, string>; csrf: string }>();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await consoleApp(database);
    await app.ready();
    routes = app.consoleRoutes.filter((route) => route.url.startsWith('/system'));
    adminToken = await adminSessionToken(database);
    sessions.set('all', await signIn(app, await createOperator(database, ALL_CAPABILITIES)));
    sessions.set('none', await signIn(app, await createOperator(database, [])));
    for (const capability of ALL_CAPABILITIES) {
      sessions.set(
        capability,
        await signIn(
          app,
          await createOperator(
            database,
            ALL_CAPABILITIES.filter((c) => c !== capability),
          ),
        ),
      );
    }
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  const request = (route: ConsoleRoute, cookies: Record<string, string>, fields: Record<string, string> = {}) =>
    requestRoute(app, route, cookies, fields);

  it('are collected from the registered routes, every one with a declared access', () => {
    const seen = routes.map((route) => `${route.method} ${route.url}`);
    for (const expected of [
      'GET /system/login',
      'POST /system/login',
      'POST /system/logout',
      'GET /system/ops/runbooks',
      'GET /system/ops/runs',
      'GET /system/ops/runs/:id',
      'POST /system/ops/runbooks/:runbook/preflight',
      'POST /system/ops/runbooks/:runbook/start',
      'GET /system/ops/tenants',
      'GET /system/ops/changes',
      'GET /system/ops/changes/:id',
      'GET /system/ops/changes/:id/approve',
      'POST /system/ops/changes/:id/approve',
      'GET /system/ops/changes/:id/reject',
      'POST /system/ops/changes/:id/reject',
      'GET /system/ops/changes/:id/withdraw',
      'POST /system/ops/changes/:id/withdraw',
      'GET /system/ops/windows',
      'POST /system/ops/windows',
      'GET /system/ops/windows/:window/delete',
      'POST /system/ops/windows/:window/delete',
    ]) {
      expect(seen).toContain(expected);
    }
    for (const route of routes) expect([PUBLIC, SIGNED_IN, ...ALL_CAPABILITIES]).toContain(route.access);
  });

  it('refuse to register a /system route that declares no access', async () => {
    const other = await consoleApp(database);
    try {
      expect(() => other.get('/system/forgotten', async () => 'oops')).toThrow(/declares no access/);
      expect(() =>
        other.get('/system/for-customers', { config: { capability: CUSTOMER } }, async () => 'oops'),
      ).toThrow(/declares customer/);
    } finally {
      await other.close().catch(() => {});
    }
  });

  it('an /admin session gets the unknown-URL 404 on every route', async () => {
    const cookies = { admin_session: adminToken };
    const unknown = await app.inject({
      method: 'GET',
      url: '/system/no-such-page',
      headers: { cookie: cookieHeader(cookies) },
    });
    expect(unknown.statusCode).toBe(404);
    for (const route of routes) {
      const response = await request(route, cookies, { email: 'a@b.c', password: 'x' });
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(404);
      if (route.method !== 'HEAD') expect(response.body, `${route.method} ${route.url}`).toBe(unknown.body);
    }
  });

  it('no session: a redirect to sign in, with next for a page', async () => {
    for (const route of routes.filter((r) => r.access !== PUBLIC)) {
      const response = await request(route, {});
      expect(response.statusCode, `${route.method} ${route.url}`).toBe(303);
      const location = new URL(response.headers.location as string, 'http://console');
      expect(location.pathname).toBe('/system/login');
      if (route.method === 'GET') expect(location.searchParams.get('next')).toMatch(/^\/system\//);
    }
  });

  it("an operator without the route's capability gets 403; one with it does not", async () => {
    for (const route of routes.filter((r) => isCapability(r.access) && r.method !== 'POST')) {
      const without = sessions.get(route.access)!;
      const refused = await request(route, without.cookies);
      expect(refused.statusCode, `${route.method} ${route.url}`).toBe(403);
      if (route.method !== 'HEAD') expect(refused.body).toContain(route.access);
      const allowed = await request(route, sessions.get('all')!.cookies);
      // 409: a page of an action that does not apply now (resume-all with no stop holding).
      expect([200, 404, 409], `${route.method} ${route.url}`).toContain(allowed.statusCode);
    }
    const signedInOnly = routes.filter((r) => r.access === SIGNED_IN);
    for (const route of signedInOnly) {
      const none = await signIn(app, await createOperator(database, []));
      const response = await request(route, none.cookies, { _csrf: none.csrf });
      expect(response.statusCode, `${route.method} ${route.url}`).not.toBe(403);
    }
  });

  it('every POST without a valid CSRF token of the session gets 403', async () => {
    const mine = sessions.get('all')!;
    const theirs = sessions.get('none')!;
    const posts = routes.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThan(0);
    for (const route of posts) {
      for (const csrf of [undefined, 'forged', theirs.csrf]) {
        const login: Record<string, string> = route.url.endsWith('/login')
          ? { email: 'someone@example.com', password: 'whatever' }
          : {};
        const fields: Record<string, string> = { ...login, ...(csrf ? { _csrf: csrf } : {}) };
        const response = await request(route, mine.cookies, fields);
        expect(response.statusCode, `${route.method} ${route.url} with ${csrf}`).toBe(403);
      }
    }
  });

  it('pages carry a CSP of the own origin only, no framing, and no inline script or style', async () => {
    const { cookies } = sessions.get('all')!;
    for (const url of ['/system/login', '/system/ops/runbooks', '/system/ops/runs', '/system/no-such-page']) {
      const response = await app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(cookies) } });
      const csp = String(response.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(response.body).not.toMatch(/<style|\sstyle=/);
      expect(response.body).toContain('"includeIndicatorStyles":false');
    }
  });

  it('serves htmx 2.0.11 and the stylesheets from the app', async () => {
    const htmx = await app.inject({ method: 'GET', url: '/assets/htmx.min.js' });
    expect(htmx.statusCode).toBe(200);
    expect(htmx.body).toContain('2.0.11');
    for (const css of ['/assets/pico.min.css', '/assets/console.css']) {
      const response = await app.inject({ method: 'GET', url: css });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/css/);
    }
    const script = await app.inject({ method: 'GET', url: '/assets/console.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect((await app.inject({ method: 'GET', url: '/assets/htmx.js' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/assets/../package.json' })).statusCode).toBe(404);
  });
});

describe('access rules on every /admin route', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let routes: ConsoleRoute[];
  let operator: { cookies: Record<string, string>; csrf: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    // With the maintenance trigger, so that every /admin route there can be is walked.
    app = await consoleApp(database, {}, { ADMIN_MAINTENANCE_TRIGGER: 'on' });
    await app.ready();
    routes = app.consoleRoutes.filter((route) => route.url === '/admin' || route.url.startsWith('/admin/'));
    operator = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  it('are collected from the registered routes, each open to anyone or to customers only', () => {
    const seen = routes.map((route) => `${route.method} ${route.url}`);
    for (const expected of [
      'GET /admin/login',
      'POST /admin/login',
      'POST /admin/logout',
      'GET /admin',
      'GET /admin/findings',
      'POST /admin/maintenance/findings-lifecycle',
    ]) {
      expect(seen).toContain(expected);
    }
    for (const route of routes) expect([PUBLIC, CUSTOMER], `${route.method} ${route.url}`).toContain(route.access);
  });

  it('refuse to register an /admin route that declares no access, or an operator capability or SIGNED_IN', async () => {
    const other = await consoleApp(database);
    try {
      expect(() => other.get('/admin/forgotten', async () => 'oops')).toThrow(/declares no access/);
      const operatorAccess: RouteAccess[] = [...ALL_CAPABILITIES, SIGNED_IN];
      for (const access of operatorAccess) {
        expect(() => other.get(`/admin/${access}`, { config: { capability: access } }, async () => 'oops')).toThrow(
          /takes PUBLIC or CUSTOMER/,
        );
      }
    } finally {
      await other.close().catch(() => {});
    }
  });

  it("no session, or only an operator's /system cookie: a redirect to the customer sign-in, with next for a page", async () => {
    for (const cookies of [{}, operator.cookies]) {
      for (const route of routes.filter((r) => r.access !== PUBLIC)) {
        const response = await requestRoute(app, route, cookies, { _csrf: operator.csrf });
        expect(response.statusCode, `${route.method} ${route.url}`).toBe(303);
        const location = new URL(response.headers.location as string, 'http://console');
        expect(location.pathname).toBe('/admin/login');
        if (route.method === 'GET') expect(location.searchParams.get('next')).toBe(route.url);
      }
    }
    // The sign-in page itself treats the operator as signed out: a customer form, no operator chrome.
    const page = await app.inject({
      method: 'GET',
      url: '/admin/login',
      headers: { cookie: cookieHeader(operator.cookies) },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('action="/admin/login"');
    expect(page.body).not.toContain('/system/logout');
  });

  it("every POST without a valid CSRF token of the customer's session gets 403", async () => {
    const mine = await signInCustomer(app, await createCustomer(database));
    const theirs = await signInCustomer(app, await createCustomer(database));
    const posts = routes.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(3);
    for (const route of posts) {
      for (const csrf of [undefined, 'forged', theirs.csrf, operator.csrf]) {
        const login: Record<string, string> = route.url.endsWith('/login')
          ? { email: 'someone@example.com', password: 'whatever' }
          : {};
        const fields: Record<string, string> = { ...login, ...(csrf ? { _csrf: csrf } : {}) };
        const response = await requestRoute(app, route, mine.cookies, fields);
        expect(response.statusCode, `${route.method} ${route.url} with ${csrf}`).toBe(403);
      }
    }
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM operation_runs');
    expect(rows[0].n).toBe(0);
  });
});

describe('URLs the router cannot decode', () => {
  it('get the console error page as HTML, not a JSON error', async () => {
    const database = await createTestDatabase();
    const app = await consoleApp(database);
    try {
      for (const url of ['/system/ops/runs/%ZZ', `/system/ops/runs/${'a'.repeat(500)}`]) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(response.headers['content-type']).toMatch(/^text\/html/);
        expect(response.body).toContain('The request could not be understood.');
        expect(response.body).not.toContain('FST_');
      }
    } finally {
      await app.close();
      await database.destroy();
    }
  });
});

describe('a dependency that is down', () => {
  it('gets a 503 page with nothing of the driver, address or SQL', async () => {
    const database = await createTestDatabase();
    const dead = openDatabase('postgres://postgres:secret@127.0.0.1:1/none', { connectTimeoutMs: 2_000 });
    const app = await consoleApp({ ...database, ...dead, url: database.url, destroy: database.destroy });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/system/ops/runs',
        headers: { cookie: `system_session=${'a'.repeat(43)}` },
      });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('30');
      expect(response.body).toContain('cannot reach a service it depends on');
      for (const internal of ['secret', '127.0.0.1', 'ECONNREFUSED', 'SELECT', '    at '])
        expect(response.body).not.toContain(internal);
    } finally {
      await app.close();
      await dead.close();
      await database.destroy();
    }
  });
});
