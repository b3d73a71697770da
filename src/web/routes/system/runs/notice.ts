import type { FastifyReply, FastifyRequest } from 'fastify';

/** What an operator just asked of a run: the start, or an action on it. */
export const NOTICES = {
  started: 'queued',
  cancel: 'Cancel requested',
  pause: 'Pause requested',
  resume: 'Resume requested',
  tune: 'New settings sent to the run',
} as const;
export type Notice = keyof typeof NOTICES;

const COOKIE = 'run_notice';
const PATH = '/system/ops/runs';

/**
 * The intent toast of a redirect to a run page is carried by a short-lived cookie rather than the
 * URL: the page shows it once and clears it, so a reload, Back or a shared link never shows it
 * again (a `?started=1` in the URL did, on a run long completed).
 */
export function sendNotice(reply: FastifyReply, runId: string, notice: Notice, secure: boolean): void {
  reply.setCookie(COOKIE, `${runId}.${notice}`, { path: PATH, httpOnly: true, sameSite: 'strict', secure, maxAge: 60 });
}

/** The notice meant for this run's page, cleared as it is shown; any other value is ignored. */
export function takeNotice(request: FastifyRequest, reply: FastifyReply, runId: string): Notice | null {
  const value = request.cookies[COOKIE];
  if (value === undefined) return null;
  reply.clearCookie(COOKIE, { path: PATH });
  const [id, notice] = value.split('.');
  return id === runId && notice !== undefined && Object.hasOwn(NOTICES, notice) ? (notice as Notice) : null;
}
