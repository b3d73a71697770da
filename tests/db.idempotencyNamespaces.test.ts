// Migration 0010 moves the idempotency keys of runs written before it into their makers'
// namespaces (src/runbooks/idempotencyKeys.ts), so that a replay after the upgrade finds its run.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.js';
import { dropDatabase, migrateDatabase, MIGRATIONS_FOLDER } from '../src/db/migrate.js';
import { storedIdempotencyKey } from '../src/runbooks/idempotencyKeys.js';

const url = (() => {
  const parsed = new URL(inject('templateDatabaseUrl'));
  parsed.pathname = `${parsed.pathname}_key_namespaces`;
  return parsed.toString();
})();

describe('migration 0010: idempotency keys into their namespaces', () => {
  let database: Database;
  let folder: string;

  beforeAll(async () => {
    await dropDatabase(url);
    // The migrations before 0010, as a database written by the previous release has them.
    folder = await mkdtemp(join(tmpdir(), 'migrations-'));
    await cp(MIGRATIONS_FOLDER, folder, { recursive: true });
    const journalFile = join(folder, 'meta', '_journal.json');
    const journal = JSON.parse(await readFile(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
    journal.entries = journal.entries.filter((entry) => entry.tag < '0010');
    await writeFile(journalFile, JSON.stringify(journal));
    const admin = new pg.Client({ connectionString: new URL('/postgres', url).toString() });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(new URL(url).pathname.slice(1))}`);
    } finally {
      await admin.end();
    }
    database = openDatabase(url, { max: 2 });
    await migrate(database.db, { migrationsFolder: folder });
  });
  afterAll(async () => {
    await database?.close();
    await dropDatabase(url);
    await rm(folder, { recursive: true, force: true });
  });

  it("rewrites each key as its maker's, keeps the deploy hook's, and a replay finds its run again", async () => {
    const { pool } = database;
    const { rows: tenant } = await pool.query<{ id: number; workspace_id: number }>(
      `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ('acme', 'Acme') RETURNING id)
       INSERT INTO tenants (workspace_id, external_id, name) SELECT id, 'acme', 'Acme' FROM w RETURNING id::int, workspace_id::int`,
    );
    const { rows: operator } = await pool.query<{ id: number }>(
      `INSERT INTO platform_users (email, password_hash, capabilities) VALUES ('ops@example.com', 'x', '{}') RETURNING id::int`,
    );
    const scope = JSON.stringify({ tenants: [{ id: tenant[0]!.id, externalId: 'acme' }] });
    const runs: Array<[string, number | null, string, string]> = [
      ['system_ui', operator[0]!.id, 'ops@example.com', 'form-key-1'],
      ['cli', null, 'cli:ana@laptop', 'nightly-2026-12-01'],
      ['admin_trigger', null, 'customer@acme.test', 'trigger-key-1'],
      ['deploy_hook', null, 'deploy:r7', 'deploy:r7:findings.lifecycle.rebuild'],
    ];
    for (const [source, operatorId, label, key] of runs) {
      await pool.query(
        `INSERT INTO operation_runs (workspace_id, runbook, scope_kind, scope, status, outcome, source, initiator_platform_user_id, initiator_label, reason, idempotency_key)
         VALUES ($1, 'findings.lifecycle.rebuild', 'tenant', $2, 'completed', 'succeeded', $3, $4, $5, 'a run of the previous release', $6)`,
        [tenant[0]!.workspace_id, scope, source, operatorId, label, key],
      );
    }

    await migrateDatabase(url);

    const { rows } = await pool.query<{ source: string; key: string }>(
      `SELECT source, idempotency_key AS key FROM operation_runs ORDER BY created_at, id`,
    );
    const keyOf = (source: string) => rows.find((row) => row.source === source)!.key;
    expect(keyOf('system_ui')).toBe(
      storedIdempotencyKey(
        { kind: 'platform_user', id: operator[0]!.id, email: 'ops@example.com', capabilities: [] },
        'form-key-1',
      ),
    );
    expect(keyOf('cli')).toBe(storedIdempotencyKey({ kind: 'cli', label: 'cli:ana@laptop' }, 'nightly-2026-12-01'));
    expect(keyOf('admin_trigger')).toBe(
      storedIdempotencyKey(
        { kind: 'customer', id: 1, email: 'customer@acme.test', tenantExternalId: 'acme' },
        'trigger-key-1',
      ),
    );
    expect(keyOf('deploy_hook')).toBe('deploy:r7:findings.lifecycle.rebuild');
  });
});
