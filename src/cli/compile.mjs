// The compiled CLI (dist/cli), which `npm run cli`, the worker and the deploy hook run. Plain
// JavaScript, so that `npm run cli` can tell whether the build is fresh before anything is compiled.
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE = join(ROOT, 'src', 'cli', 'index.ts');
const OUT_DIR = join(ROOT, 'dist', 'cli');
export const CLI_ENTRY = join(OUT_DIR, 'index.js');
/**
 * When the build started and the sources it was made from (what `isCliFresh` compares), and
 * which sources went into each file (what a test reads to tell what a command loaded).
 */
export const BUILD_RECORD = join(OUT_DIR, 'build.json');
/** Chunks of older builds a process started from them may still import; after a day nobody does. */
const STALE_FILE_MS = 24 * 60 * 60 * 1000;

// Packages of many small ES modules load several times faster from one file (typebox alone is
// 679 modules, 0.3 s of a short command). The rest stay in node_modules: the Temporal SDK finds
// its native core and workflow sources there, and pg and argon2 load native code.
const BUNDLED = new Set(['drizzle-orm', 'typebox']);

function externalPackages() {
  const { dependencies, devDependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return Object.keys({ ...dependencies, ...devDependencies })
    .filter((name) => !BUNDLED.has(name))
    .flatMap((name) => [name, `${name}/*`]);
}

/** Renamed into place, so that a process starting meanwhile (another launcher's worker) reads a whole file. */
export async function writeWhole(file, contents) {
  await mkdir(dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, contents);
  await rename(partial, file);
}

/** Files of older builds: their chunks (every build names its own by content) and maps. */
async function removeStaleFiles(current) {
  const now = Date.now();
  for (const name of await readdir(OUT_DIR)) {
    if (current.has(name) || name === basename(BUILD_RECORD)) continue;
    const file = join(OUT_DIR, name);
    const { mtimeMs } = await stat(file).catch(() => ({ mtimeMs: now }));
    if (now - mtimeMs > STALE_FILE_MS) await unlink(file).catch(() => undefined);
  }
}

/**
 * dist/cli/index.js and a chunk per command, loaded when the command runs. The entry lies two
 * folders deep like src/cli/index.ts, and so do the chunks, so that the paths modules resolve from
 * import.meta.url to the root (migrations, the workflow sources) stay right. Chunks are written
 * before the entry, so that a process that starts meanwhile finds every chunk its entry names.
 */
export async function buildCli() {
  const startedAt = Date.now();
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [SOURCE],
    absWorkingDir: ROOT,
    outdir: OUT_DIR,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: externalPackages(),
    sourcemap: 'linked',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const byEntryLast = [...result.outputFiles].sort(
    (a, b) => Number(a.path.startsWith(CLI_ENTRY)) - Number(b.path.startsWith(CLI_ENTRY)),
  );
  for (const output of byEntryLast) await writeWhole(output.path, output.contents);
  const inputs = Object.keys(result.metafile.inputs);
  const outputs = Object.fromEntries(
    Object.entries(result.metafile.outputs)
      .filter(([file]) => file.endsWith('.js'))
      .map(([file, output]) => [basename(file), Object.keys(output.inputs)]),
  );
  await writeWhole(BUILD_RECORD, JSON.stringify({ startedAt, inputs, outputs }));
  await removeStaleFiles(new Set(result.outputFiles.map((output) => basename(output.path))));
}

/** Whether dist/cli was built after the last change to any file it was built from (and to this file). */
export function isCliFresh() {
  let record;
  try {
    record = JSON.parse(readFileSync(BUILD_RECORD, 'utf8'));
  } catch {
    return false;
  }
  const inputs = [...record.inputs.map((input) => join(ROOT, input)), fileURLToPath(import.meta.url)];
  return inputs.every((input) => {
    try {
      return statSync(input).mtimeMs <= record.startedAt;
    } catch {
      return false;
    }
  });
}
