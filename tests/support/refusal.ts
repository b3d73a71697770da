import { expect } from 'vitest';
import { RunbookRefusal } from '../../src/runbooks/refusal.js';

/** The refusal an attempt ends in; the test fails if it succeeds or fails otherwise. */
export async function refusalOf(attempt: Promise<unknown>): Promise<RunbookRefusal> {
  const error = await attempt.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunbookRefusal);
  return error as RunbookRefusal;
}
