import { describe, expect, it } from 'vitest';
import { csvCell } from '../src/runbooks/exportRun.js';
import { getRunAuditTrail, getRunItems } from '../src/runbooks/runs.js';
import { runCli } from './support/cli.js';
import { parseCsv } from './support/csv.js';
import { LIFECYCLE, useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';

describe('tsx src/cli runs export', () => {
  const h = useRunbookHarness({ seed: { tenants: 3, findingsPerTenant: 20, seed: 31 } });
  const env = () => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
  });

  it('escapes cells a spreadsheet would run as formulas', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', 'plain', 'a,b', 'say "hi"'].map(csvCell)).toEqual([
      "'=1+1",
      "'+1",
      "'-1",
      "'@SUM(A1)",
      "'\tx",
      'plain',
      '"a,b"',
      '"say ""hi"""',
    ]);
    // Spreadsheets skip leading spaces and line breaks before they look for a formula.
    expect([' =1+1', '  @SUM(A1)', '\n=cmd', ' \n -2', ' plain'].map(csvCell)).toEqual([
      "' =1+1",
      "'  @SUM(A1)",
      `"'\n=cmd"`,
      `"' \n -2"`,
      ' plain',
    ]);
  });

  it('round-trips: the CSV and the JSON read back equal the database', async () => {
    const { pool } = h.database;
    // A tenant whose name and error a spreadsheet would evaluate.
    await pool.query(
      `UPDATE tenants SET external_id = '=HYPERLINK("http://evil.example")' WHERE external_id = 'tenant-00002'`,
    );
    const { rows } = await pool.query(`SELECT id FROM tenants WHERE external_id LIKE '=HYPERLINK%'`);
    await pool.query(`
      CREATE FUNCTION refuse_tenant() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '@import, "quoted" and
newline'; END $$;
      CREATE TRIGGER refuse_tenant BEFORE UPDATE ON findings FOR EACH ROW WHEN (NEW.tenant_id = ${rows[0].id}) EXECUTE FUNCTION refuse_tenant();`);
    let runId: string;
    try {
      runId = (
        await h.start({ kind: 'all_tenants' }, { runbook: LIFECYCLE, reason: '-rebuild, with "quotes", after v1' })
      ).run.id;
      await waitForRun(pool, runId);
    } finally {
      await pool.query('DROP TRIGGER refuse_tenant ON findings; DROP FUNCTION refuse_tenant()');
    }
    const items = await getRunItems(pool, runId);

    const json = await runCli(['runs', 'export', runId, '--format', 'json'], env());
    expect(json.code, json.stderr).toBe(0);
    const exported = JSON.parse(json.stdout);
    expect(exported.items).toEqual(JSON.parse(JSON.stringify(items)));
    // The export itself is audited, once, after the JSON was taken.
    const audit = await getRunAuditTrail(pool, runId);
    expect(audit.map((event) => event.action)).toEqual([
      ...exported.audit.map((event: { action: string }) => event.action),
      'runbook.exported',
    ]);

    const csv = await runCli(['runs', 'export', runId], env());
    expect(csv.code, csv.stderr).toBe(0);
    const [header, run, ...rest] = parseCsv(csv.stdout);
    expect(header).toEqual(['record', 'at', 'tenant', 'status', 'examined', 'changed', 'action', 'actor', 'detail']);
    expect(run).toEqual([
      'run',
      expect.any(String),
      '',
      'partially_succeeded',
      String(exported.run.counts.examined),
      String(exported.run.counts.changed),
      '',
      exported.run.initiatorLabel,
      '\'-rebuild, with "quotes", after v1',
    ]);
    const itemRows = rest.filter((row) => row[0] === 'item');
    const unescape = (cell: string) => cell.replace(/^'(?=[=+\-@\t\r])/, '');
    expect(
      itemRows.map((row) => ({
        tenant: unescape(row[2]!),
        status: row[3],
        changed: Number(row[5]),
        error: unescape(row[8]!),
      })),
    ).toEqual(
      items.map((item) => ({
        tenant: item.externalId,
        status: item.status,
        changed: item.counts.changed ?? 0,
        error: item.error ?? '',
      })),
    );
    expect(itemRows.find((row) => row[3] === 'failed')).toEqual(
      expect.arrayContaining(['\'=HYPERLINK("http://evil.example")', '\'@import, "quoted" and']),
    );
    expect(rest.filter((row) => row[0] === 'audit').map((row) => row[6])).toEqual(audit.map((event) => event.action));
  });

  it('refuses an unknown run and a bad format with exit 2', async () => {
    expect((await runCli(['runs', 'export', '00000000-0000-4000-8000-000000000000'], env())).code).toBe(2);
    const bad = await runCli(['runs', 'export', '00000000-0000-4000-8000-000000000000', '--format', 'xlsx'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/expected one of csv, json/);
  });
});
