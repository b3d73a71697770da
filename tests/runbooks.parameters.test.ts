import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { ParameterRefusal, parameterFields, parseParameters } from '../src/runbooks/parameters.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { registerRunbook, RUNBOOKS } from '../src/runbooks/registry.js';
import { getRun } from '../src/runbooks/runs.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { runOf, startRunbook } from '../src/runbooks/start.js';
import type { StartRequest } from '../src/runbooks/validateStart.js';
import { buildApp } from '../src/web/app.js';
import { confirmationOf, cookieHeader, createOperator, postForm, signIn } from './support/console.js';
import { useFlagRunbook } from './support/flagRunbook.js';
import { useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { refusalOf } from './support/refusal.js';

const runbook = useFlagRunbook();
const REASON = 'Flag the old findings for the review';
const one = (externalId: string): ScopeInput => ({ kind: 'tenants', externalIds: [externalId] });

describe('typed parameters: one declaration, checked in one place', () => {
  it('fills in defaults, converts text and makes the values canonical', () => {
    expect(
      parseParameters(runbook.parameters, { olderThanDays: ' 30 ', severities: ['low', 'high,critical'] }),
    ).toEqual({ olderThanDays: 30, severities: ['critical', 'high', 'low'], note: 'flagged' });
    // Equal choices are the same values, however they were given.
    expect(parseParameters(runbook.parameters, { olderThanDays: 30, severities: 'low,critical,low' })).toEqual(
      parseParameters(runbook.parameters, { olderThanDays: '30', severities: ['critical', 'low'] }),
    );
  });

  it('refuses unknown, missing and out-of-bounds values, by parameter', () => {
    const problems = (raw: Record<string, unknown>) => {
      try {
        parseParameters(runbook.parameters, raw);
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(ParameterRefusal);
        return (error as ParameterRefusal).problems;
      }
    };
    expect(problems({})).toEqual({ olderThanDays: 'is required: give a whole number from 1 to 3,650' });
    expect(problems({ olderThanDays: 30, since: 'yesterday' })).toEqual({
      since: 'is not a parameter of this runbook (it takes olderThanDays, severities, note)',
    });
    expect(problems({ olderThanDays: '1e3', severities: ['urgent'], note: 'x'.repeat(41) })).toEqual({
      olderThanDays: 'must be a whole number from 1 to 3,650',
      severities: 'must be one or more of critical, high, medium, low',
      note: 'must be text of at most 40 characters',
    });
  });

  it('enforces every declared bound of every parameter (property)', () => {
    const fields = parameterFields(runbook.parameters);
    const days = fields.find((field) => field.name === 'olderThanDays')!;
    const note = fields.find((field) => field.name === 'note')!;
    const severities = fields.find((field) => field.name === 'severities')!;
    let tried = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.string({ maxLength: 60 }),
        fc.array(fc.constantFrom(...severities.choices!, 'urgent', ''), { maxLength: 6 }),
        (n, text, chosen) => {
          tried += 1;
          const accepts = (raw: Record<string, unknown>) => {
            try {
              parseParameters(runbook.parameters, { olderThanDays: 30, ...raw });
              return true;
            } catch (error) {
              if (!(error instanceof ParameterRefusal)) throw error;
              return false;
            }
          };
          expect(accepts({ olderThanDays: n })).toBe(n >= days.min! && n <= days.max!);
          expect(accepts({ olderThanDays: String(n) })).toBe(n >= days.min! && n <= days.max!);
          expect(accepts({ note: text })).toBe(text.length <= note.maxLength!);
          const named = chosen.filter((choice) => choice !== '');
          expect(accepts({ severities: chosen })).toBe(
            named.every((choice) => severities.choices!.includes(choice)) && (named.length > 0 || chosen.length === 0),
          );
        },
      ),
      { numRuns: 300 },
    );
    expect(tried).toBe(300);
  });

  it('registers no deploy-triggered runbook with a parameter that has no default (the deploy hook starts with defaults)', () => {
    expect(() =>
      registerRunbook({ ...runbook, id: 'test.deploy', cliName: 'test-deploy', deployTriggered: true }),
    ).toThrow('test.deploy is deploy-triggered, so every parameter needs a default; olderThanDays has none');
    expect(RUNBOOKS.map((known) => known.id)).not.toContain('test.deploy');
  });

  it('gives the CLI one flag per parameter, with its type and default in --help', async () => {
    const argv = ['node', 'cli', 'start-runbook', runbook.cliName, '--help'];
    const command = (await buildProgram(argv)).commands.find((c) => c.name() === 'start-runbook')!;
    const flags = Object.fromEntries(command.options.map((option) => [option.long, option.description]));
    expect(flags['--older-than-days']).toBe(
      'Only findings created before this (a whole number from 1 to 3,650; required)',
    );
    expect(flags['--severities']).toMatch(
      /one or more of critical, high, medium, low; repeat the flag or separate with commas; default: critical, high, medium, low\)$/,
    );
    expect(flags['--note']).toMatch(/default: flagged\)$/);
    // Without a runbook named, the help lists the catalog with each runbook's flags.
    const plain = (await buildProgram(['node', 'cli', 'start-runbook', '--help'])).commands.find(
      (c) => c.name() === 'start-runbook',
    )!;
    expect(plain.options.map((option) => option.long)).not.toContain('--older-than-days');
    let help = '';
    plain.configureOutput({ writeOut: (text) => (help += text) }).outputHelp();
    expect(help).toContain(`${runbook.cliName.padEnd(24)} ${runbook.title}; --older-than-days --severities --note`);
  });
});

