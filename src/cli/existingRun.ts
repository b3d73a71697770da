import type pg from 'pg';
import { RunbookRefusal } from '../runbooks/refusal.js';
import { getRun, type RunRecord } from '../runbooks/runs.js';
import { withCliHint } from './hints.js';
import { printable } from './printable.js';

/** The run with this id, or the refusal that says how to find one. */
export async function existingRun(pool: pg.Pool, id: string): Promise<RunRecord> {
  const run = await getRun(pool, id);
  if (!run) throw withCliHint(new RunbookRefusal('run_not_found', `No run with id ${printable(id, 80)}.`));
  return run;
}
