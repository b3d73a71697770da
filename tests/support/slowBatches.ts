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
