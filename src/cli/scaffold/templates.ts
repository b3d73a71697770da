import type { ScaffoldNames } from './names.js';

/** A file the scaffold writes, by its path from the project root (with `/`). */
export interface ScaffoldFile {
  path: string;
  text: string;
}

/** A string literal; Prettier picks the quotes afterwards. */
const literal = (text: string) => `'${text.replaceAll("'", "\\'")}'`;

/**
 * The files of a new catalog folder and the test of its rules. They are formatted by Prettier
 * before they are written, so the templates need not wrap long lines themselves.
 */
export function scaffoldFiles(n: ScaffoldNames): ScaffoldFile[] {
  const folder = `src/catalog/${n.name}`;
  // Each stub says where it is, so the failing test or run names the file to open.
  const notWritten = (what: string, file: string) =>
    `throw new Error(${literal(`${n.name}: ${what} is not written yet (${folder}/${file})`)});`;

  const definition = `import { defineRunbook } from '../../runbooks/definition.js';
import { defineParameters, param } from '../../runbooks/parameters.js';
import { changeBatch, countToChange } from './sql.js';

// The contract, and the rules each function keeps (idempotent batches, the cursor is an id, the
// fixed instant, values never SQL text): docs/writing-a-runbook.md.

const parameters = defineParameters({
  // An example of a declaration (without a default it would be required); NO_PARAMETERS for none.
  olderThanDays: param.integer({
    label: 'Older than (days)',
    help: 'Only ${n.unit} created at least this many days before the run',
    min: 1,
    max: 3650,
    default: 90,
  }),
});

export const ${n.identifier} = defineRunbook({
  id: ${literal(n.id)},
  cliName: ${literal(n.name)},
  title: ${literal(n.title)},
  description: ${literal(`Not described yet: what it changes and why (${folder}/definition.ts).`)},
  unit: ${literal(n.unit)},
  sampleKey: ${literal(n.sampleKey)},
  deployTriggered: false,
  parameters,
  writes: ${literal(n.writes)},
  // The tables its batches write: the health gates watch them (a vacuum, lock waits).
  tables: [${literal(n.writes)}],

  /**
   * Read-only (it runs in a READ ONLY transaction): per tenant the ${n.unit} in scope and those to
   * change, a breakdown by field, and unless \`options.sample\` is false a few before/after examples.
   */
  preflight(_q, _tenants, _context, _options) {
    ${notWritten('preflight', 'definition.ts')}
  },

  /**
   * Read-only and far cheaper than the preflight (a few index reads per tenant, none of the rules'
   * work); it must change whenever a tenant's count to change may have changed.
   */
  fingerprint(_q, _tenantIds, _context) {
    ${notWritten('fingerprint', 'definition.ts')}
  },

  /** The next batch of one tenant after \`cursor\`, in the caller's transaction; null when none is left. */
  processBatch(q, { tenantId, cursor, batchSize }, { parameters: p, asOf }) {
    return changeBatch(q, { tenantId, asOf, olderThanDays: p.olderThanDays, cursor, batchSize });
  },

  /** The verification after a tenant's last batch: how many ${n.unit} still need a change (0 passes). */
  remainingToChange(q, tenantId, { parameters: p, asOf }) {
    return countToChange(q, { tenantId, asOf, olderThanDays: p.olderThanDays });
  },
});
`;

  const sql = `import type { Queryable } from '../../db/queryable.js';

// The rules of rules.ts stated set-based. Values go in as parameters ($1), never as SQL text, and
// "now" is the run's \`asOf\`, never now(), so that the preflight's numbers are the run's.

/** One tenant's ${n.unit} as a run sees them: the run's fixed instant and its parameters. */
interface Scope {
  tenantId: number;
  asOf: Date;
  olderThanDays: number;
}

/** What one batch did; \`last\` says that fewer than \`batchSize\` ${n.unit} were left. */
interface BatchDone {
  cursor: number;
  examined: number;
  changed: number;
  breakdown: Record<string, number>;
  last: boolean;
}

/**
 * One batch in one statement: the next \`batchSize\` ids after \`cursor\`, the change of those still to
 * change among them (and only those, so that a retried batch changes nothing twice), and the counts.
 * Null when nothing comes after the cursor.
 */
export function changeBatch(_q: Queryable, _batch: Scope & { cursor: number; batchSize: number }): Promise<BatchDone | null> {
  ${notWritten('changeBatch', 'sql.ts')}
}

/** How many of the tenant's ${n.unit} still need a change: the verification's count. */
export function countToChange(_q: Queryable, _scope: Scope): Promise<number> {
  ${notWritten('countToChange', 'sql.ts')}
}
`;

  const rules = `// The rules as a pure function of one row: RULES.md says them in words and sql.ts in SQL. A
// fast-check property that holds this function and the SQL together catches the two drifting apart
// (docs/writing-a-runbook.md, "Testing one runbook").

/** What the rules read of one row. */
interface Row {
  id: number;
  createdAt: Date;
}

/** What they read besides the row: the run's fixed instant and its parameters. */
interface Rules {
  asOf: Date;
  olderThanDays: number;
}

/** The fields a run sets on the row, by column; null when the row needs no change. */
type Change = Record<string, unknown> | null;

export function changeFor(_row: Row, _rules: Rules): Change {
  ${notWritten('changeFor', 'rules.ts')}
}
`;

  const rulesDoc = `# ${n.title}: the rules

The rules of \`${n.name}\` (\`${n.id}\`) in words.
\`rules.ts\` states them as a pure function of one row and \`sql.ts\` in SQL;
\`tests/${n.name}.rules.test.ts\` holds the function to this page.

## Inputs

The table and the columns of one row the rules read, and the parameters (\`olderThanDays\`).

_Not written yet._

## Outputs

The fields a run sets on a row, and their values.

_Not written yet._

## What "changed" means

When a row counts as still to change, so that a second run changes nothing.

_Not written yet._

## The fixed instant

Where the rules read the run's \`asOf\` (never \`now()\`), and the boundaries they draw from it.

_Not written yet._
`;

  const testData = `import fc from 'fast-check';
import { defineTestData } from '../../runbooks/testData.js';
import { ${n.identifier} } from './definition.js';

// The data the conformance suite (tests/runbooks.conformance.test.ts) runs this runbook on; the
// contract is RunbookTestData in src/runbooks/testData.ts.
export const testData = defineTestData({
  runbookId: ${n.identifier}.id,
  // One tenant's ${n.unit}: some a run changes and some it leaves alone.
  tenantData: fc.constant(null),
  write(_q, _tenantId, _data) {
    ${notWritten('testData.write', 'testData.ts')}
  },
  parameters: fc.record({ olderThanDays: fc.integer({ min: 1, max: 3650 }) }),
  // A change of the kind the product makes to the ${n.unit}.
  change: fc.constant(null),
  applyChange(_q, _tenantId, _change) {
    ${notWritten('testData.applyChange', 'testData.ts')}
  },
});
`;

  const rulesTest = `import { describe, expect, it } from 'vitest';
import { changeFor } from '../${folder}/rules.js';

const asOf = new Date('2026-01-01T00:00:00Z');
const daysBefore = (days: number) => new Date(asOf.getTime() - days * 86_400_000);

// These fail until rules.ts is written; then make them the cases of RULES.md, each with its exact change.
describe(${literal(`${n.name} rules`)}, () => {
  it('changes a row the rules select', () => {
    expect(changeFor({ id: 1, createdAt: daysBefore(91) }, { asOf, olderThanDays: 90 })).not.toBeNull();
  });

  it('leaves a row alone that they do not select', () => {
    expect(changeFor({ id: 2, createdAt: daysBefore(89) }, { asOf, olderThanDays: 90 })).toBeNull();
  });
});
`;

  return [
    { path: `${folder}/definition.ts`, text: definition },
    { path: `${folder}/rules.ts`, text: rules },
    { path: `${folder}/sql.ts`, text: sql },
    { path: `${folder}/RULES.md`, text: rulesDoc },
    { path: `${folder}/testData.ts`, text: testData },
    { path: `tests/${n.name}.rules.test.ts`, text: rulesTest },
  ];
}
