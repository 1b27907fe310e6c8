/**
 * Password hashing with argon2id at the OWASP Password Storage Cheat Sheet's minimum parameters
 * (19 MiB memory, 2 iterations, 1 lane), random generation, and the password policy.
 * No plaintext password is ever logged or stored: callers keep only the PHC string `hashPassword` returns.
 */
import { randomBytes } from 'node:crypto';
import { argon2id, hash, needsRehash as argon2NeedsRehash, verify } from 'argon2';
import { ValidationError } from '../domain/errors.ts';

/** OWASP: m=19456 KiB (19 MiB), t=2, p=1. */
export const ARGON2_OPTIONS = { type: argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 12;
/** Long enough for any passphrase or manager, short enough that hashing cannot be used to burn CPU. */
export const PASSWORD_MAX_LENGTH = 1024;

/** 64 URL-safe characters: a random byte masked to 6 bits picks one without bias. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Length in Unicode code points, so a passphrase of emoji or accented letters is counted as typed. */
function length(password: string): number {
  return [...password].length;
}

/**
 * Throw a ValidationError (field `password`) unless the password meets the policy: at least 12 and at most
 * 1024 characters. No composition rules (NIST SP 800-63B): length is what makes a password strong.
 */
export function assertPasswordPolicy(password: string, field = 'password'): void {
  if (typeof password !== 'string') {
    throw new ValidationError('password must be a string', [{ path: field, message: 'expected a string' }]);
  }
  const n = length(password);
  if (n < PASSWORD_MIN_LENGTH) {
    const message = `must be at least ${PASSWORD_MIN_LENGTH} characters`;
    throw new ValidationError(`password ${message}`, [{ path: field, message }]);
  }
  if (n > PASSWORD_MAX_LENGTH) {
    const message = `must be at most ${PASSWORD_MAX_LENGTH} characters`;
    throw new ValidationError(`password ${message}`, [{ path: field, message }]);
  }
}

/** The argon2id PHC string (`$argon2id$v=19$m=19456,p=1,t=2$salt$hash`) of a password, with a random salt. */
export async function hashPassword(password: string): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) {
    throw new ValidationError('password must not be empty', [{ path: 'password', message: 'required' }]);
  }
  return hash(password, ARGON2_OPTIONS);
}

/**
 * Whether `password` matches `passwordHash`. Never throws: a malformed, empty or foreign hash (a legacy
 * bcrypt string, a NULL from a bad import) is simply `false`, so a login can only fail closed.
 */
export async function verifyPassword(password: string, passwordHash: string): Promise<boolean> {
  if (typeof password !== 'string' || typeof passwordHash !== 'string') return false;
  if (!passwordHash.startsWith('$argon2')) return false;
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** True when a stored hash is not argon2id at today's parameters: rehash it after the next good login. */
export function needsRehash(passwordHash: string): boolean {
  if (typeof passwordHash !== 'string' || !passwordHash.startsWith('$argon2id$')) return true;
  try {
    return argon2NeedsRehash(passwordHash, {
      memoryCost: ARGON2_OPTIONS.memoryCost,
      timeCost: ARGON2_OPTIONS.timeCost,
      parallelism: ARGON2_OPTIONS.parallelism,
    });
  } catch {
    return true;
  }
}

/** A random password of `length` URL-safe characters (6 bits each: 24 characters carry 144 bits). */
export function generatePassword(length = 24): string {
  if (!Number.isInteger(length) || length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    throw new ValidationError(
      `password length must be an integer from ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH}`,
      [{ path: 'length', message: `must be from ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH}` }],
    );
  }
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 63];
  return out;
}
