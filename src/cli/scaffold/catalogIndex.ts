import { UserError } from '../../errors.js';

export const CATALOG_INDEX = 'src/catalog/index.ts';

// The one array the registry reads; its entries are identifiers, optionally one per line.
const CATALOG_ARRAY = /^(export const CATALOG\b[^=\n]*=\s*\[)([\s\w,]*)(\];?)$/m;
const IMPORT = /^import\s[^;]*?\sfrom\s+'([^']+)';$/gm;

function shapeError(problem: string): UserError {
  return new UserError(`${CATALOG_INDEX} ${problem}, so the runbook was not added (nothing was written).`);
}

/**
 * The catalog module with one more runbook: its import after the last catalog import, and its
 * identifier last in `CATALOG`. The text is edited only when it has exactly the expected shape,
 * since a guess could register a runbook twice or not at all.
 */
export function withCatalogEntry(text: string, entry: { identifier: string; name: string }): string {
  if (new RegExp(`\\b${entry.identifier}\\b`).test(text)) throw shapeError(`names ${entry.identifier} already`);
  const arrays = text.match(new RegExp(CATALOG_ARRAY.source, 'gm')) ?? [];
  if (arrays.length !== 1) {
    throw shapeError('has no single "export const CATALOG: readonly RunbookDefinition[] = [ ... ];" of identifiers');
  }
  const imports = [...text.matchAll(IMPORT)];
  const anchor = imports.filter((match) => match[1]!.startsWith('./')).at(-1) ?? imports.at(-1);
  if (!anchor) throw shapeError('has no import statement');

  const at = anchor.index + anchor[0].length;
  const withImport = `${text.slice(0, at)}\nimport { ${entry.identifier} } from './${entry.name}/definition.js';${text.slice(at)}`;
  return withImport.replace(CATALOG_ARRAY, (_whole, open: string, entries: string, close: string) => {
    const names = entries
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    return `${open}${[...names, entry.identifier].join(', ')}${close}`;
  });
}
