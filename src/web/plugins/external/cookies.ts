import fastifyCookie from '@fastify/cookie';
import fp from 'fastify-plugin';

/** Parses `Cookie` and adds `reply.setCookie`; session cookies carry a random token, so none is signed. */
export default fp(
  async (app) => {
    await app.register(fastifyCookie);
  },
  { name: 'cookies' },
);
