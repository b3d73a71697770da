import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, FastifyServerOptions, LightMyRequestResponse } from 'fastify';
import { createPlatformUser } from '../../src/auth/platformUsers.js';
import { createSession } from '../../src/auth/sessions.js';
import { loadConfig } from '../../src/config.js';
import type { Capability } from '../../src/runbooks/capabilities.js';
import { buildApp } from '../../src/web/app.js';
import type { TestDatabase } from './testDatabase.js';

/**
 * The console on a test database. These pages never reach Temporal, so the client points at
 * nothing (lazily, as the real console's does).
 */
export async function consoleApp(
  database: TestDatabase,
  options: FastifyServerOptions = {},
  env: Record<string, string> = {},
): Promise<FastifyInstance> {
  const config = loadConfig({ DATABASE_URL: database.url, ...env });
  const temporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const app = await buildApp({ config, database, temporal }, options);
  app.addHook('onClose', async () => temporal.connection.close());
  return app;
}

let operators = 0;

/** A new operator with these capabilities and a known password. */
export async function createOperator(database: TestDatabase, capabilities: readonly Capability[]) {
  const email = `operator${++operators}-${Date.now()}@example.com`;
  const password = 'correct horse battery staple';
  const user = await createPlatformUser(database.pool, { email, password, capabilities });
  return { id: user.id, email, password };
}

/** The `name=value` pairs a response sets, as a later request's Cookie header would carry them. */
export function cookiesOf(response: LightMyRequestResponse): Record<string, string> {
  return Object.fromEntries(response.cookies.map((cookie) => [cookie.name, cookie.value]));
}

export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');
}

/** The CSRF token in a page's first `_csrf` field. */
export function csrfTokenOf(html: string): string {
  const match = html.match(/name="_csrf" value="([^"]+)"/);
  if (!match) throw new Error(`no _csrf field in the page:\n${html.slice(0, 2000)}`);
  return match[1]!;
}

/** The sign-in form as a browser gets it: its token and the login cookie it came with. */
export async function loginForm(app: FastifyInstance, headers: Record<string, string> = {}) {
  const response = await app.inject({ method: 'GET', url: '/system/login', headers });
  return { csrf: csrfTokenOf(response.body), cookies: cookiesOf(response) };
}

/** Posts the sign-in form. */
export async function postLogin(
  app: FastifyInstance,
  fields: Record<string, string>,
  options: { cookies?: Record<string, string>; remoteAddress?: string; headers?: Record<string, string> } = {},
) {
  return app.inject({
    method: 'POST',
    url: '/system/login',
    remoteAddress: options.remoteAddress,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(options.cookies ? { cookie: cookieHeader(options.cookies) } : {}),
      ...options.headers,
    },
    payload: new URLSearchParams(fields).toString(),
  });
}

/** Signs in and returns the session cookie and a CSRF token of the signed-in session. */
export async function signIn(app: FastifyInstance, operator: { email: string; password: string }) {
  const form = await loginForm(app);
  const response = await postLogin(app, { email: operator.email, password: operator.password, _csrf: form.csrf }, { cookies: form.cookies });
  if (response.statusCode !== 303) throw new Error(`sign-in failed with ${response.statusCode}: ${response.body.slice(0, 500)}`);
  const session = cookiesOf(response).system_session;
  if (!session) throw new Error('sign-in set no system_session cookie');
  const cookies = { system_session: session };
  const page = await app.inject({ method: 'GET', url: '/system/login', headers: { cookie: cookieHeader(cookies) } });
  return { cookies, csrf: csrfTokenOf(page.body), response };
}

/** A customer user of the `/admin` plane with a live admin session; returns its cookie token. */
export async function adminSessionToken(database: TestDatabase): Promise<string> {
  const suffix = `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const { rows } = await database.pool.query<{ id: number }>(
    `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ($1, 'Customer') RETURNING id),
          t AS (INSERT INTO tenants (workspace_id, external_id, name) SELECT id, $1, 'Customer' FROM w RETURNING id)
     INSERT INTO users (tenant_id, email, password_hash) SELECT id, $2, 'not-a-hash' FROM t RETURNING id::int`,
    [`customer-${suffix}`, `customer-${suffix}@example.com`],
  );
  const { token } = await createSession(database.pool, { plane: 'admin', userId: rows[0]!.id });
  return token;
}
