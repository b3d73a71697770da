import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';

const WORKFLOWS = join(PROJECT_ROOT, 'src/workflows');
/** What workflow code may import at run time; everything else only as `import type`. */
const ALLOWED_RUNTIME = /^(@temporalio\/workflow|@temporalio\/common|\.\/[\w.-]+\.js)$/;

function runtimeImports(source: string): string[] {
  return [...source.matchAll(/^import\s+(?!type\b)[^'"]*from\s+'([^']+)'/gm)].map((match) => match[1]!);
}

// The lint rule of temporalio/samples-typescript, as a test: workflow code must stay replayable.
describe('workflow code stays deterministic', () => {
  const files = readdirSync(WORKFLOWS).filter((file) => file.endsWith('.ts'));

  it.each(files)('%s imports only the workflow SDK and other workflow files at run time', (file) => {
    const source = readFileSync(join(WORKFLOWS, file), 'utf8');
    expect(runtimeImports(source).filter((module) => !ALLOWED_RUNTIME.test(module))).toEqual([]);
    expect(source).not.toMatch(/\brequire\(|process\.env|new Date\(\)|setTimeout\(/);
  });

  it('recognizes a forbidden import', () => {
    expect(
      runtimeImports("import { readFile } from 'node:fs';\nimport type { X } from '../activities/index.js';"),
    ).toEqual(['node:fs']);
  });
});
