import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { lazyAction } from '../lazy.js';
import { printable } from '../printable.js';

const RELEASE = /^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,99}$/;

function release(raw: string): string {
  if (!RELEASE.test(raw)) {
    throw new UsageError(
      `--release takes 1 to 100 characters: letters, digits and . _ : / + - (got "${printable(raw, 80)}").`,
    );
  }
  return raw;
}

export function registerDeployHookCommand(program: Command): void {
  program
    .command('deploy-hook')
    .description(
      'Tell the deploy workflow about a release: each deploy-triggered runbook runs once for it, on all tenants',
    )
    .requiredOption('--release <id>', 'the release (the same release twice starts nothing new)', release)
    .option('--wait', 'follow the runs to their end; exit 0 only when all of them succeeded')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      '\nDEPLOY_RUNBOOKS (a comma list, empty for none) overrides which runbooks run; by default the deploy-triggered ones.',
    )
    .action(lazyAction(async () => (await import('../actions/deployHook.js')).deployHook));
}
