import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { parameterFields } from '../src/runbooks/parameters.js';
import { getRunbook, RUNBOOKS } from '../src/runbooks/registry.js';
import { getRun } from '../src/runbooks/runs.js';
import { buildApp } from '../src/web/app.js';
import { runCli } from './support/cli.js';
import { confirmationOf, cookieHeader, createOperator, postForm, signIn } from './support/console.js';
import { useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';

const REASON = 'Tidy up after the scanner migration';

const escaped = (text: string) =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/** The catalog's runbooks run end to end, with their parameters, from the CLI and from the console. */
describe('the catalog, end to end', () => {
  const h = useRunbookHarness({ seed: { tenants: 4, findingsPerTenant: 30, seed: 41 } });
  const env = (): Record<string, string> => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
  });
  const tenantId = async (externalId: string) =>
    Number((await h.database.pool.query(`SELECT id FROM tenants WHERE external_id = $1`, [externalId])).rows[0].id);

  describe('from the CLI', () => {
    it('closes stale findings with the flags its parameters declare, and resolves them as the run', async () => {
      const result = await runCli(
        [
          'start-runbook',
          'close-stale-findings',
          '--tenant',
          'tenant-00001',
          '--older-than-days',
          '30',
          '--severity',
          'high',
          '--severity',
          'critical',
          '--note',
          'Stale since the migration',
          '--reason',
          REASON,
          '--wait',
          '--json',
        ],
        env(),
      );
      expect(result.code, result.stderr).toBe(0);
      const { run } = JSON.parse(result.stdout);
      expect(run).toMatchObject({
        outcome: 'succeeded',
        parameters: { olderThanDays: 30, severities: ['critical', 'high'], note: 'Stale since the migration' },
      });
      expect(run.counts.changed).toBeGreaterThan(0);
      const { rows } = await h.database.pool.query(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE f.severity IN ('critical', 'high'))::int AS chosen,
                count(*) FILTER (WHERE e.note = 'Stale since the migration' AND f.status = 'resolved')::int AS resolved
           FROM finding_events e JOIN findings f ON f.id = e.finding_id
          WHERE e.actor = $1 AND e.tenant_id = $2`,
        [`runbook:${run.id}`, await tenantId('tenant-00001')],
      );
      expect(rows[0]).toEqual({ n: run.counts.changed, chosen: run.counts.changed, resolved: run.counts.changed });
    });

    it('refuses bad values naming the flag, exit 2, and starts nothing', async () => {
      const bounds = await runCli(
        [
          'start-runbook',
          'close-stale-findings',
          '--tenant',
          'tenant-00002',
          '--older-than-days',
          '3',
          '--reason',
          REASON,
        ],
        env(),
      );
      expect(bounds).toMatchObject({
        code: 2,
        stderr: 'error: --older-than-days must be a whole number from 7 to 3,650\n',
      });
      const choice = await runCli(
        [
          'start-runbook',
          'close-stale-findings',
          '--tenant',
          'tenant-00002',
          '--older-than-days',
          '30',
          '--severity',
          'urgent',
          '--reason',
          REASON,
        ],
        env(),
      );
      expect(choice.code).toBe(2);
      expect(choice.stderr).toMatch(/^error: --severity must be one or more of critical, high, medium, low\n$/);
      const { rows } = await h.database.pool.query(
        `SELECT count(*)::int AS n FROM operation_runs WHERE runbook = 'findings.stale.close' AND scope::text LIKE '%tenant-00002%'`,
      );
      expect(rows[0].n).toBe(0);
    });

    it('rebuilds tenant finding statistics: one row per tenant, computed as of the run', async () => {
      const result = await runCli(
        ['start-runbook', 'tenant-finding-stats', '--tenant', 'tenant-00003', '--reason', REASON, '--wait', '--json'],
        env(),
      );
      expect(result.code, result.stderr).toBe(0);
      const { run } = JSON.parse(result.stdout);
      expect(run).toMatchObject({ outcome: 'succeeded', counts: { changed: 1 } });
      const { rows } = await h.database.pool.query(
        `SELECT computed_at = $2::timestamptz AS as_of_run FROM tenant_finding_stats WHERE tenant_id = $1`,
        [await tenantId('tenant-00003'), (await getRun(h.database.pool, run.id))!.asOf],
      );
      expect(rows).toEqual([{ as_of_run: true }]);
    });
  });

  describe('from the console', () => {
    let app: FastifyInstance;
    let session: { cookies: Record<string, string>; csrf: string };

    beforeAll(async () => {
      app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
      session = await signIn(app, await createOperator(h.database, ALL_CAPABILITIES));
    });
    afterAll(async () => {
      await app?.close();
    });

    const post = (runbookId: string, path: string, fields: Array<[string, string]>) =>
      postForm(app, `/system/ops/runbooks/${runbookId}/${path}`, [['_csrf', session.csrf], ...fields], {
        cookies: session.cookies,
      });

    it('lists every runbook of the catalog with its description, unit and a field per parameter', async () => {
      const page = await app.inject({
        method: 'GET',
        url: '/system/ops/runbooks',
        headers: { cookie: cookieHeader(session.cookies) },
      });
      expect(page.statusCode).toBe(200);
      for (const runbook of RUNBOOKS) {
        expect(page.body).toContain(runbook.title);
        expect(page.body).toContain(escaped(runbook.description));
        expect(page.body).toContain(escaped(runbook.unit));
        for (const field of parameterFields(runbook.parameters)) expect(page.body).toContain(`name="p.${field.name}"`);
      }
    });

    for (const [runbookId, fields] of [
      [
        'findings.stale.close',
        [
          ['p.olderThanDays', '60'],
          ['p.severities', 'medium'],
          ['p.note', 'From the console'],
        ],
      ],
      ['tenants.finding_stats.rebuild', []],
    ] as Array<[string, Array<[string, string]>]>) {
      it(`preflights and starts ${runbookId} with its parameters; the run succeeds`, async () => {
        const scope: Array<[string, string]> = [
          ['scope', 'tenant'],
          ['tenant', 'tenant-00004'],
        ];
        const shown = await post(runbookId, 'preflight', [...scope, ...fields]);
        expect(shown.statusCode, shown.body).toBe(200);
        const { parameters: hidden, confirmed } = confirmationOf(shown.body);
        // Refused (no reason): the saved report comes back, its parameters in the declared order, not jsonb's.
        const refused = await post(runbookId, 'start', [...scope, ...hidden, ...confirmed, ['reason', '']]);
        expect(refused.statusCode).toBe(422);
        expect([...refused.body.matchAll(/Parameter <code>(\w+)<\/code>/g)].map((m) => m[1])).toEqual(
          parameterFields(getRunbook(runbookId).parameters).map((field) => field.name),
        );
        const started = await post(runbookId, 'start', [...scope, ...hidden, ...confirmed, ['reason', REASON]]);
        expect(started.statusCode, started.body).toBe(303);
        const runId = /\/system\/ops\/runs\/([0-9a-f-]{36})/.exec(started.headers.location as string)![1]!;
        const run = await waitForRun(h.database.pool, runId);
        expect(run.outcome).toBe('succeeded');
        if (runbookId === 'findings.stale.close') {
          expect(run.parameters).toEqual({ olderThanDays: 60, severities: ['medium'], note: 'From the console' });
          expect(run.counts.changed).toBeGreaterThan(0);
        }
      });
    }
  });
});
