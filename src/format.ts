/** Numbers and counted nouns as people read them, for every surface. */

export const count = (n: number | undefined) => (n ?? 0).toLocaleString('en-US');

/** "1 finding", "2 findings": `noun` in the singular. */
export function plural(n: number | undefined, noun: string): string {
  return `${count(n)} ${n === 1 ? noun : `${noun}s`}`;
}

/** The same for a unit named in the plural, as runbook definitions name theirs ("findings"). */
export function counted(n: number | undefined, pluralUnit: string): string {
  return `${count(n)} ${n === 1 ? pluralUnit.replace(/s$/, '') : pluralUnit}`;
}
