// Every answer carries the security headers and is the console's page, including the ones the
// router and Node's HTTP parser make before any hook of the app runs. Over a real socket on
// loopback: inject() would never reach the parser's 431.
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleApp, cookieHeader, createOperator, signIn } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a new connection, with the path sent as it is (no client-side normalizing). */
function send(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('security headers on every answer', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let port: number;
  let cookie: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Plain http, as in development: no HSTS here (the next test has it).
    app = await consoleApp(database, {}, { COOKIE_SECURE: 'false' });
    const { cookies } = await signIn(app, await createOperator(database, ['platform.ops.runs.view']));
    cookie = cookieHeader(cookies);
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });

  it('sets them on pages, on refusals of every kind, and on what the router and the parser refuse', async () => {
    const answers: Array<[string, number, Promise<Answer>]> = [
      ['a page', 200, send(port, '/system/login')],
      ['a signed-in page', 200, send(port, '/system/ops/runs', { cookie })],
      ['a redirect to sign in', 303, send(port, '/system/ops/runs')],
      ['a page not there', 404, send(port, '/system/no-such-page', { cookie })],
      ['a run id in another form', 404, send(port, `/system/ops/runs/urn:uuid:${randomUUID()}`, { cookie })],
      ['a capability missing', 403, send(port, '/system/ops/runbooks', { cookie })],
      ['a query the page does not take', 400, send(port, '/system/ops/runs?nope=1', { cookie })],
      ['a path the router cannot decode', 400, send(port, '/system/%ZZ', { cookie })],
      ['an id over the length the router takes', 414, send(port, `/system/ops/runs/${'a'.repeat(101)}`, { cookie })],
      [
        'a form without its token',
        403,
        send(port, '/system/logout', { cookie, 'content-type': 'application/x-www-form-urlencoded' }, 'POST'),
      ],
      ['headers over 16 KB', 431, send(port, '/system/login', { 'x-padding': 'x'.repeat(20_000) })],
    ];
    for (const [what, status, answer] of answers) {
      const { status: got, headers, body } = await answer;
      expect(got, what).toBe(status);
      expect(String(headers['content-security-policy']), what).toContain("frame-ancestors 'none'");
      expect(headers['x-frame-options'], what).toBe('DENY');
      expect(headers['x-content-type-options'], what).toBe('nosniff');
      expect(headers['referrer-policy'], what).toBe('no-referrer');
      if (got === 303) continue;
      expect(String(headers['content-type']), what).toMatch(/^text\/html/);
      expect(body, what).toMatch(/^<!doctype html>/i);
    }
  });

  it('pins https (HSTS) where cookies are Secure, on the parser refusals too', async () => {
    const secure = await consoleApp(database);
    try {
      await secure.listen({ host: '127.0.0.1', port: 0 });
      const securePort = (secure.server.address() as { port: number }).port;
      for (const answer of [
        await send(securePort, '/system/login'),
        await send(securePort, '/system/%ZZ'),
        await send(securePort, '/system/login', { 'x-padding': 'x'.repeat(20_000) }),
      ]) {
        expect(answer.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      }
      expect((await send(port, '/system/login')).headers['strict-transport-security']).toBeUndefined();
    } finally {
      await secure.close();
    }
  });
});
