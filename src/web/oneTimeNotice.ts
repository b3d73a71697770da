import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The intent toast of a redirect after POST ("Pause requested", "Approval recorded"), carried by
 * a short-lived cookie rather than the URL: the page it leads to shows it once and clears it, so
 * a reload, Back or a shared link never shows it again (a `?started=1` in the URL did, on a run
 * long completed). The cookie names the page's record (a run, a change request): any other
 * page of the path ignores it.
 */
export function oneTimeNotice<N extends string>(cookie: { name: string; path: string }, notices: readonly N[]) {
  const known = new Set<string>(notices);
  return {
    send(reply: FastifyReply, id: string, notice: N, secure: boolean): void {
      reply.setCookie(cookie.name, `${id}.${notice}`, {
        path: cookie.path,
        httpOnly: true,
        sameSite: 'strict',
        secure,
        maxAge: 60,
      });
    },
    /** The notice meant for this record's page, cleared as it is shown; any other value is ignored. */
    take(request: FastifyRequest, reply: FastifyReply, id: string): N | null {
      const value = request.cookies[cookie.name];
      if (value === undefined) return null;
      reply.clearCookie(cookie.name, { path: cookie.path });
      const [of, notice] = value.split('.');
      return of === id && notice !== undefined && known.has(notice) ? (notice as N) : null;
    },
  };
}
