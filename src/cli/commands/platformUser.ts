import { InvalidArgumentError, type Command } from 'commander';
import { generatePassword } from '../../auth/passwords.js';
import { createPlatformUser, DuplicateEmailError, isCapability, normalizeEmail } from '../../auth/platformUsers.js';
import { UsageError, UserError } from '../../errors.js';
import { ALL_CAPABILITIES, type Capability } from '../../runbooks/capabilities.js';
import { withDeps } from '../deps.js';
import { printable } from '../printable.js';
import { printResult } from '../output.js';

const MIN_PASSWORD = 12;
const MAX_PASSWORD = 1024;

/** Collects repeated --capability values; no default, so requiredOption still demands one. */
function capability(raw: string, previous: Capability[] | undefined): Capability[] {
  if (!isCapability(raw)) throw new InvalidArgumentError(`expected one of ${ALL_CAPABILITIES.join(', ')}.`);
  return [...(previous ?? []), raw];
}

function email(raw: string): string {
  const value = normalizeEmail(raw);
  if (value.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(value)) throw new InvalidArgumentError('expected an email address (name@domain, at most 254 characters).');
  return value;
}

/** The password piped in (`printf %s "$PW" | ...`): one line, its newline dropped. */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--password-stdin reads the password from a pipe, e.g. printf %s "$PASSWORD" | tsx src/cli platform-user create ...');
  let input = '';
  for await (const chunk of process.stdin) {
    input += String(chunk);
    if (input.length > MAX_PASSWORD + 2) break;
  }
  const password = input.replace(/\r?\n$/, '');
  if (password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new UsageError(`the password on stdin must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters on one line.`);
  }
  return password;
}

export function registerPlatformUserCommands(program: Command): void {
  const platformUser = program.command('platform-user').description('Operators of the /system console');
  platformUser
    .command('create')
    .description('Create an operator who signs in to the console; prints a generated password once unless --password-stdin')
    .requiredOption('--email <email>', 'the email the operator signs in with', email)
    .requiredOption('--capability <capability>', `a capability to grant (repeat for more): ${ALL_CAPABILITIES.join(', ')}`, capability)
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .option('--json', 'print the result as JSON')
    .action(async (options: { email: string; capability: Capability[]; passwordStdin?: boolean; json?: boolean }) => {
      const generated = !options.passwordStdin;
      const password = generated ? generatePassword() : await readPasswordFromStdin();
      await withDeps(async ({ database }) => {
        let user;
        try {
          user = await createPlatformUser(database.pool, { email: options.email, password, capabilities: options.capability });
        } catch (error) {
          if (error instanceof DuplicateEmailError) throw new UserError(printable(error.message, 300), 2);
          throw error;
        }
        const result = { id: user.id, email: user.email, capabilities: user.capabilities, ...(generated ? { password } : {}) };
        printResult(Boolean(options.json), result, () =>
          [
            `Created platform user ${printable(user.email, 300)} (id ${user.id}) with ${user.capabilities.join(', ')}.`,
            generated ? `Password (shown once, store it now): ${password}` : null,
          ]
            .filter(Boolean)
            .join('\n'),
        );
      });
    });
}
