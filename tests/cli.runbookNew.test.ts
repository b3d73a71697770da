import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withCatalogEntry } from '../src/cli/scaffold/catalogIndex.js';
import { scaffoldNames } from '../src/cli/scaffold/names.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { runCli, type CliResult } from './support/cli.js';

const SLOW = 600_000;
const NAME = 'archive-old-findings';
const FOLDER = `src/catalog/${NAME}`;
const GENERATED = [
  `${FOLDER}/definition.ts`,
  `${FOLDER}/rules.ts`,
  `${FOLDER}/sql.ts`,
  `${FOLDER}/RULES.md`,
  `${FOLDER}/testData.ts`,
  `tests/${NAME}.rules.test.ts`,
];
/** The second scaffold of the copy, with every option given: quotes in the title must survive. */
const OTHER = 'close-old-findings';
const OTHER_TITLE = `Close a tenant's "old" findings`;

/** A command in `cwd`, as an engineer would run it there. */
function run(command: string, args: string[], cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: SLOW, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const npx = (args: string[], cwd: string) => run('npx', ['--no-install', ...args], cwd);
const newRunbook = (root: string, ...args: string[]) => runCli(['runbook', 'new', ...args, '--root', root]);

/** Every file and folder under `root` with a file's text: what a refusal must leave as it was. */
async function contents(root: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    found[path.slice(root.length + 1)] = entry.isFile() ? await readFile(path, 'utf8') : 'a folder';
  }
  return found;
}

