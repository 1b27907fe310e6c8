import { describe, expect, it } from 'vitest';
import { ValidationError } from '../domain/errors.ts';
import {
  assertPasswordPolicy,
  generatePassword,
  hashPassword,
  needsRehash,
  PASSWORD_MAX_LENGTH,
  verifyPassword,
} from './password.ts';

describe('password', () => {
  it('hashes with argon2id at the OWASP parameters, salted', async () => {
    const h1 = await hashPassword('correct horse battery staple');
    const h2 = await hashPassword('correct horse battery staple');
    expect(h1).toMatch(/^\$argon2id\$v=19\$/);
    const params = h1.split('$')[3]?.split(',').sort();
    expect(params).toEqual(['m=19456', 'p=1', 't=2']);
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain('correct horse');
    expect(h1.length).toBeLessThanOrEqual(255); // fits users.password_hash
    expect(needsRehash(h1)).toBe(false);
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const h = await hashPassword('Tr0ub4dor&3-long-enough');
    expect(await verifyPassword('Tr0ub4dor&3-long-enough', h)).toBe(true);
    expect(await verifyPassword('Tr0ub4dor&3-long-enougH', h)).toBe(false);
    expect(await verifyPassword('', h)).toBe(false);
  });

  it('answers false, never throws, on a malformed or foreign hash', async () => {
    for (const bad of [
      '',
      'plaintext',
      '$argon2id$garbage',
      '$argon2id$v=19$m=19456,p=1,t=2$!!!$!!!',
      '$2b$12$KIXQJZ0aRcMPXp0O0o6Tz.0fD0rcXO8tCkQ8Ew6O9n1ZQ0fB2y5wS',
      null as unknown as string,
      undefined as unknown as string,
    ]) {
      await expect(verifyPassword('whatever-password', bad)).resolves.toBe(false);
    }
  });

  it('flags hashes that are not argon2id at today’s parameters for rehash', async () => {
    expect(needsRehash('$2b$12$KIXQJZ0aRcMPXp0O0o6Tz.0fD0rcXO8tCkQ8Ew6O9n1ZQ0fB2y5wS')).toBe(true);
    expect(needsRehash('$argon2id$garbage')).toBe(true);
    expect(needsRehash('$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA')).toBe(true);
  });

  it('generates url-safe random passwords of the asked length that pass the policy', () => {
    const p = generatePassword();
    expect(p).toHaveLength(24);
    expect(p).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(() => assertPasswordPolicy(p)).not.toThrow();
    expect(generatePassword(40)).toHaveLength(40);
    const many = new Set(Array.from({ length: 200 }, () => generatePassword()));
    expect(many.size).toBe(200);
    // every character of the alphabet turns up: the generator is not stuck on a subset
    const chars = new Set(Array.from({ length: 50 }, () => generatePassword(64)).join(''));
    expect(chars.size).toBe(64);
    expect(() => generatePassword(8)).toThrow(ValidationError);
    expect(() => generatePassword(12.5)).toThrow(ValidationError);
  });

  it('enforces the policy: at least 12 characters, counted as typed, at most 1024', () => {
    expect(() => assertPasswordPolicy('short-pass1')).toThrow(ValidationError);
    try {
      assertPasswordPolicy('elevenchars');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues).toEqual([
        { path: 'password', message: expect.stringMatching(/12/) },
      ]);
    }
    expect(() => assertPasswordPolicy('twelve-chars')).not.toThrow();
    // 11 emoji are 22 UTF-16 units but 11 characters: still too short
    expect(() => assertPasswordPolicy('🔒'.repeat(11))).toThrow(ValidationError);
    expect(() => assertPasswordPolicy('🔒'.repeat(12))).not.toThrow();
    expect(() => assertPasswordPolicy('x'.repeat(PASSWORD_MAX_LENGTH + 1))).toThrow(ValidationError);
    expect(() => assertPasswordPolicy('short', 'newPassword')).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ path: 'newPassword' })] }),
    );
  });

  it('refuses to hash an empty password', async () => {
    await expect(hashPassword('')).rejects.toBeInstanceOf(ValidationError);
  });
});
