import { configDefaults, defineConfig } from 'vitest/config';

/** Tests that take longer than about two minutes; `npm run test:slow` runs them (vitest.slow.config.ts). */
export const SLOW_TESTS = 'tests/slow/**/*.test.ts';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: [...configDefaults.exclude, SLOW_TESTS],
    globalSetup: ['tests/globalSetup.ts'],
    pool: 'forks',
    // The machine's shared server serves every test file at once: its connection count says
    // nothing of one test's run, so the connections gate stands aside unless a test sets it.
    // Approvals are the approval tests' subject; every other test starts its runs at once.
    env: { HEALTH_MAX_CONNECTIONS: '100%', HEALTH_CRITICAL_CONNECTIONS: '100%', APPROVALS: 'none' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