const roots: string[] = [];
async function tempRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'runbook-new-'));
  roots.push(root);
  return root;
}
afterAll(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

describe('runbook new', () => {
  let root: string;
  let indexBefore: string;
  let scaffold: CliResult;
  let other: CliResult;

  beforeAll(async () => {
    // A copy of what the generated files are compiled, linted and run with.
    root = await tempRoot();
    await cp(join(PROJECT_ROOT, 'src'), join(root, 'src'), { recursive: true });
    for (const file of ['tsconfig.json', 'package.json', 'eslint.config.js', '.prettierrc.json', '.editorconfig']) {
      await cp(join(PROJECT_ROOT, file), join(root, file));
    }
    await mkdir(join(root, 'tests'));
    await symlink(join(PROJECT_ROOT, 'node_modules'), join(root, 'node_modules'));
    indexBefore = await readFile(join(root, 'src/catalog/index.ts'), 'utf8');
    scaffold = await newRunbook(root, NAME);
    other = await newRunbook(
      root,
      OTHER,
      '--id',
      'findings.old.close',
      '--title',
      OTHER_TITLE,
      '--unit',
      'findings',
      '--writes',
      'findings',
    );
  }, SLOW);

  it('writes the catalog folder and the test of its rules, and prints them with the next steps', async () => {
    expect(scaffold.code, scaffold.stderr).toBe(0);
    expect((await readdir(join(root, FOLDER))).sort()).toEqual(
      ['RULES.md', 'definition.ts', 'rules.ts', 'sql.ts', 'testData.ts'].sort(),
    );
    for (const path of [...GENERATED, 'src/catalog/index.ts']) expect(scaffold.stdout).toContain(`  ${path}`);
    expect(scaffold.stdout).toContain(`npx vitest run tests/runbooks.conformance.test.ts -t ${NAME}`);

    const definition = await readFile(join(root, FOLDER, 'definition.ts'), 'utf8');
    expect(definition).toContain(`export const archiveOldFindingsRunbook = defineRunbook({`);
    expect(definition).toContain(`id: 'archive.old.findings',`);
    expect(definition).toContain(`cliName: '${NAME}',`);
    expect(definition).toContain(`title: 'Archive old findings',`);
    expect(definition).toContain(`unit: 'rows',`);
    expect(definition).toContain(`sampleKey: 'Row',`);
    expect(definition).toContain(`writes: '${NAME}',`);
    expect(definition).toMatch(/olderThanDays: param\.integer\(\{[^}]*min: 1,[^}]*max: 3650,/);
    for (const fn of ['preflight', 'fingerprint', 'processBatch', 'remainingToChange']) {
      expect(definition).toMatch(new RegExp(`\\n  ${fn}\\(`));
    }

    const rulesDoc = await readFile(join(root, FOLDER, 'RULES.md'), 'utf8');
    const headings = rulesDoc.split('\n').filter((line) => line.startsWith('#'));
    expect(headings).toEqual([
      '# Archive old findings: the rules',
      '## Inputs',
      '## Outputs',
      '## What "changed" means',
      '## The fixed instant',
    ]);
    const rulesTest = await readFile(join(root, 'tests', `${NAME}.rules.test.ts`), 'utf8');
    expect(rulesTest).not.toMatch(/\.(skip|todo|only)\b/);

    expect(other.code, other.stderr).toBe(0);
    const otherDefinition = await readFile(join(root, 'src/catalog', OTHER, 'definition.ts'), 'utf8');
    expect(otherDefinition).toContain(`title: 'Close a tenant\\'s "old" findings',`);
    expect(otherDefinition).toContain(`sampleKey: 'Finding',`);
  });

  it('registers both in src/catalog/index.ts: an import each and the last entries of CATALOG', async () => {
    const index = await readFile(join(root, 'src/catalog/index.ts'), 'utf8');
    const entries = (text: string) => /export const CATALOG[^=]*= \[([^\]]*)\]/.exec(text)![1]!.match(/\w+/g)!;
    expect(entries(index)).toEqual([...entries(indexBefore), 'archiveOldFindingsRunbook', 'closeOldFindingsRunbook']);
    expect(index.split('\n').filter((line) => line.startsWith('import '))).toEqual([
      ...indexBefore.split('\n').filter((line) => line.startsWith('import ')),
      `import { archiveOldFindingsRunbook } from './${NAME}/definition.js';`,
      `import { closeOldFindingsRunbook } from './${OTHER}/definition.js';`,
    ]);
  });

  it(
    "compiles, and passes the project's ESLint and Prettier as written",
    async () => {
      const written = [...GENERATED, `src/catalog/${OTHER}/definition.ts`, 'src/catalog/index.ts'];
      const [tsc, eslint, prettier] = await Promise.all([
        npx(['tsc', '--noEmit', '-p', root], root),
        npx(['eslint', '--max-warnings', '0', ...written.filter((path) => path.endsWith('.ts'))], root),
        npx(['prettier', '--check', ...written, `src/catalog/${OTHER}`], root),
      ]);
      expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
      expect(eslint.code, eslint.stdout + eslint.stderr).toBe(0);
      expect(prettier.code, prettier.stdout + prettier.stderr).toBe(0);
    },
    SLOW,
  );

  it(
    "is listed by the copy's own CLI with its parameter, and every function throws 'not written yet'",
    async () => {
      const probe = join(root, 'probe', 'probe.ts');
      await mkdir(join(root, 'probe'));
      await writeFile(
        probe,
        `import { getRunbook } from '../src/runbooks/registry.js';
import { changeFor } from '../${FOLDER}/rules.js';
import { testData } from '../${FOLDER}/testData.js';
const runbook = getRunbook('${NAME}');
const q = { query: () => Promise.reject(new Error('the probe has no database')) };
const context = { parameters: { olderThanDays: 90 }, asOf: new Date() };
const calls = {
  preflight: () => runbook.preflight(q, [{ id: 1, externalId: 'acme', workspaceId: 1 }], context),
  fingerprint: () => runbook.fingerprint(q, [1], context),
  processBatch: () => runbook.processBatch(q, { runId: 'r', tenantId: 1, cursor: 0, batchSize: 10 }, context),
  remainingToChange: () => runbook.remainingToChange(q, 1, context),
  changeFor: () => changeFor({ id: 1, createdAt: new Date() }, { asOf: new Date(), olderThanDays: 90 }),
  write: () => testData.write(q, 1, null),
  applyChange: () => testData.applyChange(q, 1, null),
};
const thrown = {};
for (const [name, call] of Object.entries(calls)) {
  try {
    await call();
    thrown[name] = 'nothing';
  } catch (error) {
    thrown[name] = error.message;
  }
}
process.stdout.write(JSON.stringify(thrown));
`,
      );
      const tsx = (...args: string[]) => run(process.execPath, ['--import', 'tsx', ...args], root);
      const [list, probed, rulesTest] = await Promise.all([
        tsx(join(root, 'src/cli/index.ts'), 'runbooks', 'list', '--json'),
        tsx(probe),
        npx(['vitest', 'run', `tests/${NAME}.rules.test.ts`], root),
      ]);

      expect(list.code, list.stderr).toBe(0);
      const listed = JSON.parse(list.stdout);
      expect(listed.find((runbook: { cliName: string }) => runbook.cliName === NAME)).toMatchObject({
        id: 'archive.old.findings',
        title: 'Archive old findings',
        unit: 'rows',
        writes: NAME,
        deployTriggered: false,
        customerTrigger: false,
        parameters: [{ name: 'olderThanDays', kind: 'integer', min: 1, max: 3650, default: 90, required: false }],
      });
      expect(listed.find((runbook: { cliName: string }) => runbook.cliName === OTHER)).toMatchObject({
        id: 'findings.old.close',
        title: OTHER_TITLE,
        unit: 'findings',
        writes: 'findings',
      });

      expect(probed.code, probed.stderr).toBe(0);
      const where = (fn: string, file: string) => `${NAME}: ${fn} is not written yet (${FOLDER}/${file})`;
      expect(JSON.parse(probed.stdout)).toEqual({
        preflight: where('preflight', 'definition.ts'),
        fingerprint: where('fingerprint', 'definition.ts'),
        processBatch: where('changeBatch', 'sql.ts'),
        remainingToChange: where('countToChange', 'sql.ts'),
        changeFor: where('changeFor', 'rules.ts'),
        write: where('testData.write', 'testData.ts'),
        applyChange: where('testData.applyChange', 'testData.ts'),
      });

      // The test of the rules runs, and fails, until the rules are written.
      expect(rulesTest.code, rulesTest.stdout + rulesTest.stderr).toBe(1);
      expect(rulesTest.stdout).toMatch(/Tests .*2 failed/);
      expect(rulesTest.stdout + rulesTest.stderr).toContain(where('changeFor', 'rules.ts'));
    },
    SLOW,
  );
});

