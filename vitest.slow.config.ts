import { configDefaults, defineConfig } from 'vitest/config';
import base, { SLOW_TESTS } from './vitest.config.js';

/**
 * The slow suite (`npm run test:slow`): only tests/slow, with the same global setup (template
 * database, Temporal dev server) and pool as `npm test`, and timeouts long enough for them.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: [SLOW_TESTS],
    exclude: [...configDefaults.exclude],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
