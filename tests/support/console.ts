import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, FastifyServerOptions, LightMyRequestResponse } from 'fastify';
import { createCustomerUser } from '../../src/auth/customerUsers.js';
import { createPlatformUser } from '../../src/auth/platformUsers.js';
import { createSession, type Plane } from '../../src/auth/sessions.js';
import { loadConfig } from '../../src/config.js';
import type { Capability } from '../../src/runbooks/capabilities.js';
import { buildApp } from '../../src/web/app.js';
import { loginPathOf, PLANE_COOKIES } from '../../src/web/planes.js';
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
  const config = loadConfig({ DATABASE_URL: database.url, APPROVALS: process.env.APPROVALS ?? 'none', ...env });
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

/** The value of the page's first form field of this name (`name="..." value="..."`). */
export function fieldOf(html: string, name: string): string {
  const match = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!match) throw new Error(`no ${name} field in the page:\n${html.slice(0, 3000)}`);
  return match[1]!;
}

/**
 * What a preflight's confirmation form carries back to the start: its hidden parameter fields
 * (`p.<name>`, in order) and the preflight and idempotency key it names.
 */
export function confirmationOf(html: string): {
  parameters: Array<[string, string]>;
  confirmed: Array<[string, string]>;
} {
  const from = html.indexOf('class="confirm"');
  if (from < 0) throw new Error(`no confirmation form in the page:\n${html.slice(0, 3000)}`);
  const form = html.slice(from, html.indexOf('</form>', from));
  return {
    parameters: [...form.matchAll(/name="(p\.[A-Za-z]+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
    confirmed: [
      ['preflightId', fieldOf(form, 'preflightId')],
      ['idempotencyKey', fieldOf(form, 'idempotencyKey')],
    ],
  };
}

/** The CSRF token in a page's first `_csrf` field. */
export function csrfTokenOf(html: string): string {
  const match = html.match(/name="_csrf" value="([^"]+)"/);
  if (!match) throw new Error(`no _csrf field in the page:\n${html.slice(0, 2000)}`);
  return match[1]!;
}

/** A plane's sign-in form as a browser gets it: its token and the login cookie it came with. */
export async function loginForm(app: FastifyInstance, headers: Record<string, string> = {}, plane: Plane = 'system') {
  const response = await app.inject({ method: 'GET', url: loginPathOf(plane), headers });
  return { csrf: csrfTokenOf(response.body), cookies: cookiesOf(response) };
}

/** Posts a form as a browser does (urlencoded), with these cookies; pairs for a field given more than once. */
export async function postForm(
  app: FastifyInstance,
  url: string,
  fields: Record<string, string> | Array<[string, string]>,
  options: { cookies?: Record<string, string>; remoteAddress?: string; headers?: Record<string, string> } = {},
) {
  return app.inject({
    method: 'POST',
    url,
    remoteAddress: options.remoteAddress,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(options.cookies ? { cookie: cookieHeader(options.cookies) } : {}),
      ...options.headers,
    },
    payload: new URLSearchParams(fields).toString(),
  });
}

/** Posts the sign-in form. */
export async function postLogin(
  app: FastifyInstance,
  fields: Record<string, string>,
  options: Parameters<typeof postForm>[3] = {},
) {
  return postForm(app, '/system/login', fields, options);
}

/** Signs in to the plane; returns the session's token and a CSRF token of the signed-in session. */
async function signInTo(app: FastifyInstance, plane: Plane, account: { email: string; password: string }) {
  const form = await loginForm(app, {}, plane);
  const fields = { email: account.email, password: account.password, _csrf: form.csrf };
  const response = await postForm(app, loginPathOf(plane), fields, { cookies: form.cookies });
  if (response.statusCode !== 303)
    throw new Error(`sign-in failed with ${response.statusCode}: ${response.body.slice(0, 500)}`);
  const cookie = PLANE_COOKIES[plane].name;
  const token = cookiesOf(response)[cookie];
  if (!token) throw new Error(`sign-in set no ${cookie} cookie`);
  // Signed in, the sign-in page's form carries the session's own token.
  const page = await app.inject({ method: 'GET', url: loginPathOf(plane), headers: { cookie: `${cookie}=${token}` } });
  return { token, csrf: csrfTokenOf(page.body), response };
}

/** Signs an operator in and returns the session cookie and a CSRF token of the signed-in session. */
export async function signIn(app: FastifyInstance, operator: { email: string; password: string }) {
  const { token, csrf, response } = await signInTo(app, 'system', operator);
  return { cookies: { system_session: token }, csrf, response };
}

/** The same for a customer at /admin/login. */
export async function signInCustomer(app: FastifyInstance, customer: { email: string; password: string }) {
  const { token, csrf, response } = await signInTo(app, 'admin', customer);
  return { cookies: { admin_session: token }, csrf, response };
}

let customers = 0;

/** A customer tenant of its own, in a workspace of its own. */
export async function createCustomerTenant(
  database: TestDatabase,
  name = 'Customer',
): Promise<{ id: number; externalId: string }> {
  const externalId = `customer-${++customers}-${Date.now()}`;
  const { rows } = await database.pool.query<{ id: number }>(
    `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ($1, $2) RETURNING id)
     INSERT INTO tenants (workspace_id, external_id, name) SELECT id, $1, $2 FROM w RETURNING id::int`,
    [externalId, name],
  );
  return { id: rows[0]!.id, externalId };
}

/** A customer user of the `/admin` plane with a known password, in this tenant (default: a new one). */
export async function createCustomer(database: TestDatabase, tenantExternalId?: string) {
  const tenant = tenantExternalId ?? (await createCustomerTenant(database)).externalId;
  const email = `customer${++customers}-${Date.now()}@example.com`;
  const password = 'correct horse battery staple';
  const user = await createCustomerUser(database.pool, { email, password, tenantExternalId: tenant });
  return { id: user.id, email, password, tenantId: user.tenantId, tenantExternalId: tenant };
}

/** A customer user of the `/admin` plane with a live admin session; returns its cookie token. */
export async function adminSessionToken(database: TestDatabase): Promise<string> {
  const customer = await createCustomer(database);
  const { token } = await createSession(database.pool, { plane: 'admin', userId: customer.id });
  return token;
}