describe('runbook new: the names it makes and the names it refuses', () => {
  it('makes every other name from the name, unless given', () => {
    expect(scaffoldNames('archive-old-findings', { unit: 'rows' })).toEqual({
      name: 'archive-old-findings',
      id: 'archive.old.findings',
      title: 'Archive old findings',
      unit: 'rows',
      sampleKey: 'Row',
      writes: 'archive-old-findings',
      identifier: 'archiveOldFindingsRunbook',
    });
    expect(
      scaffoldNames('fix-2fa-x9', {
        id: 'auth.fix',
        title: ` Fix "2FA" (x9) `,
        unit: 'tenant settings',
        writes: 'auth',
      }),
    ).toEqual({
      name: 'fix-2fa-x9',
      id: 'auth.fix',
      title: 'Fix "2FA" (x9)',
      unit: 'tenant settings',
      sampleKey: 'Tenant setting',
      writes: 'auth',
      identifier: 'fix2faX9Runbook',
    });
    // A reserved word is never the identifier.
    expect(scaffoldNames('delete', { unit: 'rows' }).identifier).toBe('deleteRunbook');
  });

  it.each([
    ['uppercase', 'Archive-Old-Findings'],
    ['a path', '../x'],
    ['a path in the catalog', 'archive/../../x'],
    ['61 characters', `a${'b'.repeat(60)}`],
    ['no characters', ''],
    ['two characters', 'ab'],
    ['a double hyphen', 'archive--old'],
    ['a trailing hyphen', 'archive-'],
    ['a leading digit', '1-archive'],
    ['an underscore', 'archive_old'],
    ['a space', 'archive old'],
    ['a dot', 'archive.old'],
  ])('refuses a name with %s', (_case, name) => {
    expect(() => scaffoldNames(name, { unit: 'rows' })).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(/^The runbook's name takes 3 to 60/) }),
    );
  });

  it('takes a name of 3 and of 60 characters', () => {
    expect(scaffoldNames('abc', { unit: 'rows' }).id).toBe('abc');
    expect(scaffoldNames(`a${'b'.repeat(59)}`, { unit: 'rows' }).name).toHaveLength(60);
  });

  it.each([
    ['id', 'Findings.Old', /^--id takes lowercase words joined by dots/],
    ['id', 'findings..old', /^--id takes/],
    ['title', 'Close */ findings', /^--title takes words, digits and plain punctuation/],
    ['title', 'Close `findings`', /^--title takes/],
    ['title', 'Close \\ findings', /^--title takes/],
    ['title', 'Close\nfindings', /^--title takes/],
    ['title', '   ', /^--title takes/],
    ['title', 'x'.repeat(101), /^--title takes .*at most 100 characters/],
    ['unit', 'Findings', /^--unit takes lowercase words/],
    ['unit', "finding's", /^--unit takes/],
    ['writes', '../findings', /^--writes takes a lowercase lock key/],
  ] as const)('refuses --%s %j', (option, value, message) => {
    expect(() => scaffoldNames('archive-old-findings', { unit: 'rows', [option]: value })).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringMatching(message) }),
    );
  });
});

