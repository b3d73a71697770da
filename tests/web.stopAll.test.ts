// The console's switch for every run: offered to managers only, behind the typed phrase and a
// reason; the runs list says a stop holds (escaped) and offers to lift it.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, CAPABILITIES } from '../src/runbooks/capabilities.js';
import { getRun } from '../src/runbooks/runs.js';
import { buildApp } from '../src/web/app.js';
import { cookieHeader, createOperator, postForm, signIn } from './support/console.js';
import { unflagFindings } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

type Session = { cookies: Record<string, string>; csrf: string };
const HOSTILE_REASON = 'Failover <script>alert(1)</script> in progress';

describe('stop every run, from the console', () => {
  const h = useRunbookHarness({
    seed: { tenants: 3, findingsPerTenant: 100, seed: 41 },
    settings: { batchSize: 10, childParallelism: 1 },
  });
  let app: FastifyInstance;
  let manager: Session;
  let viewer: Session;

  beforeAll(async () => {
    app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
    manager = await signIn(app, await createOperator(h.database, ALL_CAPABILITIES));
    viewer = await signIn(app, await createOperator(h.database, [CAPABILITIES.runsView]));
  });
  afterAll(async () => {
    await app?.close();
  });

  const get = (url: string, as: Session = manager) =>
    app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(as.cookies) } });
  const post = (action: string, fields: Record<string, string>, as: Session = manager) =>
    postForm(app, `/system/ops/runs/${action}`, { _csrf: as.csrf, ...fields }, { cookies: as.cookies });

  it('pauses a running run behind the phrase and a reason, says so on the runs list, and resumes it', async () => {
    await unflagFindings(h.database.pool);
    const restore = await slowBatches(h.database.pool, 100);
    try {
      const { run } = await h.start({ kind: 'all_tenants' });
      await until(
        () => getRun(h.database.pool, run.id),
        (r) => r?.status === 'running',
        'the run to start',
      );

      expect((await get('/system/ops/runs')).body).toContain('<a href="/system/ops/runs/stop-all">Stop every run…</a>');
      expect((await get('/system/ops/runs', viewer)).body).not.toContain('stop-all');
      expect((await get('/system/ops/runs/stop-all', viewer)).statusCode).toBe(403);
      expect(
        (await post('stop-all', { confirmation: 'STOP ALL RUNS', reason: HOSTILE_REASON }, viewer)).statusCode,
      ).toBe(403);
      const form = await get('/system/ops/runs/stop-all');
      expect(form.statusCode).toBe(200);
      expect(form.body).toContain('Type <strong>STOP ALL RUNS</strong> to confirm');

      const wrong = await post('stop-all', { confirmation: 'stop all runs', reason: HOSTILE_REASON });
      expect(wrong.statusCode).toBe(422);
      expect(wrong.body).toContain(
        'Stopping every run needs the typed confirmation &quot;STOP ALL RUNS&quot; exactly.',
      );
      expect(wrong.body).toContain('value="stop all runs"');
      expect((await getRun(h.database.pool, run.id))!.pausedAt).toBeNull();

      const stopped = await post('stop-all', { confirmation: 'STOP ALL RUNS', reason: HOSTILE_REASON });
      expect(stopped.statusCode).toBe(303);
      expect(stopped.headers.location).toBe('/system/ops/runs');
      expect(await getRun(h.database.pool, run.id)).toMatchObject({ status: 'running', pauseReason: HOSTILE_REASON });
      const list = (await get('/system/ops/runs')).body;
      expect(list).toContain('Every run is stopped, by ');
      expect(list).toContain('Failover &lt;script&gt;alert(1)&lt;/script&gt; in progress');
      expect(list).not.toContain('<script>alert(1)');
      expect(list).toContain('<a href="/system/ops/runs/resume-all">Resume every run…</a>');
      expect((await get('/system/ops/runs', viewer)).body).not.toContain('resume-all');
      expect((await get('/system/ops/runs/stop-all')).statusCode).toBe(409);

      expect((await post('resume-all', { reason: 'short' })).statusCode).toBe(422);
      const resumed = await post('resume-all', { reason: 'The failover is over, go on' });
      expect(resumed.statusCode).toBe(303);
      expect((await get('/system/ops/runs')).body).not.toContain('Every run is stopped');
      expect((await get('/system/ops/runs/resume-all')).statusCode).toBe(409);
      expect(await waitForRun(h.database.pool, run.id)).toMatchObject({ outcome: 'succeeded', pausedAt: null });
    } finally {
      await restore();
    }
  });
});
