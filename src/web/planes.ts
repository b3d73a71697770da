import type { Plane } from '../auth/sessions.js';

/** Each plane has its own cookie, scoped to its own path. */
export const PLANE_COOKIES: Record<Plane, { name: string; path: string }> = {
  system: { name: 'system_session', path: '/system' },
  admin: { name: 'admin_session', path: '/admin' },
};

/** Where a plane's visitor goes after signing in, when they were not on their way elsewhere. */
export const PLANE_HOMES: Record<Plane, string> = {
  system: '/system/ops/runbooks',
  admin: '/admin/findings',
};

/** A plane's sign-in page. */
export function loginPathOf(plane: Plane): string {
  return `${PLANE_COOKIES[plane].path}/login`;
}

/** Where a plane's sign-out form posts. */
export function logoutPathOf(plane: Plane): string {
  return `${PLANE_COOKIES[plane].path}/logout`;
}

/**
 * The plane a URL belongs to, from its path alone: the one place that decides which cookie a
 * request is read with, before any session is looked at.
 */
export function planeOf(url: string): Plane | null {
  const path = url.split('?', 1)[0]!;
  for (const plane of ['system', 'admin'] as const) {
    const prefix = PLANE_COOKIES[plane].path;
    if (path === prefix || path.startsWith(`${prefix}/`)) return plane;
  }
  return null;
}
