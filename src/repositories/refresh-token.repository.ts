import { isIP } from 'node:net';
import { and, desc, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { refreshTokens } from '../db/schema/index.ts';
import { ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';

/** A stored refresh token: only its SHA-256 (`tokenHash`) is kept, never the token. */
export type RefreshToken = typeof refreshTokens.$inferSelect;

export interface RefreshTokenCreate {
  /** Chosen by the caller when it must name the row before inserting it (rotation); default: a new UUIDv7. */
  id?: string;
  userId: string;
  familyId: string;
  /** Hex SHA-256 of the token. */
  tokenHash: string;
  tenantId: string | null;
  expiresAt: Date;
  ip?: string | null | undefined;
  userAgent?: string | null | undefined;
}

/** The live state of a login (a refresh family): who it belongs to and the tenant it chose. */
export interface ActiveFamily {
  familyId: string;
  userId: string;
  tenantId: string | null;
  /** Expiry of the family's newest live token. */
  expiresAt: Date;
}

const HASH_RE = /^[0-9a-f]{64}$/;

/** Client-supplied values are stored only when well-formed: a bad header never costs the row. */
const cleanIp = (ip: string | null | undefined): string | null =>
  ip && ip.length <= 45 && isIP(ip) !== 0 ? ip : null;
const cleanUserAgent = (ua: string | null | undefined): string | null => (ua ? ua.slice(0, 512) : null);

/**
 * Rotating refresh tokens. A global table (users log in before choosing a tenant), so no row-level security:
 * every method runs in a plain transaction (`db.tx`) and joins the caller's when there is one.
 */
export class RefreshTokenRepository {
  constructor(private readonly db: Database) {}

  async create(input: RefreshTokenCreate): Promise<RefreshToken> {
    if (!HASH_RE.test(input.tokenHash)) {
      throw new ValidationError('invalid refresh token record: tokenHash must be a hex SHA-256', [
        { path: 'tokenHash', message: 'expected a hex SHA-256, never the token itself' },
      ]);
    }
    for (const [path, v] of [
      ['userId', input.userId],
      ['familyId', input.familyId],
      ...(input.id ? [['id', input.id]] : []),
      ...(input.tenantId ? [['tenantId', input.tenantId]] : []),
    ] as const) {
      if (!isUuid(v))
        throw new ValidationError(`invalid refresh token record: ${path}`, [
          { path, message: 'must be a UUID' },
        ]);
    }
    return this.db.tx(async (tx) => {
      const [row] = await tx
        .insert(refreshTokens)
        .values({
          ...(input.id ? { id: input.id } : {}),
          userId: input.userId,
          familyId: input.familyId,
          tokenHash: input.tokenHash,
          tenantId: input.tenantId,
          expiresAt: input.expiresAt,
          ipAddress: cleanIp(input.ip),
          userAgent: cleanUserAgent(input.userAgent),
        })
        .returning();
      return row!;
    });
  }

  async get(id: string): Promise<RefreshToken | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.tx((tx) => tx.select().from(refreshTokens).where(eq(refreshTokens.id, id)));
    return row;
  }

  /** The token whose SHA-256 is `hash`, whatever its state (revoked, replaced, expired): the caller decides. */
  async getByHash(hash: string): Promise<RefreshToken | undefined> {
    if (!HASH_RE.test(hash)) return undefined;
    const [row] = await this.db.tx((tx) =>
      tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash)),
    );
    return row;
  }

  /**
   * Rotation: record that token `id` was replaced by `replacedById`. Only a live token (neither replaced nor
   * revoked) can be replaced, atomically: of two concurrent refreshes with one token, one wins and the other
   * gets `false` (and treats it as reuse).
   */
  async markReplaced(id: string, replacedById: string): Promise<boolean> {
    if (!isUuid(id) || !isUuid(replacedById)) return false;
    return this.db.tx(async (tx) => {
      const done = await tx
        .update(refreshTokens)
        .set({ replacedBy: replacedById })
        .where(
          and(eq(refreshTokens.id, id), isNull(refreshTokens.replacedBy), isNull(refreshTokens.revokedAt)),
        )
        .returning({ id: refreshTokens.id });
      return done.length === 1;
    });
  }

  /** Revoke every token of a login (logout, or reuse detected); returns how many were still live. */
  async revokeFamily(familyId: string, userId?: string): Promise<number> {
    if (!isUuid(familyId) || (userId !== undefined && !isUuid(userId))) return 0;
    return this.db.tx(async (tx) => {
      const done = await tx
        .update(refreshTokens)
        .set({ revokedAt: sql`now()` })
        .where(
          and(
            eq(refreshTokens.familyId, familyId),
            userId === undefined ? undefined : eq(refreshTokens.userId, userId),
            isNull(refreshTokens.revokedAt),
          ),
        )
        .returning({ id: refreshTokens.id });
      return done.length;
    });
  }

  /** Revoke every login of a user (password change, deactivation, "sign out everywhere"). */
  async revokeAllForUser(userId: string): Promise<number> {
    if (!isUuid(userId)) return 0;
    return this.db.tx(async (tx) => {
      const done = await tx
        .update(refreshTokens)
        .set({ revokedAt: sql`now()` })
        .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
        .returning({ id: refreshTokens.id });
      return done.length;
    });
  }

  /** The family's newest token that is neither revoked nor expired at `at`, or undefined (login over). */
  async getActiveFamily(familyId: string, at: Date = new Date()): Promise<ActiveFamily | undefined> {
    if (!isUuid(familyId)) return undefined;
    const [row] = await this.db.tx((tx) =>
      tx
        .select({
          familyId: refreshTokens.familyId,
          userId: refreshTokens.userId,
          tenantId: refreshTokens.tenantId,
          expiresAt: refreshTokens.expiresAt,
        })
        .from(refreshTokens)
        .where(
          and(
            eq(refreshTokens.familyId, familyId),
            isNull(refreshTokens.revokedAt),
            gt(refreshTokens.expiresAt, at),
          ),
        )
        .orderBy(desc(refreshTokens.expiresAt))
        .limit(1),
    );
    return row;
  }

  /** Whether some token of the family is neither revoked nor expired at `at`. */
  async isFamilyActive(familyId: string, at: Date = new Date()): Promise<boolean> {
    return (await this.getActiveFamily(familyId, at)) !== undefined;
  }

  /** Housekeeping: delete tokens that expired before `before`; returns how many. */
  async purgeExpired(before: Date): Promise<number> {
    return this.db.tx(async (tx) => {
      const gone = await tx
        .delete(refreshTokens)
        .where(lt(refreshTokens.expiresAt, before))
        .returning({ id: refreshTokens.id });
      return gone.length;
    });
  }
}
