const DEFAULT_AFTER_LOGIN = '/system/ops/runbooks';

/**
 * Where to go after signing in: only a path of this console (`/system/...`), so a crafted
 * `next` cannot send the operator to another site (`//evil`, `https://evil`, `/\evil`) or run
 * script (`javascript:`). Anything else goes to the runbooks page.
 */
export function safeNext(next: string | undefined): string {
  if (!next || next.length > 512) return DEFAULT_AFTER_LOGIN;
  if (!next.startsWith('/system/')) return DEFAULT_AFTER_LOGIN;
  // Browsers read a backslash as a slash and drop tabs and newlines from URLs.
  if (next.includes('//') || /[\\\s\u0000-\u001f\u007f]/.test(next)) return DEFAULT_AFTER_LOGIN;
  if (next.startsWith('/system/login')) return DEFAULT_AFTER_LOGIN;
  return next;
}
