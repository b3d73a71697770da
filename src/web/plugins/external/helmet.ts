import type { IncomingMessage, ServerResponse } from 'node:http';
import fp from 'fastify-plugin';
import helmet from 'helmet';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The security headers every answer carries, also the ones the router and the HTTP parser
     * make before any hook runs (a malformed URL, an over-long id, oversized headers).
     */
    securityHeaders: Readonly<Record<string, string>>;
  }
}

/**
 * helmet's headers, read once from its middleware: with no nonce in the CSP they are the same
 * for every answer. The CSP allows the app's own scripts and styles only: no inline script or
 * style (htmx's injected indicator style is switched off in the layout), and no framing, which
 * X-Frame-Options says too (DENY) for browsers that predate frame-ancestors.
 */
function helmetHeaders(secure: boolean): Record<string, string> {
  const middleware = helmet({
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
    xFrameOptions: { action: 'deny' },
    // HSTS only where cookies are Secure too: plain-http development must not be pinned to https.
    strictTransportSecurity: secure,
  });
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  middleware({} as IncomingMessage, response as unknown as ServerResponse, () => undefined);
  return headers;
}

export default fp<{ secure: boolean }>(
  async (app, options) => {
    const headers = helmetHeaders(options.secure);
    app.decorate('securityHeaders', headers);
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
  },
  { name: 'helmet' },
);
