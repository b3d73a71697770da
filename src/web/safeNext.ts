import type { Plane } from '../auth/sessions.js';
import { loginPathOf, PLANE_COOKIES, PLANE_HOMES } from './planes.js';

/**
 * Where to go after signing in: only a path of the plane signed in to (`/system/...`,
 * `/admin/...`), so a crafted `next` cannot send the visitor to another site (`//evil`,
 * `https://evil`, `/\evil`), to the other plane, or run script (`javascript:`). Anything else
 * goes to the plane's home page.
 */
export function safeNext(next: string | undefined, plane: Plane): string {
  const home = PLANE_HOMES[plane];
  if (!next || next.length > 512) return home;
  if (!next.startsWith(`${PLANE_COOKIES[plane].path}/`)) return home;
  // Browsers read a backslash as a slash and drop tabs and newlines from URLs.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (next.includes('//') || /[\\\s\u0000-\u001f\u007f]/.test(next)) return home;
  if (next.startsWith(loginPathOf(plane))) return home;
  return next;
}
