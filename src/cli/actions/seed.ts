import type { Command } from 'commander';
import type pg from 'pg';
import { loadConfig } from '../../config.js';
import { openDatabase } from '../../db/client.js';
import { asConnectionError } from '../../db/connectionError.js';
import { describeDatabaseUrl } from '../../db/describeUrl.js';
import { UserError } from '../../errors.js';
import { count, plural } from '../../format.js';
import { SEED_LIMITS } from '../../seed/limits.js';
import { seedDemoData, type SeedProgress } from '../../seed/seedDemoData.js';
import { liveProgress, printResult } from '../output.js';

export interface SeedCommandOptions {
  tenants: number;
  findingsPerTenant: number;
  seed: number;
  json?: boolean;
}

function progressLine(p: SeedProgress): string {
  return `seed: ${count(p.tenantsDone)}/${count(p.tenantsTotal)} tenants, ${count(p.findingsDone)}/${count(p.findingsTotal)} findings`;
}

export async function seed(options: SeedCommandOptions, command: Command): Promise<void> {
  const total = options.tenants * options.findingsPerTenant;
  if (total > SEED_LIMITS.maxTotalFindings) {
    const cap = count(SEED_LIMITS.maxTotalFindings);
    const message = `error: --tenants × --findings-per-tenant is ${count(total)}; at most ${cap} findings per seed.`;
    command.error(message, { exitCode: 2, code: 'seed.tooMany' });
  }
  const { databaseUrl } = loadConfig();
  const database = openDatabase(databaseUrl, { max: 2 });
  const reporter = liveProgress(3_000);
  try {
    await assertSchema(database.pool, databaseUrl);
    const result = await seedDemoData(database.pool, {
      tenants: options.tenants,
      findingsPerTenant: options.findingsPerTenant,
      seed: options.seed,
      onProgress: (p) => reporter.update(progressLine(p), p.tenantsDone === p.tenantsTotal),
    });
    reporter.done();
    printResult(Boolean(options.json), result, () => {
      const ids = result.externalIds;
      const tenants = !ids ? '' : ids.first === ids.last ? ` (${ids.first})` : ` (${ids.first} … ${ids.last})`;
      return (
        `Seeded ${plural(result.tenants, 'tenant')}${tenants}: ${plural(result.findings, 'finding')} ` +
        `(${count(result.alreadyRebuilt)} already rebuilt), ${plural(result.detections, 'detection')}, ` +
        `${plural(result.events, 'event')}` +
        (result.platformFindings ? `, plus ${result.platformFindings} platform findings` : '') +
        ` in ${(result.ms / 1000).toFixed(1)} s on ${describeDatabaseUrl(databaseUrl)}.`
      );
    });
  } catch (error) {
    reporter.done();
    throw asConnectionError(error, databaseUrl);
  } finally {
    await database.close();
  }
}

/** A reachable database without our tables gets a one-line hint instead of a SQL error. */
async function assertSchema(pool: pg.Pool, url: string): Promise<void> {
  const { rows } = await pool.query<{ ok: boolean }>(`SELECT to_regclass('public.findings') IS NOT NULL AS ok`);
  if (!rows[0]?.ok) {
    throw new UserError(
      `Database ${describeDatabaseUrl(url)} has no schema yet. Run "npm run cli -- db migrate" first.`,
    );
  }
}
