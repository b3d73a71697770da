import { eq } from 'drizzle-orm';
import { orm, type Connection } from '../db/orm.js';
import { tenants, users } from '../db/schema/index.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';
import { sqlState } from '../errors.js';
import { hashPassword } from './passwords.js';
import { normalizeEmail } from './email.js';
import { DuplicateEmailError } from './platformUsers.js';

export type CustomerUserRecord = typeof users.$inferSelect;

export class UnknownTenantError extends Error {}

/** A customer user of the `/admin` plane, in a customer tenant (never the platform's own). */
export async function createCustomerUser(
  q: Connection,
  user: { email: string; password: string; tenantExternalId: string },
): Promise<CustomerUserRecord & { tenantExternalId: string }> {
  const email = normalizeEmail(user.email);
  const [tenant] = await orm(q)
    .select({ id: tenants.id })
    .from(tenants)
    .where(eq(tenants.externalId, user.tenantExternalId));
  if (!tenant || user.tenantExternalId === PLATFORM_TENANT_EXTERNAL_ID) {
    throw new UnknownTenantError(`There is no customer tenant with the external id ${user.tenantExternalId}.`);
  }
  try {
    const [created] = await orm(q)
      .insert(users)
      .values({ tenantId: tenant.id, email, passwordHash: await hashPassword(user.password) })
      .returning();
    return { ...created!, tenantExternalId: user.tenantExternalId };
  } catch (error) {
    if (sqlState(error) === '23505')
      throw new DuplicateEmailError(`A customer user with the email ${email} already exists.`);
    throw error;
  }
}

export async function findCustomerUserByEmail(q: Connection, email: string): Promise<CustomerUserRecord | null> {
  const [user] = await orm(q)
    .select()
    .from(users)
    .where(eq(users.email, normalizeEmail(email)));
  return user ?? null;
}

export async function countCustomerUsers(q: Connection): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  return rows[0]?.n ?? 0;
}
