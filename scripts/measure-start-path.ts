// Measures what a start costs before its run: the preflight and the start's drift check, on an
// all-tenants scope over a throwaway database (no Temporal needed). Prints seconds for the
// preflight, the full recount the drift check used to make, and the drift check as it is now:
// with nothing changed, with one tenant changed, and again after a VACUUM (the visibility map
// autovacuum would keep; it is off on some machines, and then every index entry visits the heap).
// Usage: tsx scripts/measure-start-path.ts [tenants] [findingsPerTenant] [--old <checkPreflight.ts>]
//   --old: also time another checkPreflight module (e.g. `git show HEAD~n:src/runbooks/checkPreflight.ts`
//   saved elsewhere with its imports pointed here), called exactly as the start calls it.
import type pg from 'pg';
import { openDatabase } from '../src/db/client.js';
import { dropDatabase, migrateDatabase } from '../src/db/migrate.js';
import { inTransaction } from '../src/db/transaction.js';
import { runEntryPoint } from '../src/entryPoint.js';
import { checkPreflight, DEFAULT_PREFLIGHT_POLICY } from '../src/runbooks/checkPreflight.js';
import type { RunbookDefinition } from '../src/runbooks/definition.js';
import { buildPreflightReport, runPreflight, type SavedPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { resolveScope, type ResolvedScope } from '../src/runbooks/scope.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';

type CheckPreflight = typeof checkPreflight;

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`${label}: ${((performance.now() - started) / 1000).toFixed(2)} s`);
  return result;
}

function parseArgs(argv: string[]): { tenants: number; findingsPerTenant: number; old: string | null } {
  const oldAt = argv.indexOf('--old');
  const old = oldAt >= 0 ? (argv[oldAt + 1] ?? null) : null;
  const positional = argv.filter((_, i) => oldAt < 0 || (i !== oldAt && i !== oldAt + 1));
  return { tenants: Number(positional[0] ?? 200), findingsPerTenant: Number(positional[1] ?? 5000), old };
}

/** The drift checks, each against the same preflight and scope. */
async function measureChecks(
  pool: pg.Pool,
  runbook: RunbookDefinition,
  scope: ResolvedScope,
  preflight: SavedPreflight,
  old: CheckPreflight | null,
  when: string,
): Promise<void> {
  const options = { now: new Date(), policy: DEFAULT_PREFLIGHT_POLICY };
  await timed(`${when} full recount, as the old drift check did (buildPreflightReport in one snapshot)`, () =>
    inTransaction(pool, (client) => buildPreflightReport(client, runbook, scope), { readOnly: true }),
  );
  if (old) await timed(`${when} old checkPreflight (--old)`, () => old(pool, runbook, scope, preflight.id, options));
  for (const attempt of [1, 2, 3]) {
    await timed(`${when} new checkPreflight, nothing changed (#${attempt})`, () => checkPreflight(pool, runbook, scope, preflight.id, options));
  }
  await timed(`${when} fingerprints alone`, () =>
    inTransaction(pool, (client) => runbook.fingerprint(client, scope.tenants.map((tenant) => tenant.id)), { readOnly: true }),
  );
}

runEntryPoint(async () => {
  const { tenants, findingsPerTenant, old: oldPath } = parseArgs(process.argv.slice(2));
  const old: CheckPreflight | null = oldPath ? (await import(oldPath)).checkPreflight : null;
  const url = process.env.MEASURE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/platform_ops_measure';
  await dropDatabase(url);
  await migrateDatabase(url);
  const database = openDatabase(url);
  try {
    const { pool } = database;
    const seed = await seedDemoData(pool, { tenants, findingsPerTenant, seed: 1 });
    console.log(
      `seed: ${seed.tenants} tenants, ${seed.findings.toLocaleString('en-US')} findings, ` +
        `${seed.detections.toLocaleString('en-US')} detections, ${seed.events.toLocaleString('en-US')} events in ${(seed.ms / 1000).toFixed(1)} s`,
    );
    const runbook = getRunbook('findings-lifecycle');
    const initiator = { kind: 'cli', label: 'measure-start-path' } as const;
    const input = { kind: 'all_tenants' } as const;
    const preflight = await timed('runPreflight (all tenants, report + sample + fingerprints, saved)', () =>
      runPreflight(pool, { runbook, scope: input, initiator }),
    );
    console.log(`  ${preflight.report.toChange.toLocaleString('en-US')} of ${preflight.report.inScope.toLocaleString('en-US')} findings to change`);
    const scope = await resolveScope(pool, input);

    await measureChecks(pool, runbook, scope, preflight, old, 'no vacuum:');

    // One tenant changes (a new finding): the check recounts that tenant alone.
    await pool.query(
      `INSERT INTO findings (tenant_id, fingerprint, title, severity, created_at, updated_at)
       VALUES ($1, 'measure-start-path', 'New finding', 'high', now(), now())`,
      [scope.tenants[0]!.id],
    );
    const options = { now: new Date(), policy: DEFAULT_PREFLIGHT_POLICY };
    await timed('no vacuum: new checkPreflight, one tenant changed', () => checkPreflight(pool, runbook, scope, preflight.id, options));

    await timed('VACUUM findings, finding_detections, finding_events', () =>
      pool.query('VACUUM findings, finding_detections, finding_events'),
    );
    const fresh = await timed('after vacuum: runPreflight', () => runPreflight(pool, { runbook, scope: input, initiator }));
    await measureChecks(pool, runbook, scope, fresh, old, 'after vacuum:');
  } finally {
    await database.close();
    if (!process.env.MEASURE_KEEP) await dropDatabase(url);
  }
});
