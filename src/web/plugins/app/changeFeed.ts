import fp from 'fastify-plugin';
import { SAFE_METHODS } from '../../safeMethods.js';
import { openChangeFeed, type ChangeFeed } from '../../../db/changeFeed.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** What the console's read caches listen to; it connects (and reconnects) on its own. */
    changeFeed: ChangeFeed;
  }
}

/** A feed that takes longer than this to hear its own marker is dropped (and everything it kept). */
const CAUGHT_UP_TIMEOUT_MS = 2_000;

export default fp(
  async (app) => {
    const feed = openChangeFeed(app.deps.config.databaseUrl, app.log);
    app.decorate('changeFeed', feed);
    // First thing on closing: the database may be going down at the same moment (Ctrl-C under
    // npm start reaches both), and losing the feed then is no news.
    app.addHook('preClose', () => feed.close());
    // Whoever writes reads next what they wrote: the answer to a POST leaves once this console
    // has heard its writes (one round trip), so the page it leads to is never from before them.
    // Other processes' writes are heard a moment after their commit. A refused POST (a bad CSRF
    // token, a throttled sign-in) wrote nothing kept here, and must not queue markers on the
    // feed's one connection: a flood of them would stall it.
    app.addHook('onSend', async (request, reply, payload) => {
      if (!SAFE_METHODS.has(request.method) && reply.statusCode < 400 && feed.live) {
        await feed
          .caughtUp(CAUGHT_UP_TIMEOUT_MS)
          .catch((error: unknown) => request.log.warn({ err: error }, 'console change feed did not catch up'));
      }
      return payload;
    });
  },
  { name: 'change-feed' },
);
