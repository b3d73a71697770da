import fastifyHelmet from '@fastify/helmet';
import fp from 'fastify-plugin';

/**
 * Security headers. The CSP allows the app's own scripts and styles only: no inline script or
 * style (htmx's injected indicator style is switched off in the layout), and no framing.
 */
export default fp<{ secure: boolean }>(
  async (app, options) => {
    await app.register(fastifyHelmet, {
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
  },
  { name: 'helmet' },
);
