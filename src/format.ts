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

/** An instant as "2026-12-01 11:41:30 UTC", to the second. */
export function utcTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}
