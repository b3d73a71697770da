import type { Plane } from '../auth/sessions.js';
import { loginPathOf, PLANE_COOKIES } from './planes.js';

/**
 * Where to go after signing in: only a path of the plane signed in to (`/system/...`,
 * `/admin/...`), so a crafted `next` cannot send the visitor to another site (`//evil`,
 * `https://evil`, `/\evil`), to the other plane, or run script (`javascript:`). Anything else is
 * null, and so is a path that cannot be a Location header: one with a character outside
 * printable ASCII (a browser sends `ğ` percent-encoded; Node refuses it raw). On null the
 * sign-in goes to the account's own start page, which only it knows once it knows who signed in.
 */
export function safeNext(next: string | undefined, plane: Plane): string | null {
  if (!next || next.length > 512) return null;
  if (!next.startsWith(`${PLANE_COOKIES[plane].path}/`)) return null;
  // Browsers read a backslash as a slash and drop tabs and newlines from URLs; printable ASCII
  // has neither whitespace nor control characters.
  if (next.includes('//') || next.includes('\\') || !/^[\x21-\x7e]*$/.test(next)) return null;
  if (next.startsWith(loginPathOf(plane))) return null;
  return next;
}
