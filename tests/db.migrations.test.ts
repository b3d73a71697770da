import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dropDatabase, migrateDatabase, MIGRATIONS_FOLDER, type MigrationResult } from '../src/db/migrate.js';
import * as schema from '../src/db/schema/index.js';

/** A database of this file's own on the test server, created by the migration under test. */
const url = (() => {
  const parsed = new URL(inject('templateDatabaseUrl'));
  parsed.pathname = `${parsed.pathname}_migrations`;
  return parsed.toString();
})();

interface ColumnShape {
  type: string;
  notNull: boolean;
  identity: 'always' | 'byDefault' | null;
}

interface TableShape {
  columns: Record<string, ColumnShape>;
  /** Primary key, unique and foreign key constraints by name; each foreign key with its columns. */
  constraints: string[];
  /** Indexes that are not there to back a constraint. */
  indexes: string[];
}

type Shape = Record<string, TableShape>;

const sorted = (values: Iterable<string>) => [...values].sort();

// drizzle writes "timestamp (6) with time zone", PostgreSQL's format_type "timestamp(6) with time zone".
const normalizeType = (type: string) => type.replace(/\s+\(/g, '(').trim();

/** What the drizzle schema in src/db/schema declares, in the same terms as `databaseShape`. */
function declaredShape(): Shape {
  const shape: Shape = {};
  for (const value of Object.values(schema)) {
    if (!is(value, PgTable)) continue;
    const table = getTableConfig(value);
    expect(table.schema ?? 'public', `${table.name} lives outside the public schema`).toBe('public');
    const columns: Record<string, ColumnShape> = {};
    const constraints: string[] = [];
    for (const column of table.columns) {
      const identity = (column as { generatedIdentity?: { type: 'always' | 'byDefault' } }).generatedIdentity;
      columns[column.name] = {
        type: normalizeType(column.getSQLType()),
        notNull: column.notNull,
        identity: identity?.type ?? null,
      };
      if (column.primary) constraints.push(`primary key ${table.name}_pkey (${column.name})`);
      if (column.isUnique) constraints.push(`unique ${column.uniqueName} (${column.name})`);
    }
    for (const key of table.primaryKeys) {
      constraints.push(`primary key ${key.getName()} (${key.columns.map((c) => c.name).join(', ')})`);
    }
    for (const unique of table.uniqueConstraints) {
      constraints.push(`unique ${unique.getName()} (${unique.columns.map((c) => c.name).join(', ')})`);
    }
    for (const foreignKey of table.foreignKeys) {
      const reference = foreignKey.reference();
      constraints.push(
        `foreign key ${foreignKey.getName()} (${reference.columns.map((c) => c.name).join(', ')}) → ` +
          `${getTableConfig(reference.foreignTable).name} (${reference.foreignColumns.map((c) => c.name).join(', ')})`,
      );
    }
    shape[table.name] = {
      columns,
      constraints: sorted(constraints),
      indexes: sorted(table.indexes.map((index) => index.config.name ?? `(unnamed index on ${table.name})`)),
    };
  }
  return shape;
}

/** The same description, read from the catalog of a migrated database. */
async function databaseShape(client: pg.Client): Promise<Shape> {
  const shape: Shape = {};
  const tables = await client.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  for (const { name } of tables.rows) shape[name] = { columns: {}, constraints: [], indexes: [] };

  const columns = await client.query<{
    table: string;
    column: string;
    type: string;
    notNull: boolean;
    identity: string;
  }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", a.attidentity AS identity
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  for (const row of columns.rows) {
    shape[row.table]!.columns[row.column] = {
      type: normalizeType(row.type),
      notNull: row.notNull,
      identity: row.identity === 'a' ? 'always' : row.identity === 'd' ? 'byDefault' : null,
    };
  }

  const constraints = await client.query<{ table: string; line: string }>(
    `SELECT c.conrelid::regclass::text AS table,
            CASE c.contype WHEN 'p' THEN 'primary key ' WHEN 'u' THEN 'unique ' ELSE 'foreign key ' END || c.conname || ' (' ||
              (SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) || ')' ||
            CASE WHEN c.contype = 'f' THEN ' → ' || c.confrelid::regclass::text || ' (' ||
              (SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) || ')' ELSE '' END AS line
       FROM pg_constraint c
      WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f')`,
  );
  for (const row of constraints.rows) shape[row.table]!.constraints.push(row.line);

  const indexes = await client.query<{ table: string; name: string }>(
    `SELECT i.tablename AS table, i.indexname AS name FROM pg_indexes i
      WHERE i.schemaname = 'public'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = to_regclass(quote_ident(i.indexname)) AND c.contype IN ('p', 'u'))`,
  );
  for (const row of indexes.rows) shape[row.table]!.indexes.push(row.name);

  for (const table of Object.values(shape)) {
    table.constraints = sorted(table.constraints);
    table.indexes = sorted(table.indexes);
  }
  return shape;
}

/**
 * The tables and columns SPEC.md fixes ("tests outside the repo use them"). The schema may have
 * more; it may never lose one of these.
 */
const SPEC_COLUMNS: Record<string, string[]> = {
  workspaces: ['id', 'slug', 'name', 'created_at'],
  tenants: ['id', 'workspace_id', 'external_id', 'name', 'created_at'],
  findings: [
    'id',
    'tenant_id',
    'fingerprint',
    'title',
    'severity',
    'status',
    'first_seen_at',
    'last_seen_at',
    'times_seen',
    'due_at',
    'resolved_at',
    'reopened_at',
    'lifecycle_version',
    'created_at',
    'updated_at',
  ],
  finding_detections: ['id', 'finding_id', 'tenant_id', 'detected_at'],
  finding_events: ['id', 'finding_id', 'tenant_id', 'type', 'actor', 'occurred_at'],
  platform_users: ['id', 'email', 'password_hash', 'capabilities', 'is_active', 'created_at'],
  users: ['id', 'tenant_id', 'email', 'password_hash'],
  sessions: [],
  operation_runs: [
    'id',
    'workspace_id',
    'runbook',
    'scope_kind',
    'scope',
    'status',
    'outcome',
    'source',
    'initiator_platform_user_id',
    'initiator_label',
    'reason',
    'idempotency_key',
    'workflow_id',
    'counts',
    'preflight_id',
    'error',
    'created_at',
    'started_at',
    'completed_at',
  ],
  preflights: ['id', 'runbook', 'scope_kind', 'scope', 'report', 'content_hash', 'created_by', 'created_at'],
  operation_run_items: ['run_id', 'tenant_id', 'status', 'counts', 'error', 'started_at', 'completed_at'],
  audit_events: [
    'id',
    'occurred_at',
    'actor_kind',
    'actor_id',
    'actor_label',
    'action',
    'target_kind',
    'target_id',
    'ip',
    'user_agent',
    'metadata',
  ],
  notifications: ['id', 'platform_user_id', 'type', 'data', 'read_at', 'created_at'],
};

async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('db migrate on an empty database', () => {
  let first: MigrationResult;
  let shape: Shape;

  beforeAll(async () => {
    await dropDatabase(url);
    first = await migrateDatabase(url);
    shape = await withClient(databaseShape);
  });
  afterAll(() => dropDatabase(url));

  it('creates the database and applies every migration in drizzle/', async () => {
    const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'));
    expect(journal.entries.length).toBeGreaterThan(0);
    expect(first).toEqual({ createdDatabase: true, applied: journal.entries.length, total: journal.entries.length });
  });

  it('yields exactly the tables of the drizzle schema', () => {
    expect(sorted(Object.keys(shape))).toEqual(sorted(Object.keys(declaredShape())));
  });

  it('yields exactly the columns, types, nullability and identities of the drizzle schema', () => {
    const declared = declaredShape();
    for (const [table, { columns }] of Object.entries(declared)) {
      expect(shape[table]?.columns, `columns of ${table}`).toEqual(columns);
    }
  });

  it('yields exactly the keys, unique constraints, foreign keys and indexes of the drizzle schema', () => {
    const declared = declaredShape();
    for (const [table, { constraints, indexes }] of Object.entries(declared)) {
      expect(shape[table]?.constraints, `constraints of ${table}`).toEqual(constraints);
      expect(shape[table]?.indexes, `indexes of ${table}`).toEqual(indexes);
    }
  });

  it('has every table and column that SPEC.md fixes', () => {
    for (const [table, columns] of Object.entries(SPEC_COLUMNS)) {
      expect(shape, `table ${table}`).toHaveProperty([table]);
      expect(Object.keys(shape[table]!.columns), `columns of ${table}`).toEqual(expect.arrayContaining(columns));
    }
    expect(shape.operation_run_items!.constraints).toContainEqual(
      expect.stringMatching(/^primary key \S+ \(run_id, tenant_id\)$/),
    );
    expect(shape.findings!.constraints).toContainEqual(
      expect.stringMatching(/^unique \S+ \(tenant_id, fingerprint\)$/),
    );
    expect(shape.operation_runs!.constraints).toContainEqual(expect.stringMatching(/^unique \S+ \(idempotency_key\)$/));
    expect(shape.findings!.columns.lifecycle_version).toEqual({ type: 'integer', notNull: true, identity: null });
  });

  it('applies nothing the second time and leaves the schema as it was', async () => {
    const second = await migrateDatabase(url);
    expect(second).toEqual({ createdDatabase: false, applied: 0, total: first.total });
    expect(await withClient(databaseShape)).toEqual(shape);
  });
});

describe('db migrate against an unreachable server', () => {
  it('names the address, not the user or password', async () => {
    const error: Error = await migrateDatabase('postgres://admin:s3cret@127.0.0.1:1/nowhere').then(
      () => {
        throw new Error('migrateDatabase reached a server on port 1');
      },
      (caught: Error) => caught,
    );
    expect(error.message).toMatch(/^Cannot reach PostgreSQL at 127\.0\.0\.1:1\/postgres \(ECONNREFUSED\)/);
    expect(error.message).not.toContain('s3cret');
    expect(error.message).not.toContain('admin');
  });
});
