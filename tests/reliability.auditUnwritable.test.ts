// The audit trail is the record, not a gate: with audit_events refusing every insert (a trigger
// that raises), sign-in, preflight, start and the run itself all succeed, and each event that
// could not be written is said once on stderr, without a password or a session token.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ALL_CAPABILITIES } from '../src/runbooks/capabilities.js';
import { buildApp } from '../src/web/app.js';
import { createOperator, signIn } from './support/console.js';
import { useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';

describe('an audit table that refuses every write', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 40, seed: 43 } });
  let app: FastifyInstance;
  const said: string[] = [];

  beforeAll(async () => {
    app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
    await h.database.pool.query(`
      CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_events is read-only for this test'; END $$;
      CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit();`);
    const { stderr } = process;
    const write = stderr.write.bind(stderr);
    vi.spyOn(stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      said.push(String(chunk));
      return write(chunk);
    });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await h.database.pool.query('DROP TRIGGER IF EXISTS refuse_audit ON audit_events');
    await app?.close();
  });

  it('signs in, preflights, starts and completes a run; each lost event is said once, without secrets', async () => {
    const operator = await createOperator(h.database, ALL_CAPABILITIES);
    const session = await signIn(app, operator);
    expect(session.response.statusCode).toBe(303);
    const { run } = await h.start({ kind: 'all_tenants' });
    expect(await waitForRun(h.database.pool, run.id)).toMatchObject({ status: 'completed', outcome: 'succeeded' });
    expect((await h.database.pool.query('SELECT count(*)::int AS n FROM audit_events')).rows[0].n).toBe(0);

    const lost = said.filter((line) => line.startsWith('audit: could not record '));
    const actions = lost.map((line) => /^audit: could not record (\S+)/.exec(line)![1]);
    for (const action of ['auth.login_succeeded', 'runbook.preflighted', 'runbook.started', 'runbook.completed'])
      expect(
        actions.filter((said) => said === action),
        action,
      ).toHaveLength(1);
    expect(lost.every((line) => line.includes('audit_events is read-only for this test'))).toBe(true);
    const everything = said.join('');
    expect(everything).not.toContain(operator.password);
    expect(everything).not.toContain(session.cookies.system_session);
  });
});
