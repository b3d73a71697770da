import { UsageError } from '../../errors.js';
import { printable } from '../printable.js';

/** Everything the scaffold's files say about the new runbook, checked. */
export interface ScaffoldNames {
  /** The CLI name, which is also the catalog folder's and the test file's name. */
  name: string;
  id: string;
  title: string;
  unit: string;
  sampleKey: string;
  writes: string;
  /** The definition's exported constant, e.g. `archiveOldFindingsRunbook`. */
  identifier: string;
}

export interface ScaffoldOptions {
  id?: string;
  title?: string;
  unit: string;
  writes?: string;
}

// Single hyphens between words: the name becomes a folder, a file name, an id and an identifier.
const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const ID = /^[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)*$/;
const LOCK_KEY = /^[a-z][a-z0-9._-]*$/;
// The title and the unit land in string literals (their quotes escaped), comments and Markdown:
// without backslashes, backticks, asterisks or control characters they can end or escape none of them.
const TITLE = /^[\p{L}\p{N}][\p{L}\p{N} ,.;:'"()&+/-]*$/u;
const UNIT = /^[a-z][a-z0-9 -]*$/;

function checked(flag: string, raw: string, pattern: RegExp, max: number, takes: string): string {
  if (raw.length > max || !pattern.test(raw)) {
    throw new UsageError(`${flag} takes ${takes}, at most ${max} characters (got "${printable(raw, 80)}").`);
  }
  return raw;
}

/** "archive-old-findings": the name checked, and every other name made from it unless given. */
export function scaffoldNames(name: string, options: ScaffoldOptions): ScaffoldNames {
  if (name.length < 3 || name.length > 60 || !NAME.test(name)) {
    throw new UsageError(
      `The runbook's name takes 3 to 60 characters, lowercase words of letters and digits joined by single hyphens, ` +
        `starting with a letter, such as archive-old-findings (got "${printable(name, 80)}").`,
    );
  }
  const words = name.split('-');
  const unit = checked('--unit', options.unit, UNIT, 40, 'lowercase words, such as findings');
  return {
    name,
    id: checked(
      '--id',
      options.id ?? words.join('.'),
      ID,
      100,
      'lowercase words joined by dots, such as findings.stale.close',
    ),
    title: checked(
      '--title',
      (options.title ?? `${name[0]!.toUpperCase()}${words.join(' ').slice(1)}`).trim(),
      TITLE,
      100,
      'words, digits and plain punctuation',
    ),
    unit,
    // What a sample's key names: one of the unit ("findings" → "Finding").
    sampleKey: `${unit[0]!.toUpperCase()}${unit.slice(1).replace(/([^s])s$/, '$1')}`,
    writes: checked('--writes', options.writes ?? name, LOCK_KEY, 60, 'a lowercase lock key, such as findings'),
    // Suffixed, so that no name ("delete") makes a reserved word.
    identifier: `${words[0]}${words
      .slice(1)
      .map((word) => `${word[0]!.toUpperCase()}${word.slice(1)}`)
      .join('')}Runbook`,
  };
}
