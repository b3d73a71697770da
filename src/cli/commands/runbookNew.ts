import type { Command } from 'commander';
import { lazyAction } from '../lazy.js';

export function registerRunbookNewCommand(program: Command): void {
  const runbook = program.command('runbook').description('Make new runbooks');
  runbook
    .command('new')
    .description(
      'Scaffold a runbook: a catalog folder (definition, rules, SQL, RULES.md, test data) and a test of its rules, ' +
        'registered in src/catalog/index.ts. Every function throws "not written yet" until it is written.',
    )
    .argument('<name>', "the runbook's CLI name, kebab-case (3 to 60 characters): also its folder's name")
    .option('--id <id>', 'its stable id (default: the name with dots for hyphens)')
    .option('--title <text>', 'its title for people (default: the name as a sentence)')
    .option('--unit <words>', 'what its counts count', 'rows')
    .option(
      '--writes <lock key>',
      'the data it writes, as a lock key shared with runbooks that write it too (default: the name)',
    )
    .option('--root <dir>', 'where the project is, for trying it on a copy (default: this project)')
    .option('--json', 'print the result as JSON: its names and the files written')
    .addHelpText(
      'after',
      '\nExample:\n  npm run cli -- runbook new archive-old-findings --unit findings --writes findings\n',
    )
    .action(lazyAction(async () => (await import('../actions/runbookNew.js')).runbookNew));
}
