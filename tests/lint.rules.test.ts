import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';

// `npm run lint` holds workflow code to the rules of temporalio/samples-typescript; this proves
// the rules fire, so that a config change that silently drops one fails here.
const eslint = new ESLint({
  cwd: PROJECT_ROOT,
  // Snippets are not part of the TypeScript project; the import rules need no types.
  overrideConfig: tseslint.configs.disableTypeChecked,
});

async function rulesBroken(source: string, file = 'src/workflows/probe.ts', lint = eslint): Promise<string[]> {
  const [result] = await lint.lintText(source, { filePath: `${PROJECT_ROOT}/${file}` });
  return result!.messages.map((message) => message.ruleId ?? message.message);
}

describe('workflow code stays deterministic (ESLint)', () => {
  it.each([
    ["import { readFile } from 'node:fs';\nvoid readFile;", '@typescript-eslint/no-restricted-imports'],
    [
      "import { proxyActivities } from '@temporalio/client';\nvoid proxyActivities;",
      '@typescript-eslint/no-restricted-imports',
    ],
    [
      "import { processTenant } from '../activities/index.js';\nvoid processTenant;",
      '@typescript-eslint/no-restricted-imports',
    ],
    ["import pg from 'pg';\nvoid pg;", '@typescript-eslint/no-restricted-imports'],
    ['export const at = () => new Date();', 'no-restricted-syntax'],
    ['export const env = () => process.env.HOME;', 'no-restricted-properties'],
    // Source text for ESLint to refuse in workflow code, never run: not a wait.
    ['export const later = () => setTimeout(() => {}, 10);', 'no-restricted-globals'],
    ["export const load = () => require('node:fs');", 'no-restricted-globals'],
  ])('refuses %j', async (source, rule) => {
    expect(await rulesBroken(source)).toContain(rule);
  });

  it('allows the workflow SDK, other workflow files, and anything as a type', async () => {
    const source = [
      "import { condition, proxyActivities } from '@temporalio/workflow';",
      "import { defineSearchAttributeKey } from '@temporalio/common';",
      "import { pauseSignal } from './queries.js';",
      "import type { RunbookActivities } from '../activities/index.js';",
      "import type pg from 'pg';",
      'export type Pool = pg.Pool;',
      'export const parts = [condition, proxyActivities, defineSearchAttributeKey, pauseSignal];',
      'export const at = (ms: number) => new Date(ms);',
      'export type A = RunbookActivities;',
    ].join('\n');
    expect(await rulesBroken(source)).toEqual([]);
  });

  it('holds only workflow code to them', async () => {
    expect(await rulesBroken("import { readFile } from 'node:fs';\nvoid readFile;", 'src/activities/probe.ts')).toEqual(
      [],
    );
  });
});

describe('the layers stay apart (ESLint)', () => {
  it.each([
    "import { temporalLauncher } from '../temporal/launcher.js';\nvoid temporalLauncher;",
    "import { buildApp } from '../web/app.js';\nvoid buildApp;",
    "import { withDeps } from '../cli/deps.js';\nvoid withDeps;",
    "import { pauseSignal } from '../workflows/queries.js';\nvoid pauseSignal;",
    "import { Client } from '@temporalio/client';\nvoid Client;",
  ])('the engine refuses %j', async (source) => {
    expect(await rulesBroken(source, 'src/runbooks/probe.ts')).toContain('no-restricted-imports');
  });

  it('holds the catalog to the same rule', async () => {
    const source = "import { Client } from '@temporalio/client';\nvoid Client;";
    expect(await rulesBroken(source, 'src/catalog/probe/definition.ts')).toContain('no-restricted-imports');
    const web = "import { buildApp } from '../../web/app.js';\nvoid buildApp;";
    expect(await rulesBroken(web, 'src/catalog/probe/definition.ts')).toContain('no-restricted-imports');
  });

  it('refuses an import cycle', async () => {
    // The drizzle schema naming a repository that reads the schema: the cycle the model module broke.
    const schema = readFileSync(join(PROJECT_ROOT, 'src/db/schema/operations.ts'), 'utf8');
    const withCycle = `import { getRun } from '../../runbooks/runs.js';\nexport const probe = getRun;\n${schema}`;
    const typed = new ESLint({ cwd: PROJECT_ROOT });
    expect(await rulesBroken(withCycle, 'src/db/schema/operations.ts', typed)).toContain('import-x/no-cycle');
    expect(await rulesBroken(schema, 'src/db/schema/operations.ts', typed)).toEqual([]);
  });
});
