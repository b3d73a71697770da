import { configDefaults, defineConfig } from 'vitest/config';

/** Tests that take longer than about two minutes; `npm run test:slow` runs them (vitest.slow.config.ts). */
export const SLOW_TESTS = 'tests/slow/**/*.test.ts';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: [...configDefaults.exclude, SLOW_TESTS],
    globalSetup: ['tests/globalSetup.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
