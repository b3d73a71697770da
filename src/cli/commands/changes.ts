import type { Command } from 'commander';
import { lazyAction } from '../lazy.js';
import { wholeNumber } from '../options.js';

const SIGN_IN = [
  '--as <email>',
  'the operator who decides (signs in like the console; needs --password-stdin)',
] as const;
const PASSWORD = ['--password-stdin', "read the operator's password from the first line of standard input"] as const;

export function registerChangesCommands(program: Command): void {
  const changes = program
    .command('changes')
    .description('Change requests: starts the approval policy (APPROVALS) holds until other operators approve them');

  changes
    .command('list')
    .description('Open change requests, the longest waiting first; with --all every request, newest first')
    .option('--all', 'every request, decided or not, newest first')
    .option('--limit <n>', 'how many', wholeNumber(1, 1000), 20)
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/changesList.js')).changesList));

  changes
    .command('show')
    .description(
      'A change request: what it would run, its preflight, the decisions on it, its run, and what to do next',
    )
    .argument('<id>', 'the change request id')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/changesShow.js')).changesShow));

  changes
    .command('approve')
    .description(
      "Approve another operator's change request; the last approval it needs starts its run (after a drift check)",
    )
    .argument('<id>', 'the change request id')
    .requiredOption(...SIGN_IN)
    .option(...PASSWORD)
    .requiredOption('--comment <text>', 'what you checked (10–500 characters); audited, and shown on the request')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/changesDecide.js')).changesApprove));

  changes
    .command('reject')
    .description("Reject another operator's change request: it closes and nothing runs")
    .argument('<id>', 'the change request id')
    .requiredOption(...SIGN_IN)
    .option(...PASSWORD)
    .requiredOption('--comment <text>', 'why not (10–500 characters); audited, and shown to the requester')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/changesDecide.js')).changesReject));

  changes
    .command('withdraw')
    .description(
      'Withdraw your own open change request: as this CLI (user@host) when it filed it, or --as the operator who did',
    )
    .argument('<id>', 'the change request id')
    .option('--as <email>', 'the operator who filed it (needs --password-stdin)')
    .option(...PASSWORD)
    .option('--comment <text>', 'why (10–500 characters); audited')
    .option('--json', 'print machine-readable JSON')
    .action(lazyAction(async () => (await import('../actions/changesDecide.js')).changesWithdraw));
}
