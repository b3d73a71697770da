import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/**
 * OWASP's argon2id baseline: 19 MiB of memory, 2 passes, 1 lane. `algorithm: 2` is the
 * package's `Algorithm.Argon2id`, a const enum that isolated modules cannot import.
 */
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID);
}

/**
 * Checked against a real hash even when there is no user, so an unknown email takes as long
 * as a wrong password and the response time does not tell which emails exist.
 */
const UNKNOWN_USER_HASH = hashPassword(randomBytes(16).toString('hex'));

export async function verifyPassword(storedHash: string | null, password: string): Promise<boolean> {
  try {
    return await verify(storedHash ?? (await UNKNOWN_USER_HASH), password);
  } catch {
    // A malformed stored hash is a refusal, not a crash.
    return false;
  }
}

/** A password for a new account, printed once: 20 random bytes, about 160 bits. */
export function generatePassword(): string {
  return randomBytes(20).toString('base64url');
}
