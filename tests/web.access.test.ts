import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { ALL_CAPABILITIES, type Capability } from '../src/runbooks/capabilities.js';
import { PUBLIC, SIGNED_IN, type ConsoleRoute } from '../src/web/plugins/app/auth.js';
import { adminSessionToken, consoleApp, cookieHeader, createOperator, signIn } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const isCapability = (access: string): access is Capability => (ALL_CAPABILITIES as readonly string[]).includes(access);

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
      sessions.set(capability, await signIn(app, await createOperator(database, ALL_CAPABILITIES.filter((c) => c !== capability))));
    }
  });

  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  const request = (route: ConsoleRoute, cookies: Record<string, string>, fields: Record<string, string> = {}) =>
    app.inject({
      method: route.method as 'GET',
      url: route.url.replace(':id', randomUUID()),
      headers: {
        cookie: cookieHeader(cookies),
        ...(route.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(route.method === 'POST' ? { payload: new URLSearchParams(fields).toString() } : {}),
    });

  it('are collected from the registered routes, every one with a declared access', () => {
    const seen = routes.map((route) => `${route.method} ${route.url}`);
    for (const expected of ['GET /system/login', 'POST /system/login', 'POST /system/logout', 'GET /system/ops/runbooks', 'GET /system/ops/runs', 'GET /system/ops/runs/:id',
      'POST /system/ops/runbooks/:runbook/preflight', 'POST /system/ops/runbooks/:runbook/start', 'GET /system/ops/tenants']) {
      expect(seen).toContain(expected);
    }
    for (const route of routes) expect([PUBLIC, SIGNED_IN, ...ALL_CAPABILITIES]).toContain(route.access);
  });

  it('refuse to register a /system route that declares no access', async () => {
    const other = await consoleApp(database);
    try {
      expect(() => other.get('/system/forgotten', async () => 'oops')).toThrow(/declares no access/);
    } finally {
      await other.close().catch(() => {});
    }
  });

  it('an /admin session gets the unknown-URL 404 on every route', async () => {
    const cookies = { admin_session: adminToken };
    const unknown = await app.inject({ method: 'GET', url: '/system/no-such-page', headers: { cookie: cookieHeader(cookies) } });
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
      expect([200, 404], `${route.method} ${route.url}`).toContain(allowed.statusCode);
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
        const fields: Record<string, string> = { email: 'someone@example.com', password: 'whatever', ...(csrf ? { _csrf: csrf } : {}) };
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
      const response = await app.inject({ method: 'GET', url: '/system/ops/runs', headers: { cookie: `system_session=${'a'.repeat(43)}` } });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('30');
      expect(response.body).toContain('cannot reach a service it depends on');
      for (const internal of ['secret', '127.0.0.1', 'ECONNREFUSED', 'SELECT', '    at ']) expect(response.body).not.toContain(internal);
    } finally {
      await app.close();
      await dead.close();
      await database.destroy();
    }
  });
});
