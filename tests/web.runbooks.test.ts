import { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, CAPABILITIES } from '../src/runbooks/capabilities.js';
import type { SampleChange } from '../src/runbooks/definition.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { buildApp } from '../src/web/app.js';
import { cookieHeader, cookiesOf, createOperator, fieldOf, signIn } from './support/console.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';

const HOSTILE = '<script>alert("x")</script>';
const REASON = 'Repair lifecycle fields after the import bug';

type Session = { cookies: Record<string, string>; csrf: string };

const number = (n: number) => n.toLocaleString('en-US');

// No worker polls this file's task queue: a started run stays queued, which is all the console promises.
// Rebuild Findings Lifecycle, not the engine tests' runbook: the page is checked down to the
// preflight's sample of changes (before and after), which only a catalog runbook gives.
describe('runbooks page: preflight → confirm → start', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 40, seed: 11 }, worker: false });
  let app: FastifyInstance;
  let operator: { id: number; email: string; password: string };
  let session: Session;
  let viewer: Session;
  let tenants: string[];
  let hostileTenant: string;

  beforeAll(async () => {
    app = await buildApp({ config: h.config, database: h.database, temporal: h.client });
    const { rows } = await h.database.pool.query<{ externalId: string }>(
      `SELECT external_id AS "externalId" FROM tenants WHERE external_id <> 'platform' ORDER BY id`,
    );
    tenants = rows.map((row) => row.externalId);
    hostileTenant = `hostile-${HOSTILE}`;
    await h.database.pool.query(
      `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ('hostile', $2) RETURNING id)
       INSERT INTO tenants (workspace_id, external_id, name) SELECT id, $1, $2 FROM w`,
      [hostileTenant, HOSTILE],
    );
    operator = await createOperator(h.database, ALL_CAPABILITIES);
    session = await signIn(app, operator);
    viewer = await signIn(app, await createOperator(h.database, [CAPABILITIES.runbooksView]));
  });

  afterAll(async () => {
    await app?.close();
  });

  const post = (
    url: string,
    fields: Record<string, string>,
    as: Session = session,
    headers: Record<string, string> = {},
  ) =>
    app.inject({
      method: 'POST',
      url,
      headers: { cookie: cookieHeader(as.cookies), 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(fields).toString(),
    });

  const preflight = (fields: Record<string, string>, as: Session = session, headers: Record<string, string> = {}) =>
    post(`/system/ops/runbooks/${LIFECYCLE}/preflight`, { _csrf: as.csrf, ...fields }, as, headers);

  const start = (fields: Record<string, string>, as: Session = session) =>
    post(`/system/ops/runbooks/${LIFECYCLE}/start`, { _csrf: as.csrf, ...fields }, as);

  /** The confirmation step's hidden fields of a preflight page (after the scope form's own). */
  const confirmFields = (page: string) => {
    const html = page.slice(page.indexOf('class="confirm"'));
    return {
      scope: fieldOf(html, 'scope'),
      tenant: fieldOf(html, 'tenant'),
      preflightId: fieldOf(html, 'preflightId'),
      idempotencyKey: fieldOf(html, 'idempotencyKey'),
    };
  };

  const runCount = async () =>
    Number((await h.database.pool.query('SELECT count(*) FROM operation_runs')).rows[0].count);

  it('shows each runbook with a scope form, and none to an operator who cannot run', async () => {
    const page = await app.inject({
      method: 'GET',
      url: '/system/ops/runbooks',
      headers: { cookie: cookieHeader(session.cookies) },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`action="/system/ops/runbooks/${LIFECYCLE}/preflight"`);
    expect(page.body).toContain('value="all_tenants"');
    const viewOnly = await app.inject({
      method: 'GET',
      url: '/system/ops/runbooks',
      headers: { cookie: cookieHeader(viewer.cookies) },
    });
    expect(viewOnly.statusCode).toBe(200);
    expect(viewOnly.body).not.toContain('/preflight"');
    expect(viewOnly.body).toContain('platform.ops.runbooks.run');
  });

  it('renders the preflight report with the numbers the core computes, then the confirmation step', async () => {
    const tenant = tenants[0]!;
    const response = await preflight({ scope: 'tenant', tenant });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('<html');
    const initiator: Initiator = {
      kind: 'platform_user',
      id: operator.id,
      email: operator.email,
      capabilities: ALL_CAPABILITIES,
    };
    const { report } = await runPreflight(h.database.pool, {
      runbook: getRunbook(LIFECYCLE),
      scope: { kind: 'tenants', externalIds: [tenant] },
      initiator,
    });
    expect(report.toChange).toBeGreaterThan(0);
    expect(response.body).toContain(`<th scope="row">Tenants in scope</th><td>1</td>`);
    expect(response.body).toContain(`<th scope="row">Findings in scope</th><td>${number(report.inScope)}</td>`);
    expect(response.body).toContain(`<th scope="row">Findings to change</th><td>${number(report.toChange)}</td>`);
    expect(response.body).toContain(
      `${number(report.toChange)} finding${report.toChange === 1 ? '' : 's'} in 1 tenant will change.`,
    );
    // The fields by name, in the same order every time (jsonb keeps none).
    const changed = Object.entries(report.breakdown)
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => a.localeCompare(b));
    const rows = changed.map(([field, count]) => `<tr><td><code>${field}</code></td><td>${number(count)}</td></tr>`);
    expect(response.body).toContain(rows.join('\n      '));
    const { rows: names } = await h.database.pool.query<{ name: string }>(
      'SELECT name FROM tenants WHERE external_id = $1',
      [tenant],
    );
    expect(response.body).toContain(
      `<td><code>${tenant}</code> <span class="tenant-name">${names[0]!.name}</span></td><td>${number(report.inScope)}</td><td>${number(report.toChange)}</td>`,
    );
    // What a start would meet is said now: nothing blocks it, and until when it may name this preflight.
    expect(response.body).toMatch(
      /This preflight can be started until <time datetime="[^"]+" title="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/time>/,
    );
    expect(response.body).not.toContain('Starting is blocked');
    expect(response.body).toContain('Sample: before and after');
    // The sample's key column is headed by the runbook's sampleKey, each row keyed by the finding's id.
    expect(report.sampleKey).toBe('Finding');
    expect(response.body).toContain(
      '<thead><tr><th>Finding</th><th>Field</th><th>Before</th><th>After</th></tr></thead>',
    );
    const [example] = report.sample;
    expect(example!.key).toMatch(/^\d+$/);
    expect(response.body).toContain(
      `<tr><td>${example!.key}</td><td><code>${Object.keys(example!.after)[0]}</code></td>`,
    );
    const fields = confirmFields(response.body);
    expect(fields).toMatchObject({ scope: 'tenant', tenant });
    expect(fields.preflightId).toMatch(/^[0-9a-f-]{36}$/);
    expect(fields.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.body).toContain('name="reason"');
    expect(response.body).not.toContain('name="confirmation"');
  });

  it('gives htmx only the partial', async () => {
    const response = await preflight({ scope: 'tenant', tenant: tenants[1]! }, session, { 'hx-request': 'true' });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain('<html');
    expect(response.body).toContain('Findings to change');
    expect(response.body).toContain('name="preflightId"');
  });

  it('starts exactly one run as the operator from system_ui, and a double submit starts no second', async () => {
    const before = await runCount();
    const form = confirmFields((await preflight({ scope: 'tenant', tenant: tenants[0]! })).body);
    const first = await start({ ...form, reason: REASON });
    expect(first.statusCode).toBe(303);
    const location = String(first.headers.location);
    const runId = location.match(/^\/system\/ops\/runs\/([0-9a-f-]{36})$/)?.[1];
    expect(runId).toBeDefined();
    const again = await start({ ...form, reason: REASON });
    expect(again.statusCode).toBe(303);
    expect(again.headers.location).toBe(location);
    expect(await runCount()).toBe(before + 1);
    const { rows } = await h.database.pool.query<{ status: string; workflowId: string }>(
      'SELECT status, workflow_id AS "workflowId", source, initiator_platform_user_id::int AS "initiatorId", initiator_label AS "label", reason FROM operation_runs WHERE id = $1',
      [runId],
    );
    // Started: the run is queued (no worker polls this queue, so it can be nothing else) and its workflow is running.
    expect(rows[0]).toMatchObject({
      status: 'queued',
      source: 'system_ui',
      initiatorId: operator.id,
      label: operator.email,
      reason: REASON,
    });
    expect((await h.client.workflow.getHandle(rows[0]!.workflowId).describe()).status.name).toBe('RUNNING');

    // The toast comes with the redirect's cookie, once: the page clears it, so a reload shows none.
    const runPage = await app.inject({
      method: 'GET',
      url: location,
      headers: { cookie: cookieHeader({ ...session.cookies, ...cookiesOf(first) }) },
    });
    expect(runPage.statusCode).toBe(200);
    expect(runPage.body).toContain(
      '<p class="toast" role="status"><strong>Rebuild Findings Lifecycle queued</strong></p>',
    );
    expect(runPage.body).toContain(`<h1>Rebuild Findings Lifecycle — ${tenants[0]}</h1>`);
    expect(cookiesOf(runPage).run_notice).toBe('');
    const plain = await app.inject({
      method: 'GET',
      url: `/system/ops/runs/${runId}`,
      headers: { cookie: cookieHeader(session.cookies) },
    });
    expect(plain.body).not.toContain('class="toast"');
  });

  it('htmx gets the redirect as HX-Redirect', async () => {
    const form = confirmFields((await preflight({ scope: 'tenant', tenant: tenants[2]! })).body);
    const response = await post(
      `/system/ops/runbooks/${LIFECYCLE}/start`,
      { _csrf: session.csrf, ...form, reason: REASON },
      session,
      { 'hx-request': 'true' },
    );
    expect(response.statusCode).toBe(200);
    expect(String(response.headers['hx-redirect'])).toMatch(/^\/system\/ops\/runs\/[0-9a-f-]{36}$/);
    expect(cookiesOf(response).run_notice).toMatch(/^[0-9a-f-]{36}\.started$/);
  });

  it('a short reason is refused by the reason field, with the input kept and no run', async () => {
    const before = await runCount();
    const form = confirmFields((await preflight({ scope: 'tenant', tenant: tenants[1]! })).body);
    const response = await start({ ...form, reason: 'too short' });
    expect(response.statusCode).toBe(422);
    expect(confirmFields(response.body)).toEqual(form);
    expect(response.body).toMatch(/<textarea name="reason"[^>]*aria-invalid=true[^>]*>too short<\/textarea>/);
    expect(response.body).toContain(
      'id="reason-problem" role="alert">The reason must be 10 to 500 characters; it has 9.',
    );
    expect(await runCount()).toBe(before);
  });

  it('a preflight saved before samples were typed still renders, showing what it can', async () => {
    const form = confirmFields((await preflight({ scope: 'tenant', tenant: tenants[1]! })).body);
    const { rows } = await h.database.pool.query<{ report: Record<string, unknown> & { sample: SampleChange[] } }>(
      'SELECT report FROM preflights WHERE id = $1',
      [form.preflightId],
    );
    const { sampleKey: _dropped, sample, ...rest } = rows[0]!.report;
    const [example] = sample;
    const [field] = Object.keys(example!.after);
    // The shape reports had before SampleChange: no sampleKey, findingId and changedFields, whole records.
    const old = {
      ...rest,
      sample: [
        {
          tenantId: 1,
          findingId: Number(example!.key),
          changedFields: [field],
          before: { ...example!.before, untouched: 'same' },
          after: { ...example!.after, untouched: 'same' },
        },
        {
          findingId: 424242,
          before: { status: 'new', severity: 'low' },
          after: { status: 'resolved', severity: 'low' },
        },
        null,
        'not a sample',
      ],
    };
    await h.database.pool.query('UPDATE preflights SET report = $2 WHERE id = $1', [form.preflightId, old]);
    // A refused start shows the saved report again.
    const response = await start({ ...form, reason: 'too short' });
    expect(response.statusCode).toBe(422);
    expect(response.body).toContain(
      '<thead><tr><th>Finding</th><th>Field</th><th>Before</th><th>After</th></tr></thead>',
    );
    expect(response.body).toContain(`<tr><td>${example!.key}</td><td><code>${field}</code></td>`);
    expect(response.body).toContain(
      '<tr><td>424242</td><td><code>status</code></td><td>new</td><td>resolved</td></tr>',
    );
    expect(response.body).not.toContain('<code>untouched</code>');
    expect(response.body).not.toContain('<code>severity</code>');
  });

  it('all tenants asks for the typed phrase; a wrong one is refused by that field, escaped, with no run', async () => {
    const page = await preflight({ scope: 'all_tenants' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`in ${tenants.length + 1} tenants will change.`);
    expect(page.body).toContain('name="confirmation"');
    const before = await runCount();
    const reason = `Backfill ${HOSTILE} for everyone`;
    const response = await start({ ...confirmFields(page.body), reason, confirmation: 'all tenants' });
    expect(response.statusCode).toBe(422);
    expect(response.body).toContain(
      'id="confirmation-problem" role="alert">An all-tenants run needs the typed confirmation &quot;ALL TENANTS&quot; exactly.',
    );
    expect(response.body).toContain(
      'Backfill &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; for everyone</textarea>',
    );
    expect(response.body).not.toContain(HOSTILE);
    expect(await runCount()).toBe(before);
  });

  it('guards are offered for several tenants only; a canary bigger than the scope is refused by the guards, kept, with no run', async () => {
    expect((await preflight({ scope: 'tenant', tenant: tenants[0]! })).body).not.toContain('name="canary"');
    const page = await preflight({ scope: 'all_tenants' });
    expect(page.body).toContain('name="maxFailedTenants"');
    const before = await runCount();
    const response = await start({
      ...confirmFields(page.body),
      reason: REASON,
      confirmation: 'ALL TENANTS',
      canary: 'on',
      canaryCount: '99',
      maxFailedTenants: '1',
    });
    expect(response.statusCode).toBe(422);
    expect(response.body).toMatch(
      /id="guards-problem" role="alert">A canary wave runs 1 to \d+ tenants of the \d+ in scope; got 99./,
    );
    expect(response.body).toContain('<details class="guards" open>');
    expect(response.body).toContain('name="canaryCount" min="1" step="1" inputmode="numeric" value="99"');
    expect(response.body).toContain('name="maxFailedTenants" min="0" step="1" inputmode="numeric" value="1"');
    expect(await runCount()).toBe(before);
    // Not a number at all: the schema's 400, never a 500.
    expect(
      (
        await start({
          ...confirmFields(page.body),
          reason: REASON,
          confirmation: 'ALL TENANTS',
          maxFailedPercent: '1e3',
        })
      ).statusCode,
    ).toBe(400);
  });

  it('an all-tenants preflight needs run_all_tenants', async () => {
    const capabilities = ALL_CAPABILITIES.filter((capability) => capability !== CAPABILITIES.runbooksRunAllTenants);
    const limited = await signIn(app, await createOperator(h.database, capabilities));
    const response = await preflight({ scope: 'all_tenants' }, limited);
    expect(response.statusCode).toBe(422);
    expect(response.body).toContain(
      'You need the capability platform.ops.runbooks.run_all_tenants to start an all-tenants run',
    );
    expect(response.body).not.toContain('name="preflightId"');
  });

  it('a tenant named with <script> is shown escaped', async () => {
    const response = await preflight({ scope: 'tenant', tenant: hostileTenant });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain(HOSTILE);
    expect(response.body).toContain('Preflight: hostile-&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(confirmFields(response.body).tenant).toBe('hostile-&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(response.body).toContain(
      'maxlength="200" autocomplete="off" spellcheck="false" value="hostile-&lt;script&gt;',
    );
  });

  it('finds tenants by external id or name, never the platform tenant, names escaped', async () => {
    const get = (url: string, as: Session = session, headers: Record<string, string> = {}) =>
      app.inject({ method: 'GET', url, headers: { cookie: cookieHeader(as.cookies), ...headers } });
    const byName = await get(`/system/ops/tenants?q=${encodeURIComponent('<SCRIPT>')}`, session, {
      'hx-request': 'true',
    });
    expect(byName.statusCode).toBe(200);
    expect(byName.body).not.toContain('<html');
    expect(byName.body).toContain(
      '<option value="hostile-&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</option>',
    );
    expect(byName.body).not.toContain(HOSTILE);
    const byId = await get(`/system/ops/tenants?q=${tenants[0]!}`);
    expect(byId.statusCode).toBe(200);
    expect(byId.body).toContain('<html');
    expect(byId.body).toContain(`<code>${tenants[0]!}</code>`);
    const platform = await get('/system/ops/tenants?q=platform', session, { 'hx-request': 'true' });
    expect(platform.body).not.toContain('<option');
    const wildcard = await get('/system/ops/tenants?q=%25', session, { 'hx-request': 'true' });
    expect(wildcard.body).not.toContain('<option');
    expect((await get('/system/ops/tenants?q=x', viewer)).statusCode).toBe(403);
    expect((await get(`/system/ops/tenants?q=${'x'.repeat(201)}`)).statusCode).toBe(400);
  });

  it('the platform tenant and unknown tenants are refused with the message, and no run', async () => {
    const before = await runCount();
    const platform = await preflight({ scope: 'tenant', tenant: 'platform' });
    expect(platform.statusCode).toBe(422);
    expect(platform.body).toContain('The platform tenant (&quot;platform&quot;) can never be targeted by a runbook');
    const unknown = await preflight({ scope: 'tenant', tenant: `no-such-${HOSTILE}` });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.body).toContain('Unknown tenant: no-such-&lt;script&gt;');
    expect(unknown.body).not.toContain(HOSTILE);
    // By the tenant field, as an alert: in place on the page, and out of band for htmx, which swaps only the result.
    expect(unknown.body).toMatch(/aria-describedby="tenant-problem-0" aria-invalid=true>/);
    expect(unknown.body).toMatch(
      /<small class="field-problem" id="tenant-problem-0" role="alert">Unknown tenant: no-such-&lt;script&gt;/,
    );
    const swapped = await preflight({ scope: 'tenant', tenant: 'no-such-tenant' }, session, { 'hx-request': 'true' });
    expect(swapped.body).toMatch(
      /<small class="field-problem" id="tenant-problem-0" role="alert" hx-swap-oob="true">Unknown tenant: no-such-tenant/,
    );
    // A preflight that works clears the field's message in the same way.
    const cleared = await preflight({ scope: 'tenant', tenant: tenants[1]! }, session, { 'hx-request': 'true' });
    expect(cleared.body).toContain(
      '<small class="field-problem" id="tenant-problem-0" role="alert" hidden hx-swap-oob="true"></small>',
    );
    const form = confirmFields((await preflight({ scope: 'tenant', tenant: tenants[1]! })).body);
    const started = await start({ ...form, tenant: 'platform', reason: REASON });
    expect(started.statusCode).toBe(422);
    expect(started.body).toContain('can never be targeted by a runbook');
    expect(await runCount()).toBe(before);
  });

  it('a start against a preflight that does not exist offers a new preflight', async () => {
    const before = await runCount();
    const form = confirmFields((await preflight({ scope: 'tenant', tenant: tenants[1]! })).body);
    const response = await start({ ...form, preflightId: '00000000-0000-4000-8000-000000000000', reason: REASON });
    expect(response.statusCode).toBe(422);
    expect(response.body).toContain('Run a new preflight');
    expect(response.body).toContain(`action="/system/ops/runbooks/${LIFECYCLE}/preflight"`);
    expect(await runCount()).toBe(before);
    // What was typed goes along with the new preflight, and comes back in its confirmation.
    const refused = response.body.slice(response.body.indexOf('Run a new preflight') - 3000);
    expect(fieldOf(refused, 'reason')).toBe(REASON);
    const again = await preflight({ scope: 'tenant', tenant: tenants[1]!, reason: REASON, maxFailedTenants: '' });
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain(`>${REASON}</textarea>`);
  });

  it('the preflight says first what would block a start (a run holding the scope, with its real status) or that it changes nothing', async () => {
    const holder = await preflight({ scope: 'tenant', tenant: tenants[1]! });
    const started = await start({ ...confirmFields(holder.body), reason: REASON });
    expect(started.statusCode).toBe(303);
    const holderId = /runs\/([0-9a-f-]{36})/.exec(String(started.headers.location))![1]!;
    try {
      // No worker polls this queue: the run stays queued. Paused, it is called paused.
      await h.database.pool.query(`UPDATE operation_runs SET paused_at = now(), paused_by = 'op' WHERE id = $1`, [
        holderId,
      ]);
      const blocked = await preflight({ scope: 'tenant', tenant: tenants[1]! });
      expect(blocked.statusCode).toBe(200);
      expect(blocked.body).toContain(`Starting is blocked: Run ${holderId} (paused, ${tenants[1]}`);
      expect(blocked.body).toContain(`<a href="/system/ops/runs/${holderId}">Open run ${holderId}</a>`);
    } finally {
      await h.database.pool.query(
        `UPDATE operation_runs SET status = 'completed', outcome = 'cancelled' WHERE id = $1`,
        [holderId],
      );
    }
    // A tenant without findings: nothing to change, said before anyone types a reason.
    const empty = await preflight({ scope: 'tenant', tenant: hostileTenant });
    expect(empty.statusCode).toBe(200);
    expect(empty.body).toContain('Nothing to do: starting is allowed but will change nothing.');
    expect(empty.body).not.toContain('Starting is blocked');
  });

  it('an operator with runbooks.view only gets 403 on both POSTs', async () => {
    const form = confirmFields((await preflight({ scope: 'tenant', tenant: tenants[1]! })).body);
    expect((await preflight({ scope: 'tenant', tenant: tenants[1]! }, viewer)).statusCode).toBe(403);
    const before = await runCount();
    expect((await start({ ...form, reason: REASON }, viewer)).statusCode).toBe(403);
    expect(await runCount()).toBe(before);
  });

  it('a POST without the CSRF token gets 403', async () => {
    const form = confirmFields((await preflight({ scope: 'tenant', tenant: tenants[1]! })).body);
    const before = await runCount();
    const url = `/system/ops/runbooks/${LIFECYCLE}`;
    expect((await post(`${url}/preflight`, { scope: 'tenant', tenant: tenants[1]! })).statusCode).toBe(403);
    expect((await post(`${url}/start`, { ...form, reason: REASON })).statusCode).toBe(403);
    expect(await runCount()).toBe(before);
  });

  it('a start Temporal does not take gets the 503 page, with nothing of the internals', async () => {
    // A namespace the server does not have: Temporal refuses the start at once.
    const elsewhere = new Client({ connection: h.client.connection, namespace: 'no-such-namespace' });
    const other = await buildApp({ config: h.config, database: h.database, temporal: elsewhere });
    try {
      const as = await signIn(other, operator);
      const page = await other.inject({
        method: 'POST',
        url: `/system/ops/runbooks/${LIFECYCLE}/preflight`,
        headers: { cookie: cookieHeader(as.cookies), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: as.csrf, scope: 'tenant', tenant: tenants[1]! }).toString(),
      });
      const response = await other.inject({
        method: 'POST',
        url: `/system/ops/runbooks/${LIFECYCLE}/start`,
        headers: { cookie: cookieHeader(as.cookies), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: as.csrf, ...confirmFields(page.body), reason: REASON }).toString(),
      });
      expect(response.statusCode).toBe(503);
      expect(response.body).toContain('cannot reach a service it depends on');
      for (const internal of ['no-such-namespace', '127.0.0.1', '    at '])
        expect(response.body).not.toContain(internal);
    } finally {
      await other.close();
    }
  });

  it('over-long or wrong fields get the 400 page; an unknown runbook a 404', async () => {
    const long = await preflight({ scope: 'tenant', tenant: 'x'.repeat(201) });
    expect(long.statusCode).toBe(400);
    expect(long.body).toContain('<strong>tenant</strong> must be at most 200 characters.');
    expect((await preflight({ scope: 'some_tenants' })).statusCode).toBe(400);
    expect((await preflight({ scope: 'tenant', tenant: 'a\u0000b' })).statusCode).toBe(400);
    expect((await start({ scope: 'tenant', reason: 'r'.repeat(5000) })).statusCode).toBe(400);
    const extra = await preflight({ scope: 'all_tenants', tenants: 'acme,rival' });
    expect(extra.statusCode).toBe(400);
    expect(extra.body).toContain('<strong>tenants</strong> is not a field of this form.');
    const unknown = await post('/system/ops/runbooks/nope/preflight', { _csrf: session.csrf, scope: 'all_tenants' });
    expect(unknown.statusCode).toBe(404);
  });
});
