import fastifyFormbody from '@fastify/formbody';
import fp from 'fastify-plugin';

/** Form bodies are the only bodies the console takes (no JSON, no text): forms post, htmx posts forms. */
const FORM_BODY_LIMIT = 64 * 1024;

export default fp(
  async (app) => {
    app.removeAllContentTypeParsers();
    await app.register(fastifyFormbody, { bodyLimit: FORM_BODY_LIMIT });
  },
  { name: 'form-body' },
);
