import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { openDatabase } from '../src/db/client.js';
import { MIGRATIONS_FOLDER, migrateDatabase } from '../src/db/migrate.js';
import { isProcessAlive } from '../src/dev/processAlive.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { seedDemoData, type SeedResult } from '../src/seed/seedDemoData.js';

export interface Dataset {
  tenants: number;
  findingsPerTenant: number;
  seed: number;
}

export interface Template {
  name: string;
  /** False when an earlier run had seeded it already. */
  seededNow: boolean;
  seedSeconds: number | null;
  findings: number;
  detections: number;
  events: number;
}

/** Scratch databases carry the pid of the bench that made them, so a later bench can drop them once that process is gone. */
const SCRATCH = /^platform_ops_bench_(\d+)_/;

/**
 * What a template's rows depend on besides its parameters: the migrations and the seed code. A
 * template seeded by other versions of either is seeded again rather than silently reused.
 */
function dataVersion(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_FOLDER)
    .filter((name) => name.endsWith('.sql'))
    .sort()) {
    hash.update(readFileSync(join(MIGRATIONS_FOLDER, file)));
  }
  hash.update(readFileSync(join(PROJECT_ROOT, 'src/seed/seedDemoData.ts')));
  return `bench:${hash.digest('hex').slice(0, 16)}`;
}

/**
 * The bench's databases on one PostgreSQL server: a template per dataset, seeded once and
 * kept, and the scratch copies each measurement works on, dropped at the end (`dropAll`, also
 * on Ctrl-C). Never touches a database it did not name.
 */
export class BenchDatabases {
  private readonly scratch = new Set<string>();
  private readonly version = dataVersion();

  constructor(
    private readonly serverUrl: string,
    private readonly log: (line: string) => void,
  ) {}

  urlOf(name: string): string {
    const url = new URL(this.serverUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** A scratch database name of this process. */
  scratchName(role: string): string {
    return `platform_ops_bench_${process.pid}_${role}`;
  }

  private async admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.urlOf('postgres') });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  private async dropNamed(client: pg.Client, name: string): Promise<void> {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  }

  /** Scratch databases of benches that were killed before they could drop them. */
  async dropAbandoned(): Promise<void> {
    await this.admin(async (client) => {
      const { rows } = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE 'platform\\_ops\\_bench\\_%'`,
      );
      for (const { datname } of rows) {
        const pid = Number(SCRATCH.exec(datname)?.[1]);
        if (Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid)) await this.dropNamed(client, datname);
      }
    });
  }

  /**
   * The dataset's template, seeded with `seedDemoData` under a scratch name, vacuumed (so its
   * copies start with the visibility map and statistics a live database keeps; autovacuum may be
   * off on this server) and only then renamed: an interrupted seed never passes for a template.
   */
  async ensureTemplate(dataset: Dataset): Promise<Template> {
    const name = `platform_ops_bench_t${dataset.tenants}_f${dataset.findingsPerTenant}_s${dataset.seed}`;
    const existing = await this.admin(async (client) => {
      const { rows } = await client.query<{ comment: string | null }>(
        `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
        [name],
      );
      if (rows.length === 0) return false;
      if (rows[0]!.comment === this.version) return true;
      this.log(`template ${name} was seeded by other migrations or seed code; seeding it again`);
      await this.dropNamed(client, name);
      return false;
    });
    if (existing) return { name, seededNow: false, seedSeconds: null, ...(await this.countRows(name)) };

    const building = this.scratchName(`build_t${dataset.tenants}_f${dataset.findingsPerTenant}`);
    this.scratch.add(building);
    const url = this.urlOf(building);
    await this.admin((client) => this.dropNamed(client, building));
    await migrateDatabase(url);
    const database = openDatabase(url);
    let seeded: SeedResult;
    const started = performance.now();
    try {
      let lastReport = Date.now();
      this.log(
        `seeding template ${name} (${dataset.tenants.toLocaleString('en-US')} tenants × ${dataset.findingsPerTenant.toLocaleString('en-US')} findings)...`,
      );
      seeded = await seedDemoData(database.pool, {
        ...dataset,
        onProgress: (progress) => {
          if (Date.now() - lastReport < 10_000) return;
          lastReport = Date.now();
          this.log(
            `  ${progress.findingsDone.toLocaleString('en-US')} of ${progress.findingsTotal.toLocaleString('en-US')} findings`,
          );
        },
      });
      await database.pool.query('VACUUM (ANALYZE)');
    } finally {
      await database.close();
    }
    const seedSeconds = (performance.now() - started) / 1000;
    await this.admin(async (client) => {
      await client.query(`ALTER DATABASE ${pg.escapeIdentifier(building)} RENAME TO ${pg.escapeIdentifier(name)}`);
      await client.query(`COMMENT ON DATABASE ${pg.escapeIdentifier(name)} IS ${client.escapeLiteral(this.version)}`);
    });
    this.scratch.delete(building);
    this.log(`seeded ${name} in ${seedSeconds.toFixed(1)} s`);
    return {
      name,
      seededNow: true,
      seedSeconds,
      findings: seeded.findings + seeded.platformFindings,
      detections: seeded.detections,
      events: seeded.events,
    };
  }

  private async countRows(name: string): Promise<Pick<Template, 'findings' | 'detections' | 'events'>> {
    const database = openDatabase(this.urlOf(name), { max: 1 });
    try {
      const { rows } = await database.pool.query<Pick<Template, 'findings' | 'detections' | 'events'>>(
        `SELECT (SELECT count(*) FROM findings)::int AS findings, (SELECT count(*) FROM finding_detections)::int AS detections,
                (SELECT count(*) FROM finding_events)::int AS events`,
      );
      return rows[0]!;
    } finally {
      await database.close();
    }
  }

  /**
   * A fresh copy of a template under this scratch name (dropped first if it exists, which
   * also cuts off whoever is connected to it). Returns its URL.
   */
  async copy(template: string, role: string): Promise<string> {
    const name = this.scratchName(role);
    this.scratch.add(name);
    await this.admin(async (client) => {
      await this.dropNamed(client, name);
      // A template being copied by another bench at this moment refuses a second copy: wait.
      for (let attempt = 1; ; attempt++) {
        try {
          await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`);
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== '55006' || attempt >= 30) throw error;
          await sleep(1_000);
        }
      }
    });
    // PostgreSQL 15 writes a copy through the WAL: its checkpoint must not fall into the next measurement.
    await this.settle();
    return this.urlOf(name);
  }

  /**
   * Writes out what the last measurement left dirty (a CHECKPOINT), so that the next one starts
   * as the last did, not paying for its writes: a rebuild of every finding leaves about a GB of
   * WAL and dirty pages behind, whose checkpoint would otherwise run during what follows.
   */
  async settle(): Promise<void> {
    await this.admin((client) => client.query('CHECKPOINT'));
  }

  async drop(role: string): Promise<void> {
    const name = this.scratchName(role);
    await this.admin((client) => this.dropNamed(client, name));
    this.scratch.delete(name);
  }

  /** Every scratch database this bench made; templates stay. */
  async dropAll(): Promise<void> {
    const names = [...this.scratch];
    if (names.length === 0) return;
    await this.admin(async (client) => {
      for (const name of names) await this.dropNamed(client, name);
    });
    this.scratch.clear();
  }

  async serverVersion(): Promise<string> {
    return this.admin(
      async (client) => (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v,
    );
  }
}
