import fp from 'fastify-plugin';
import helmet from 'helmet';

/**
 * Security headers. The CSP allows the app's own scripts and styles only: no inline script or
 * style (htmx's injected indicator style is switched off in the layout), and no framing.
 * helmet's middleware is built once here and only run per request: @fastify/helmet builds it
 * anew for every request (parsing the CSP each time), which was a measurable share of a poll's CPU.
 */
export default fp<{ secure: boolean }>(
  async (app, options) => {
    const setSecurityHeaders = helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          // Pico draws its form icons as data: SVG images.
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      // HSTS only where cookies are Secure too: plain-http development must not be pinned to https.
      strictTransportSecurity: options.secure,
    });
    app.addHook('onRequest', (request, reply, done) =>
      setSecurityHeaders(request.raw, reply.raw, (error) => done(error as Error | undefined)),
    );
  },
  { name: 'helmet' },
);