describe('a runbook with parameters, end to end through the engine', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 60, seed: 21 } });
  const preflight = (scope: ScopeInput, parameters: Record<string, unknown>) =>
    runPreflight(h.database.pool, { runbook, scope, parameters, initiator: h.operator });
  const start = async (request: Partial<StartRequest> & { scope: ScopeInput; preflightId: string }) =>
    runOf(
      await startRunbook(
        { pool: h.database.pool, launcher: h.launcher },
        { runbook: runbook.id, initiator: h.operator, reason: REASON, source: 'cli', ...request },
      ),
    );

  it('saves the preflight with its canonical parameters and one instant, and the run changes what it counted', async () => {
    const parameters = { olderThanDays: '1', severities: 'high,critical', note: 'review' };
    const saved = await preflight(one('tenant-00001'), parameters);
    expect(saved.parameters).toEqual({ olderThanDays: 1, severities: ['critical', 'high'], note: 'review' });
    expect(saved.report.parameters).toEqual(saved.parameters);
    expect(saved.report.asOf).toBe(saved.asOf.toISOString());
    expect(saved.report.toChange).toBeGreaterThan(0);

    const { run } = await start({ scope: one('tenant-00001'), parameters, preflightId: saved.id });
    expect(run.parameters).toEqual(saved.parameters);
    expect(run.asOf.toISOString()).toBe(saved.asOf.toISOString());
    const done = await waitForRun(h.database.pool, run.id);
    expect(done.outcome).toBe('succeeded');
    expect(done.counts.changed).toBe(saved.report.toChange);
    const { rows } = await h.database.pool.query(
      `SELECT count(*)::int AS n FROM findings f JOIN tenants t ON t.id = f.tenant_id
        WHERE t.external_id = 'tenant-00001' AND f.title LIKE '% [review]'`,
    );
    expect(rows[0].n).toBe(saved.report.toChange);
    // Done: a second preflight with the same values finds nothing left to change.
    expect((await preflight(one('tenant-00001'), parameters)).report.toChange).toBe(0);
  });

  it('refuses a start whose parameters differ from its preflight, and a key reused with other parameters', async () => {
    const saved = await preflight(one('tenant-00002'), { olderThanDays: 5 });
    const mismatch = await refusalOf(
      start({ scope: one('tenant-00002'), parameters: { olderThanDays: 6 }, preflightId: saved.id }),
    );
    expect(mismatch.code).toBe('preflight_mismatch');
    expect(mismatch.message).toMatch(
      /computed for other parameters \(olderThanDays 5, severities critical, high, medium, low, note flagged\), not olderThanDays 6/,
    );

    const key = `parameters-${Date.now()}`;
    const { run } = await start({
      scope: one('tenant-00002'),
      parameters: { olderThanDays: 5 },
      preflightId: saved.id,
      idempotencyKey: key,
    });
    await waitForRun(h.database.pool, run.id);
    const other = await preflight(one('tenant-00002'), { olderThanDays: 9 });
    const conflict = await refusalOf(
      start({
        scope: one('tenant-00002'),
        parameters: { olderThanDays: 9 },
        preflightId: other.id,
        idempotencyKey: key,
      }),
    );
    expect(conflict.code).toBe('idempotency_conflict');
    // The same values with the same key are the same start.
    const again = await start({
      scope: one('tenant-00002'),
      parameters: { olderThanDays: '5' },
      preflightId: saved.id,
      idempotencyKey: key,
    });
    expect(again).toMatchObject({ created: false, run: { id: run.id } });
  });

  it('refuses bad parameters before anything but the refusal is written', async () => {
    const before = await h.database.pool.query('SELECT (SELECT count(*) FROM preflights)::int AS p');
    const refusal = await refusalOf(preflight(one('tenant-00003'), { olderThanDays: 0, colour: 'red' }));
    expect(refusal).toBeInstanceOf(ParameterRefusal);
    expect((refusal as ParameterRefusal).problems).toEqual({
      colour: expect.stringMatching(/^is not a parameter/),
      olderThanDays: 'must be a whole number from 1 to 3,650',
    });
    const after = await h.database.pool.query('SELECT (SELECT count(*) FROM preflights)::int AS p');
    expect(after.rows[0].p).toBe(before.rows[0].p);
    const { rows } = await h.database.pool.query(
      `SELECT metadata FROM audit_events WHERE action = 'runbook.preflight_rejected' ORDER BY id DESC LIMIT 1`,
    );
    expect(rows[0].metadata).toMatchObject({
      code: 'invalid_parameters',
      parameters: { olderThanDays: 0, colour: 'red' },
    });
  });

  describe('in the console', () => {
    let app: FastifyInstance;
    let session: { cookies: Record<string, string>; csrf: string };

    beforeAll(async () => {
      app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
      session = await signIn(app, await createOperator(h.database, ALL_CAPABILITIES));
    });
    afterAll(async () => {
      await app?.close();
    });

    const post = (path: string, fields: Array<[string, string]>) =>
      postForm(app, `/system/ops/runbooks/${runbook.id}/${path}`, [['_csrf', session.csrf], ...fields], {
        cookies: session.cookies,
      });

    it('renders the declared fields: a number with its bounds, a checkbox per choice, a text with its length', async () => {
      const page = await app.inject({
        method: 'GET',
        url: '/system/ops/runbooks',
        headers: { cookie: cookieHeader(session.cookies) },
      });
      expect(page.statusCode).toBe(200);
      expect(page.body).toMatch(
        /<input type="number" id="param-test-findings-flag-olderThanDays" name="p\.olderThanDays" step="1" inputmode="numeric" min="1" max="3650" value=""[^>]* required>/,
      );
      for (const severity of ['critical', 'high', 'medium', 'low'])
        expect(page.body).toContain(`<input type="checkbox" name="p.severities" value="${severity}" checked>`);
      expect(page.body).toMatch(/name="p\.note" autocomplete="off" maxlength="40" value="flagged"/);
    });

    it('refuses bad values by field with 422, then preflights and starts with the values it showed', async () => {
      const refused = await post('preflight', [
        ['scope', 'tenant'],
        ['tenant', 'tenant-00003'],
        ['p.olderThanDays', '0'],
      ]);
      expect(refused.statusCode).toBe(422);
      expect(refused.body).toContain('Check the parameters: Older than (days) must be a whole number from 1 to 3,650.');
      expect(refused.body).toContain('id="param-test-findings-flag-olderThanDays-problem"');

      const shown = await post('preflight', [
        ['scope', 'tenant'],
        ['tenant', 'tenant-00003'],
        ['p.olderThanDays', '2'],
        ['p.severities', 'low'],
        ['p.severities', 'medium'],
      ]);
      expect(shown.statusCode).toBe(200);
      expect(shown.body).toContain('<th scope="row">Parameter <code>severities</code></th><td>medium, low</td>');
      const { parameters: hidden, confirmed } = confirmationOf(shown.body);
      expect(hidden).toEqual([
        ['p.olderThanDays', '2'],
        ['p.severities', 'medium'],
        ['p.severities', 'low'],
        ['p.note', 'flagged'],
      ]);
      const started = await post('start', [
        ['scope', 'tenant'],
        ['tenant', 'tenant-00003'],
        ...hidden,
        ...confirmed,
        ['reason', REASON],
      ]);
      expect(started.statusCode, started.body).toBe(303);
      const runId = /\/system\/ops\/runs\/([0-9a-f-]{36})/.exec(started.headers.location as string)![1]!;
      expect((await getRun(h.database.pool, runId))!.parameters).toEqual({
        olderThanDays: 2,
        severities: ['medium', 'low'],
        note: 'flagged',
      });
      const runPage = await app.inject({
        method: 'GET',
        url: `/system/ops/runs/${runId}`,
        headers: { cookie: cookieHeader(session.cookies) },
      });
      expect(runPage.body).toContain('<dt>Parameter <code>olderThanDays</code></dt><dd>2</dd>');
    });
  });
});
