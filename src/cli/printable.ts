/**
 * Text from people (reasons, tenant names, labels) and from other systems (errors) on its way
 * to a terminal: control characters are shown escaped, so a stored `\e[2K\r` cannot rewrite
 * the screen or fake a line, and a newline cannot break a layout; very long text is cut.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this escapes
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

function escapeControl(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/** At most `max` characters (code points), saying how many more there were. */
function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}… (${chars.length - max} more characters)`;
}

export function printable(text: string, max = 500): string {
  return clip(text.replace(CONTROL, escapeControl), max);
}

/** The same for output of several lines (a library's error text): each line on its own. */
export function printableLines(text: string, max = 500): string {
  const trailing = text.endsWith('\n') ? '\n' : '';
  return (
    text
      .replace(/\n$/, '')
      .split('\n')
      .map((line) => printable(line, max))
      .join('\n') + trailing
  );
}
