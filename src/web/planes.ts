import type { Plane } from '../auth/sessions.js';
import { CAPABILITIES, type Capability } from '../runbooks/capabilities.js';

/** Each plane has its own cookie, scoped to its own path. */
export const PLANE_COOKIES: Record<Plane, { name: string; path: string }> = {
  system: { name: 'system_session', path: '/system' },
  admin: { name: 'admin_session', path: '/admin' },
};

/**
 * A plane's start page for a visitor the console does not know yet (signed out, or outside both
 * planes): `/system/` sends an operator on to their own start page (`operatorHome`), which
 * depends on their capabilities, and anyone else to the sign-in.
 */
export const PLANE_HOMES: Record<Plane, string> = {
  system: '/system/',
  admin: '/admin/findings',
};

/** What a header link may show beside its label, counted for each page (null: not counted). */
export interface NavCounts {
  /** Change requests waiting for approval, for an operator who may approve them. */
  openChanges: number | null;
}

/** The operator's pages in the header, in its order, each with the capability that opens it. */
const OPERATOR_PAGES: ReadonlyArray<{ href: string; label: string; capability: Capability; count?: keyof NavCounts }> =
  [
    { href: '/system/ops/runbooks', label: 'Runbooks', capability: CAPABILITIES.runbooksView },
    { href: '/system/ops/runs', label: 'Runs', capability: CAPABILITIES.runsView },
    { href: '/system/ops/changes', label: 'Approvals', capability: CAPABILITIES.runsView, count: 'openChanges' },
    { href: '/system/ops/windows', label: 'Windows', capability: CAPABILITIES.runsView },
  ];

/**
 * The header's pages that an operator with these capabilities may open (a link to a 403 is no
 * use), each with its count when it has one and it was counted.
 */
export function operatorNav(
  capabilities: readonly string[],
  counts: Partial<NavCounts> = {},
): Array<{ href: string; label: string; count: number | null }> {
  return OPERATOR_PAGES.filter((page) => capabilities.includes(page.capability)).map(({ href, label, count }) => ({
    href,
    label,
    count: count ? (counts[count] ?? null) : null,
  }));
}

/**
 * Where an operator starts (after sign-in, at `/system`, from an error page's "Back"): the first
 * page of the header they may open, else their notifications, which every operator may read, so
 * that no one's first screen is a 403.
 */
export function operatorHome(capabilities: readonly string[]): string {
  return operatorNav(capabilities)[0]?.href ?? '/system/notifications';
}

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
