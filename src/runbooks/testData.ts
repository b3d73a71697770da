import type fc from 'fast-check';
import type { Queryable } from '../db/queryable.js';

/**
 * What the conformance suite (tests/runbooks.conformance.test.ts) needs of a runbook besides
 * its definition: random data of the kind it works on, and changes of the kind the product
 * makes. Each catalog folder's `testData.ts` exports one as `testData`; the suite takes every
 * registered runbook and fails one whose folder has none.
 */
export interface RunbookTestData<Data = unknown, Change = unknown> {
  /** The runbook's id. */
  runbookId: string;
  /**
   * One tenant's data. Random, but with rows a run changes and rows it leaves alone; instants
   * that the runbook compares with its fixed "now" are relative to the database's now(), and
   * at least an hour from any boundary the rules draw, so that a second preflight a little
   * later counts the same.
   */
  tenantData: fc.Arbitrary<Data>;
  /** Inserts one tenant's data. */
  write(q: Queryable, tenantId: number, data: Data): Promise<void>;
  /** Parameter values for the suite's runs, as a user gives them (defaults may be left out). */
  parameters: fc.Arbitrary<Record<string, unknown>>;
  /** A change to a tenant's data of the kind the product makes: a new detection, a status event, ... */
  change: fc.Arbitrary<Change>;
  /** Makes the change in the caller's transaction (the suite rolls it back). */
  applyChange(q: Queryable, tenantId: number, change: Change): Promise<void>;
}

/** A catalog folder's test data, typed by its own data and changes. */
export function defineTestData<Data, Change>(testData: RunbookTestData<Data, Change>): RunbookTestData {
  return testData;
}
