import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

/** The vendored assets, served from their npm packages by the app itself, never from a CDN. */
export const ASSETS = {
  htmx: '/assets/htmx.min.js',
  pico: '/assets/pico.min.css',
  console: '/assets/console.css',
  script: '/assets/console.js',
} as const;

const SERVED = new Set(Object.values(ASSETS).map((url) => url.slice('/assets'.length)));

export default fp(
  async (app) => {
    await app.register(fastifyStatic, {
      root: [
        join(packageDir('htmx.org'), 'dist'),
        join(packageDir('@picocss/pico'), 'css'),
        join(dirname(fileURLToPath(import.meta.url)), '../../assets'),
      ],
      prefix: '/assets/',
      // Only the files the layout links; the packages hold much else.
      allowedPath: (pathName) => SERVED.has(pathName),
      maxAge: 60 * 60 * 1000,
      index: false,
    });
  },
  { name: 'static' },
);
