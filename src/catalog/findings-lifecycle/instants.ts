/**
 * Instants as integer microseconds since the Unix epoch. PostgreSQL keeps microseconds and the
 * lifecycle rules compare timestamps exactly, so a JS Date (milliseconds) would lose a difference
 * the database sees. A JS number holds these integers exactly up to 2^53 microseconds either side
 * of 1970, i.e. from the year 1684 to 2255; instants outside that span are rejected.
 */
const MICROS_PER_SECOND = 1_000_000;
export const MICROS_PER_DAY = 24 * 60 * 60 * MICROS_PER_SECOND;

const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:Z|\+00:00)$/;
const INSTANT_SHAPE = 'YYYY-MM-DDTHH:MM:SS[.f to .ffffff] followed by Z or +00:00';

/** Parses a UTC instant such as `2026-01-09T23:59:59.123456Z` into microseconds. */
export function parseInstant(iso: string): number {
  const match = INSTANT.exec(iso);
  const wholeSeconds = match?.[1];
  // Date only converts whole seconds here (exactly); the fraction never passes through it.
  const millis = wholeSeconds === undefined ? Number.NaN : Date.parse(`${wholeSeconds}Z`);
  // The round trip rejects dates a lenient parser would roll over, such as February 30.
  if (Number.isNaN(millis) || new Date(millis).toISOString().slice(0, 19) !== wholeSeconds) {
    throw new RangeError(`Not a UTC instant (${INSTANT_SHAPE}): ${JSON.stringify(iso)}`);
  }
  const micros = (millis / 1000) * MICROS_PER_SECOND + Number((match?.[2] ?? '').padEnd(6, '0'));
  if (!Number.isSafeInteger(micros)) throw new RangeError(`Instant beyond 2^53 microseconds from 1970: ${iso}`);
  return micros;
}

/** Formats microseconds as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
export function formatInstant(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`Not a safe integer of microseconds: ${micros}`);
  const fraction = ((micros % MICROS_PER_SECOND) + MICROS_PER_SECOND) % MICROS_PER_SECOND;
  const seconds = (micros - fraction) / MICROS_PER_SECOND;
  const wholeSeconds = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${wholeSeconds}.${String(fraction).padStart(6, '0')}Z`;
}
