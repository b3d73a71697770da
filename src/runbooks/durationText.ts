import ms from 'ms';

/**
 * A duration as people type it ("500ms", "5s", "2m", "1h", or a bare number of seconds, as they
 * say "a lag of 5") in milliseconds, or what is wrong with it.
 */
export function parseDuration(text: string): number | string {
  const trimmed = text.trim();
  const value = /^(\d+(\.\d+)?|\.\d+)$/.test(trimmed) ? Number(trimmed) * 1000 : ms(trimmed as ms.StringValue);
  return typeof value === 'number' && Number.isFinite(value)
    ? Math.round(value)
    : `"${trimmed.slice(0, 100)}" is not a duration (write 500ms, 5s, 2m or 1h)`;
}
