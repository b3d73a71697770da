import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken, SESSION_IDLE_MS } from '../src/auth/sessions.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import {
  adminSessionToken,
  consoleApp,
  cookieHeader,
  cookiesOf,
  createOperator,
  postLogin,
  signIn,
} from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

describe('server-side sessions', () => {
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

  // The tests write to the database as another process would; the console forgets the
  // sessions it keeps once it has heard of the change (`caughtUp`).
  const runbooksWith = (token: string) =>
    app.inject({ method: 'GET', url: '/system/ops/runbooks', headers: { cookie: `system_session=${token}` } });

  const expectSignedOut = async (token: string) => {
    const response = await runbooksWith(token);
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/system/login?next=%2Fsystem%2Fops%2Frunbooks');
  };

  const sessionRow = async (token: string) =>
    (await database.pool.query('SELECT * FROM sessions WHERE token_hash = $1', [hashSessionToken(token)])).rows[0];

  it('signing out deletes the row and the cookie; the old token is signed out', async () => {
    const operator = await createOperator(database, ALL_CAPABILITIES);
    const { cookies, csrf } = await signIn(app, operator);
    expect((await runbooksWith(cookies.system_session)).statusCode).toBe(200);
    const response = await app.inject({
      method: 'POST',
      url: '/system/logout',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(cookies) },
      payload: `_csrf=${encodeURIComponent(csrf)}`,
    });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/system/login');
    expect(response.cookies.find((c) => c.name === 'system_session')).toMatchObject({ value: '', path: '/system' });
    expect(await sessionRow(cookies.system_session)).toBeUndefined();
    await expectSignedOut(cookies.system_session);
  });

  it('signing out needs the CSRF token of the session', async () => {
    const operator = await createOperator(database, ALL_CAPABILITIES);
    const mine = await signIn(app, operator);
    const theirs = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
    for (const payload of ['', '_csrf=forged', `_csrf=${encodeURIComponent(theirs.csrf)}`]) {
      const response = await app.inject({
        method: 'POST',
        url: '/system/logout',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader(mine.cookies) },
        payload,
      });
      expect(response.statusCode).toBe(403);
    }
    expect((await runbooksWith(mine.cookies.system_session)).statusCode).toBe(200);
  });

  it('a tampered token is signed out', async () => {
    const { cookies } = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
    const token = cookies.system_session;
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const tampered of [flipped, `${token}x`, token.slice(1), '', 'null', hashSessionToken(token)])
      await expectSignedOut(tampered);
    expect((await runbooksWith(token)).statusCode).toBe(200);
  });

  it('an expired session (absolute or idle) is signed out', async () => {
    const absolute = (await signIn(app, await createOperator(database, ALL_CAPABILITIES))).cookies.system_session;
    const idle = (await signIn(app, await createOperator(database, ALL_CAPABILITIES))).cookies.system_session;
    await database.pool.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [
      hashSessionToken(absolute),
    ]);
    await app.changeFeed.caughtUp();
    await database.pool.query(
      `UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE token_hash = $1`,
      [hashSessionToken(idle)],
    );
    await app.changeFeed.caughtUp();
    await expectSignedOut(absolute);
    await expectSignedOut(idle);
  });

  it('use pushes the idle expiry forward, never past the absolute one', async () => {
    const token = (await signIn(app, await createOperator(database, ALL_CAPABILITIES))).cookies.system_session;
    await database.pool.query(
      `UPDATE sessions SET last_seen_at = now() - interval '5 minutes', idle_expires_at = now() + interval '1 minute' WHERE token_hash = $1`,
      [hashSessionToken(token)],
    );
    await app.changeFeed.caughtUp();
    expect((await runbooksWith(token)).statusCode).toBe(200);
    let row = await sessionRow(token);
    expect(row.idle_expires_at.getTime()).toBeGreaterThan(Date.now() + SESSION_IDLE_MS - 60_000);
    await database.pool.query(
      `UPDATE sessions SET last_seen_at = now() - interval '5 minutes', expires_at = now() + interval '2 minutes' WHERE token_hash = $1`,
      [hashSessionToken(token)],
    );
    await app.changeFeed.caughtUp();
    expect((await runbooksWith(token)).statusCode).toBe(200);
    row = await sessionRow(token);
    expect(row.idle_expires_at.getTime()).toBe(row.expires_at.getTime());
  });

  it("the page's own polls are not use: they neither move the idle expiry nor keep an idle session alive", async () => {
    const { cookies } = await signIn(app, await createOperator(database, ALL_CAPABILITIES));
    const token = cookies.system_session;
    await database.pool.query(`UPDATE sessions SET last_seen_at = now() - interval '5 minutes' WHERE token_hash = $1`, [
      hashSessionToken(token),
    ]);
    await app.changeFeed.caughtUp();
    const before = await sessionRow(token);
    const poll = await app.inject({
      method: 'GET',
      url: '/system/notifications/count',
      headers: { cookie: `system_session=${token}`, 'hx-request': 'true' },
    });
    expect(poll.statusCode).toBe(200);
    expect(await sessionRow(token)).toMatchObject({
      last_seen_at: before.last_seen_at,
      idle_expires_at: before.idle_expires_at,
    });
    // A page the operator asks for is use.
    expect((await runbooksWith(token)).statusCode).toBe(200);
    expect((await sessionRow(token)).last_seen_at.getTime()).toBeGreaterThan(before.last_seen_at.getTime());
    // Idle past its expiry, the session ends even for a poll.
    await database.pool.query(
      `UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE token_hash = $1`,
      [hashSessionToken(token)],
    );
    await app.changeFeed.caughtUp();
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/system/notifications/count',
          headers: { cookie: `system_session=${token}`, 'hx-request': 'true' },
        })
      ).statusCode,
    ).not.toBe(200);
  });

  it('signing in again issues a new token and ends the old session', async () => {
    const operator = await createOperator(database, ALL_CAPABILITIES);
    const first = await signIn(app, operator);
    const form = await app.inject({
      method: 'GET',
      url: '/system/login',
      headers: { cookie: cookieHeader(first.cookies) },
    });
    const csrf = form.body.match(/name="_csrf" value="([^"]+)"/)![1]!;
    const again = await postLogin(
      app,
      { email: operator.email, password: operator.password, _csrf: csrf },
      { cookies: first.cookies },
    );
    expect(again.statusCode).toBe(303);
    const second = cookiesOf(again).system_session!;
    expect(second).not.toBe(first.cookies.system_session);
    expect(await sessionRow(first.cookies.system_session)).toBeUndefined();
    await expectSignedOut(first.cookies.system_session);
    expect((await runbooksWith(second)).statusCode).toBe(200);
  });

  it('a deactivated operator is signed out', async () => {
    const operator = await createOperator(database, ALL_CAPABILITIES);
    const { cookies } = await signIn(app, operator);
    await database.pool.query('UPDATE platform_users SET is_active = false WHERE id = $1', [operator.id]);
    await app.changeFeed.caughtUp();
    await expectSignedOut(cookies.system_session);
  });

  it('an /admin session token in the system cookie is no system session', async () => {
    await expectSignedOut(await adminSessionToken(database));
  });
});
