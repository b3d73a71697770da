import { eq } from 'drizzle-orm';
import { orm, type Connection } from '../db/orm.js';
import { platformUsers } from '../db/schema/index.js';
import { sqlState } from '../errors.js';
import type { Capability } from '../runbooks/capabilities.js';
import { normalizeEmail } from './email.js';
import { hashPassword } from './passwords.js';

export type PlatformUserRecord = typeof platformUsers.$inferSelect;

export class DuplicateEmailError extends Error {}

export async function createPlatformUser(
  q: Connection,
  user: { email: string; password: string; capabilities: readonly Capability[] },
): Promise<PlatformUserRecord> {
  const email = normalizeEmail(user.email);
  try {
    const [created] = await orm(q)
      .insert(platformUsers)
      .values({ email, passwordHash: await hashPassword(user.password), capabilities: [...new Set(user.capabilities)] })
      .returning();
    return created!;
  } catch (error) {
    if (sqlState(error) === '23505')
      throw new DuplicateEmailError(`A platform user with the email ${email} already exists.`);
    throw error;
  }
}

export async function findPlatformUserByEmail(q: Connection, email: string): Promise<PlatformUserRecord | null> {
  const [user] = await orm(q)
    .select()
    .from(platformUsers)
    .where(eq(platformUsers.email, normalizeEmail(email)));
  return user ?? null;
}

export async function countPlatformUsers(q: Connection): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM platform_users');
  return rows[0]?.n ?? 0;
}

export async function findPlatformUserById(q: Connection, id: number): Promise<PlatformUserRecord | null> {
  const [user] = await orm(q).select().from(platformUsers).where(eq(platformUsers.id, id));
  return user ?? null;
}
