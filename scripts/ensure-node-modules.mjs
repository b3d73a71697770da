// Installs npm dependencies when node_modules is missing or older than package-lock.json, so
// that `npm start` and `npm test` work on a fresh clone. Plain Node: it runs before any install.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  // npm warns about the engines of an unsupported Node at length; say first what to do about it.
  const supported = JSON.parse(readFileSync('package.json', 'utf8')).engines.node;
  const major = process.versions.node.split('.')[0];
  if (supported !== `^${major}.0.0`) {
    console.error(
      `Node ${process.version} is not the supported Node (engines: ${supported}), so npm warns below; ` +
        '`node scripts/fetch-node.mjs 24` puts Node 24 LTS into .tools/node-24 (put its bin first on PATH).',
    );
  }
  console.error('Installing npm dependencies (npm ci)...');
  // The lock file pins every version and its hash: what npm's cache holds needs no revalidation.
  execSync('npm ci --prefer-offline --no-audit --no-fund', { stdio: 'inherit' });
}
