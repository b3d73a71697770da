import type pg from 'pg';

/**
 * Makes every batch statement on findings take at least `ms`: runs last long enough to be
 * paused, cancelled or killed mid-way, whatever the machine's speed. Returns the undo.
 */
export async function slowBatches(pool: pg.Pool, ms: number): Promise<() => Promise<void>> {
  await pool.query(`
    CREATE OR REPLACE FUNCTION test_slow_batch() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(${ms / 1000}); RETURN NULL; END $$;
    CREATE TRIGGER test_slow_batch AFTER UPDATE ON findings FOR EACH STATEMENT EXECUTE FUNCTION test_slow_batch();`);
  return async () => {
    await pool.query('DROP TRIGGER IF EXISTS test_slow_batch ON findings; DROP FUNCTION IF EXISTS test_slow_batch()');
  };
}

/** Every finding needs its lifecycle rebuilt again, so a test has work to interrupt. */
export async function undoRebuilds(pool: pg.Pool): Promise<void> {
  await pool.query('UPDATE findings SET lifecycle_version = 0');
}

/** Makes every batch of these tenants fail with `message` (a business failure). Returns the undo. */
export async function failTenants(pool: pg.Pool, tenantIds: number[], message: string): Promise<() => Promise<void>> {
  await pool.query(`
    CREATE OR REPLACE FUNCTION test_fail_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '%', ${pgLiteral(message)}; END $$;
    CREATE TRIGGER test_fail_tenant BEFORE UPDATE ON findings FOR EACH ROW
      WHEN (NEW.tenant_id IN (${tenantIds.map(Number).join(', ')})) EXECUTE FUNCTION test_fail_tenant();`);
  return async () => {
    await pool.query('DROP TRIGGER IF EXISTS test_fail_tenant ON findings; DROP FUNCTION IF EXISTS test_fail_tenant()');
  };
}

const pgLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;
