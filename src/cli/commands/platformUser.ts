import { InvalidArgumentError, type Command } from 'commander';
import { normalizeEmail } from '../../auth/email.js';
import { ALL_CAPABILITIES, isCapability, type Capability } from '../../runbooks/capabilities.js';
import { lazyAction } from '../lazy.js';

/** Collects repeated --capability values; no default, so requiredOption still demands one. */
function capability(raw: string, previous: Capability[] | undefined): Capability[] {
  if (!isCapability(raw)) throw new InvalidArgumentError(`expected one of ${ALL_CAPABILITIES.join(', ')}.`);
  return [...(previous ?? []), raw];
}

function email(raw: string): string {
  const value = normalizeEmail(raw);
  if (value.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(value))
    throw new InvalidArgumentError('expected an email address (name@domain, at most 254 characters).');
  return value;
}

export function registerPlatformUserCommands(program: Command): void {
  const platformUser = program.command('platform-user').description('Operators of the /system console');
  platformUser
    .command('create')
    .description(
      'Create an operator who signs in to the console; prints a generated password once unless --password-stdin',
    )
    .requiredOption('--email <email>', 'the email the operator signs in with', email)
    .requiredOption(
      '--capability <capability>',
      `a capability to grant (repeat for more): ${ALL_CAPABILITIES.join(', ')}`,
      capability,
    )
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--json', 'print the result as JSON')
    .action(lazyAction(async () => (await import('../actions/createAccount.js')).createPlatformUserAccount));
}

export function registerCustomerUserCommands(program: Command): void {
  const customerUser = program.command('customer-user').description('Customer users of the /admin plane');
  customerUser
    .command('create')
    .description(
      "Create a customer user who signs in to /admin and sees their tenant's findings; prints a generated password once unless --password-stdin",
    )
    .requiredOption('--email <email>', 'the email the customer signs in with', email)
    .requiredOption('--tenant <external_id>', 'the customer tenant the user belongs to, by external id')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--json', 'print the result as JSON')
    .action(lazyAction(async () => (await import('../actions/createAccount.js')).createCustomerUserAccount));
}
