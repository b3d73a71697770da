import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../dev/projectRoot.js';
import { UsageError, UserError } from '../../errors.js';
import { RUNBOOKS } from '../../runbooks/registry.js';
import { printResult } from '../output.js';
import { printable } from '../printable.js';
import { CATALOG_INDEX, withCatalogEntry } from '../scaffold/catalogIndex.js';
import { scaffoldNames, type ScaffoldNames, type ScaffoldOptions } from '../scaffold/names.js';
import { scaffoldFiles, type ScaffoldFile } from '../scaffold/templates.js';

export interface RunbookNewOptions extends ScaffoldOptions {
  root?: string;
  json?: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Every refusal comes before the first write. */
async function assertNew(root: string, names: ScaffoldNames, files: ScaffoldFile[]): Promise<void> {
  for (const given of [names.name, names.id]) {
    const known = RUNBOOKS.find((runbook) => runbook.id === given || runbook.cliName === given);
    if (known) throw new UsageError(`"${given}" is taken: ${known.cliName} (${known.id}) is registered already.`);
  }
  for (const path of [`src/catalog/${names.name}`, ...files.map((file) => file.path)]) {
    if (await exists(join(root, path))) throw new UsageError(`${path} exists already; choose another name.`);
  }
}

/**
 * Formatted as `npm run format` would, with the target project's Prettier settings. Prettier is a
 * development dependency, imported only here, so that the production CLI never loads it.
 */
async function formatted(root: string, files: ScaffoldFile[]): Promise<ScaffoldFile[]> {
  const prettier = await import('prettier');
  return Promise.all(
    files.map(async (file) => {
      const filepath = join(root, file.path);
      const config = await prettier.resolveConfig(filepath, { editorconfig: true });
      return { path: file.path, text: await prettier.format(file.text, { ...config, filepath }) };
    }),
  );
}

/** New files are created exclusively and removed again if a later one fails, so a folder is never half written. */
async function writeAll(root: string, folder: string, created: ScaffoldFile[], index: ScaffoldFile): Promise<void> {
  await mkdir(join(root, folder));
  const written: string[] = [];
  try {
    for (const file of created) {
      const path = join(root, file.path);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, file.text, { flag: 'wx' });
      written.push(path);
    }
    await writeFile(join(root, index.path), index.text);
  } catch (error) {
    await Promise.all(written.map((path) => rm(path, { force: true })));
    await rm(join(root, folder), { recursive: true, force: true });
    throw error;
  }
}

function nextSteps(names: ScaffoldNames, written: string[]): string {
  const folder = `src/catalog/${names.name}`;
  return [
    `Scaffolded ${names.name} (${names.id}), "${printable(names.title, 100)}":`,
    ...written.map((path) => `  ${path}`),
    '',
    'It is registered and listed now, and fails its tests until it is written. Next:',
    `  1. Say the rules in words: ${folder}/RULES.md.`,
    `  2. Write them as a pure function (${folder}/rules.ts) until its test passes:`,
    `     npx vitest run tests/${names.name}.rules.test.ts`,
    `  3. Write the SQL (${folder}/sql.ts), the preflight and the fingerprint (${folder}/definition.ts).`,
    `  4. Write the test data (${folder}/testData.ts), then run the conformance suite:`,
    `     npx vitest run tests/runbooks.conformance.test.ts -t ${names.name}`,
    'The contract: docs/writing-a-runbook.md.',
  ].join('\n');
}

export async function runbookNew(name: string, options: RunbookNewOptions): Promise<void> {
  const names = scaffoldNames(name, options);
  const root = options.root === undefined ? PROJECT_ROOT : resolve(options.root);
  const indexPath = join(root, CATALOG_INDEX);
  if (!(await exists(indexPath)))
    throw new UsageError(`${printable(root, 200)} is not the project: it has no ${CATALOG_INDEX}.`);
  const files = scaffoldFiles(names);
  await assertNew(root, names, files);
  const index = { path: CATALOG_INDEX, text: withCatalogEntry(await readFile(indexPath, 'utf8'), names) };
  const [formattedIndex, ...formattedFiles] = await formatted(root, [index, ...files]);
  try {
    await writeAll(root, `src/catalog/${names.name}`, formattedFiles, formattedIndex!);
  } catch (error) {
    throw new UserError(`The scaffold was not written: ${(error as Error).message}`);
  }
  const written = files.map((file) => file.path);
  printResult(
    Boolean(options.json),
    {
      name: names.name,
      id: names.id,
      title: names.title,
      unit: names.unit,
      writes: names.writes,
      root,
      files: written,
      registeredIn: CATALOG_INDEX,
    },
    () => nextSteps(names, [...written, `${CATALOG_INDEX} (registered)`]),
  );
}
