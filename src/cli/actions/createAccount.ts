import type pg from 'pg';
import { createCustomerUser, UnknownTenantError } from '../../auth/customerUsers.js';
import { generatePassword } from '../../auth/passwords.js';
import { createPlatformUser, DuplicateEmailError } from '../../auth/platformUsers.js';
import { UsageError, UserError } from '../../errors.js';
import type { Capability } from '../../runbooks/capabilities.js';
import { withDeps } from '../deps.js';
import { printable } from '../printable.js';
import { printResult } from '../output.js';

const MIN_PASSWORD = 12;
const MAX_PASSWORD = 1024;

/** The password piped in (`printf %s "$PW" | ...`): one line, its newline dropped. */
async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new UsageError(
      '--password-stdin reads the password from a pipe, e.g. printf %s "$PASSWORD" | tsx src/cli platform-user create ...',
    );
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

/**
 * What both `create` commands do around their own insert: a generated password (printed once)
 * or one piped in, a taken email or an unknown tenant as a mistake (exit 2), and the result.
 */
async function createAccount<User>(
  options: { passwordStdin?: boolean; json?: boolean },
  create: (pool: pg.Pool, password: string) => Promise<User>,
  describe: (user: User) => { result: Record<string, unknown>; line: string },
): Promise<void> {
  const generated = !options.passwordStdin;
  const password = generated ? generatePassword() : await readPasswordFromStdin();
  await withDeps(async ({ database }) => {
    let user: User;
    try {
      user = await create(database.pool, password);
    } catch (error) {
      if (error instanceof DuplicateEmailError || error instanceof UnknownTenantError)
        throw new UserError(printable(error.message, 300), 2);
      throw error;
    }
    const { result, line } = describe(user);
    printResult(Boolean(options.json), { ...result, ...(generated ? { password } : {}) }, () =>
      [line, generated ? `Password (shown once, store it now): ${password}` : null].filter(Boolean).join('\n'),
    );
  });
}

export function createPlatformUserAccount(options: {
  email: string;
  capability: Capability[];
  passwordStdin?: boolean;
  json?: boolean;
}): Promise<void> {
  return createAccount(
    options,
    (pool, password) => createPlatformUser(pool, { email: options.email, password, capabilities: options.capability }),
    (user) => ({
      result: { id: user.id, email: user.email, capabilities: user.capabilities },
      line: `Created platform user ${printable(user.email, 300)} (id ${user.id}) with ${user.capabilities.join(', ')}.`,
    }),
  );
}

export function createCustomerUserAccount(options: {
  email: string;
  tenant: string;
  passwordStdin?: boolean;
  json?: boolean;
}): Promise<void> {
  return createAccount(
    options,
    (pool, password) => createCustomerUser(pool, { email: options.email, password, tenantExternalId: options.tenant }),
    (user) => ({
      result: { id: user.id, email: user.email, tenant: user.tenantExternalId },
      line: `Created customer user ${printable(user.email, 300)} (id ${user.id}) of tenant ${printable(user.tenantExternalId, 200)}.`,
    }),
  );
}
