/** How much `seed` writes at most in one go; the CLI checks its flags against them before it loads the seeder. */
export const SEED_LIMITS = {
  maxTenants: 100_000,
  maxFindingsPerTenant: 1_000_000,
  maxTotalFindings: 50_000_000,
} as const;