describe('runbook new: the catalog module it edits', () => {
  const entry = { identifier: 'archiveOldFindingsRunbook', name: 'archive-old-findings' };
  const catalog = (imports: string, array: string) =>
    `${imports}\n\n/** The catalog. */\nexport const CATALOG: readonly RunbookDefinition[] = [${array}];\n`;
  const typeImport = `import type { RunbookDefinition } from '../runbooks/definition.js';`;
  const newImport = `import { archiveOldFindingsRunbook } from './archive-old-findings/definition.js';`;

  it('adds the import after the last catalog import and the entry last, one per line or not', () => {
    const imports = `${typeImport}\nimport {\n  a,\n  b,\n} from './a/definition.js';`;
    expect(withCatalogEntry(catalog(imports, '\n  a,\n  b,\n'), entry)).toBe(
      catalog(`${imports}\n${newImport}`, 'a, b, archiveOldFindingsRunbook'),
    );
    expect(withCatalogEntry(catalog(typeImport, ''), entry)).toBe(
      catalog(`${typeImport}\n${newImport}`, 'archiveOldFindingsRunbook'),
    );
  });

  it.each([
    ['no CATALOG array', catalog(typeImport, 'a').replace('CATALOG', 'RUNBOOK_LIST')],
    ['two CATALOG arrays', catalog(typeImport, 'a') + catalog('', 'b')],
    ['a CATALOG made another way', catalog(typeImport, 'a').replace('];', '].concat(more);')],
    ['a comment in CATALOG', catalog(typeImport, '\n  // the first\n  a,\n')],
    ['a spread in CATALOG', catalog(typeImport, '...others, a')],
    ['no import', catalog('', 'a')],
    ['the identifier already', catalog(typeImport, 'a') + '// archiveOldFindingsRunbook was here\n'],
  ])('refuses a catalog module with %s', (_case, text) => {
    expect(() => withCatalogEntry(text, entry)).toThrow(/^src\/catalog\/index\.ts .*nothing was written/);
  });
});

describe.concurrent('runbook new refuses, in one line, and writes nothing', { timeout: 240_000 }, () => {
  /** A project as far as the refusals look: the catalog module and a tests folder. */
  async function smallProject(): Promise<string> {
    const root = await tempRoot();
    await mkdir(join(root, 'src/catalog'), { recursive: true });
    await mkdir(join(root, 'tests'));
    await cp(join(PROJECT_ROOT, 'src/catalog/index.ts'), join(root, 'src/catalog/index.ts'));
    return root;
  }

  async function expectRefusal(args: string[], message: RegExp, code = 2, prepare?: (root: string) => Promise<void>) {
    const root = await smallProject();
    await prepare?.(root);
    const before = await contents(root);
    const result = await newRunbook(root, ...args);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code, stdout: '' });
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
    expect(lines[0]!.length).toBeLessThan(400);
    expect(await contents(root)).toEqual(before);
  }

  it.each([
    ['uppercase', 'Archive-Old-Findings'],
    ['a path', '../x'],
    ['10,000 characters', 'a'.repeat(10_000)],
    ['no characters', ''],
  ])('a name with %s (exit code 2)', async (_case, name) => {
    await expectRefusal([name], /The runbook's name takes 3 to 60 characters/);
  });

  it('a bad option (exit code 2)', async () => {
    await expectRefusal([NAME, '--title', 'Close */ findings'], /--title takes words/);
  });

  it('a registered name, or a registered id under a new name (exit code 2)', async () => {
    await expectRefusal(
      ['findings-lifecycle'],
      /"findings-lifecycle" is taken: findings-lifecycle \(findings\.lifecycle\.rebuild\) is registered already/,
    );
    await expectRefusal([NAME, '--id', 'findings.lifecycle.rebuild'], /"findings\.lifecycle\.rebuild" is taken/);
  });

  it('a folder that exists already, or a test of its rules (exit code 2)', async () => {
    await expectRefusal([NAME], new RegExp(`${FOLDER} exists already`), 2, (root) => mkdir(join(root, FOLDER)));
    await expectRefusal([NAME], new RegExp(`tests/${NAME}\\.rules\\.test\\.ts exists already`), 2, (root) =>
      writeFile(join(root, `tests/${NAME}.rules.test.ts`), '// an old test\n'),
    );
  });

  it('a root that is not the project (exit code 2)', async () => {
    const empty = await tempRoot();
    const result = await newRunbook(empty, NAME);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error: .* is not the project: it has no src\/catalog\/index\.ts\.\n$/);
    expect(await readdir(empty)).toEqual([]);
  });

  it('a catalog module of another shape (exit code 1)', async () => {
    await expectRefusal([NAME], /^error: src\/catalog\/index\.ts .*nothing was written/, 1, async (root) => {
      const index = join(root, 'src/catalog/index.ts');
      await writeFile(index, (await readFile(index, 'utf8')).replace(/\];/, '].concat([]);'));
    });
  });
});
