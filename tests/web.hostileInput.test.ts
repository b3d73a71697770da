// No input is a server error: every route of both planes, signed in with every capability (or as
// a customer) and with a valid CSRF token, gets random path, query and form values, from any
// Unicode (lone surrogates included) to the shapes that broke it before (`urn:uuid:` ids, a
// `next` beyond Latin-1), and answers below 500 every time.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { buildApp } from '../src/web/app.js';
import { operatorHome } from '../src/web/planes.js';
import type { ConsoleRoute } from '../src/web/plugins/app/auth.js';
import { cookieHeader, createCustomer, createOperator, signIn, signInCustomer } from './support/console.js';
import { useRunbookHarness } from './support/harness.js';
import type { TestDatabase } from './support/testDatabase.js';

const RUNS_PER_ROUTE = 60;

/** Percent-encoded as a browser would send it; a lone surrogate goes as U+FFFD's bytes. */
const encoded = (value: string) =>
  [...Buffer.from(value, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');

const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '/system/\u011f',
    '/system/\u{1F600}',
    '/admin/\u00e9',
    '%ZZ',
    '\u0000',
    '=1+1',
    '9'.repeat(400),
    '-1',
    '1e309',
    '../../etc/passwd',
    '<script>alert(1)</script>',
  ),
  fc.uuid().map((id) => `urn:uuid:${id}`),
  fc.uuid().map((id) => id.toUpperCase()),
  fc.uuid(),
);

/** A path parameter: usually something else than what the route takes, raw or encoded. */
const hostileParam = fc.oneof(
  hostileText.map(encoded),
  fc.constantFrom('%ZZ', '%', '%C4', 'urn%3Auuid%3A00000000-0000-0000-0000-000000000000', randomUUID()),
);

function fieldsOf(schemaPart: unknown): string[] {
  const properties = (schemaPart as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties ? Object.keys(properties) : [];
}

/** Every field the route names, each given or left out, plus one it does not name now and then. */
const hostileFields = (names: string[]) =>
  fc
    .tuple(
      fc.tuple(...names.map((name) => fc.option(fc.tuple(fc.constant(name), hostileText), { nil: undefined }))),
      fc.option(fc.tuple(hostileText, hostileText), { nil: undefined }),
    )
    .map(([given, extra]) => [...given, extra].filter((pair): pair is [string, string] => pair !== undefined));

describe('hostile input on every route', () => {
  // A real Temporal server (no worker): a start that gets through is queued, not an outage's 503.
  const h = useRunbookHarness({ seed: { tenants: 2, findingsPerTenant: 5, seed: 59 }, worker: false });
  let database: TestDatabase;
  let app: FastifyInstance;
  const sessions: Record<'system' | 'admin', { cookies: Record<string, string>; csrf: string }> = {} as never;

  beforeAll(async () => {
    database = h.database;
    const config = { ...h.config, adminMaintenanceTrigger: true };
    app = await buildApp({ config, database, temporal: h.client });
    await app.ready();
    sessions.system = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
    sessions.admin = await signInCustomer(app, await createCustomer(database, 'tenant-00001'));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers every route below 500, whatever its path, query and form carry', async () => {
    // Signing out would end the session the other routes are tried with; it takes nothing but its token.
    const routes: ConsoleRoute[] = app.consoleRoutes.filter(
      (route) => route.method !== 'HEAD' && !route.url.endsWith('/logout'),
    );
    const statuses = new Map<number, number>();
    expect(routes.length).toBeGreaterThan(20);
    let tried = 0;
    for (const route of routes) {
      const plane = route.url.startsWith('/admin') ? 'admin' : 'system';
      const params = route.url.match(/:\w+/g) ?? [];
      const { schema } = route;
      const input = fc.record({
        params: fc.tuple(...params.map(() => hostileParam)),
        query: hostileFields(fieldsOf(schema?.querystring)),
        body: hostileFields(fieldsOf(schema?.body)),
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ params: values, query, body }) => {
          tried++;
          let url = route.url;
          for (const [i, name] of params.entries()) url = url.replace(name, values[i]!);
          const search = query.map(([key, value]) => `${encoded(key)}=${encoded(value)}`).join('&');
          const response = await app.inject({
            method: route.method as 'GET',
            url: search ? `${url}?${search}` : url,
            headers: {
              cookie: cookieHeader(sessions[plane].cookies),
              ...(route.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
            },
            ...(route.method === 'POST'
              ? { payload: new URLSearchParams([['_csrf', sessions[plane].csrf], ...body]).toString() }
              : {}),
          });
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          expect(response.statusCode, `${route.method} ${url}?${search}\n${response.body.slice(0, 300)}`).toBeLessThan(
            500,
          );
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
    }
    expect(tried).toBe(routes.length * RUNS_PER_ROUTE);
    // Signed in all along: no answer was the sign-in redirect of a lost session.
    expect(statuses.get(303) ?? 0).toBeLessThan(tried / 2);
    const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`);
    process.stdout.write(
      `hostile input: ${tried} requests over ${routes.length} routes, no 5xx (${byStatus.join(', ')})\n`,
    );
  });

  it("signs in with a next that cannot be a header value: to the operator's start page, with its cookie", async () => {
    const operator = await createOperator(database, ALL_CAPABILITIES);
    for (const next of ['/system/\u011f', '/system/\u{1F600}', '/system/ops/runs?q=\u00e9\u0100']) {
      const form = await app.inject({ method: 'GET', url: `/system/login?next=${encodeURIComponent(next)}` });
      expect(form.statusCode).toBe(200);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
      const cookies = Object.fromEntries(form.cookies.map((cookie) => [cookie.name, cookie.value]));
      const response = await app.inject({
        method: 'POST',
        url: '/system/login',
        headers: { cookie: cookieHeader(cookies), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          _csrf: csrf,
          email: operator.email,
          password: operator.password,
          next,
        }).toString(),
      });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(operatorHome(ALL_CAPABILITIES));
      expect(response.cookies.map((cookie) => cookie.name)).toContain('system_session');
    }
  });

  it('gives a run id in any other form than its UUID the ordinary 404, on every run route', async () => {
    // Each page carries a fresh CSRF token; the rest is the same page.
    const withoutTokens = (html: string) => html.replace(/(csrf-token" content="|name="_csrf" value=")[^"]+/g, '$1');
    const id = randomUUID();
    const notFound = await app.inject({
      method: 'GET',
      url: '/system/no-such-page',
      headers: { cookie: cookieHeader(sessions.system.cookies) },
    });
    for (const other of [`urn:uuid:${id}`, `{${id}}`, id.replace(/-/g, ''), 'not-a-run']) {
      for (const [method, path] of [
        ['GET', `/system/ops/runs/${other}`],
        ['GET', `/system/ops/runs/${other}/progress`],
        ['GET', `/system/ops/runs/${other}/export`],
        ['GET', `/system/ops/runs/${other}/actions/cancel`],
        ['POST', `/system/ops/runs/${other}/actions/cancel`],
      ] as const) {
        const response = await app.inject({
          method,
          url: path,
          headers: {
            cookie: cookieHeader(sessions.system.cookies),
            ...(method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          },
          ...(method === 'POST' ? { payload: `_csrf=${encodeURIComponent(sessions.system.csrf)}` } : {}),
        });
        expect(response.statusCode, `${method} ${path}`).toBe(404);
        expect(withoutTokens(response.body), `${method} ${path}`).toBe(withoutTokens(notFound.body));
      }
    }
  });
});
