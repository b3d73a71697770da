import type { Command } from 'commander';
import { SEED_LIMITS } from '../../seed/limits.js';
import { lazyAction } from '../lazy.js';
import { wholeNumber } from '../options.js';

export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description('Write demo and benchmark data: the platform tenant and N customer tenants with legacy findings')
    .requiredOption('--tenants <n>', 'customer tenants to add', wholeNumber(1, SEED_LIMITS.maxTenants))
    .requiredOption(
      '--findings-per-tenant <n>',
      'findings per tenant',
      wholeNumber(0, SEED_LIMITS.maxFindingsPerTenant),
    )
    .option('--seed <s>', 'seed of the generated content (same seed, same rows)', wholeNumber(0, 2_147_483_647), 1)
    .option('--json', 'print the result as JSON')
    .action(lazyAction(async () => (await import('../actions/seed.js')).seed));
}
