/**
 * Tenancy and identity: seed 001 (tenants, users) merged with seed 003 (users, sessions, audit_logs).
 * Seed 001's `users.tenant_id` + `tenants_access` JSON become the `memberships` table (one role per tenant).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { createdAt, idColumn, tenantIdColumn, tstz, updatedAt } from './columns.ts';
import { auditAction, membershipRole, platformRole, tenantStatus } from './enums.ts';

export const tenants = pgTable(
  'tenants',
  {
    id: idColumn().primaryKey(),
    /** Seed 001's string id ("acme-corp") lives on as a unique, URL-safe slug. */
    slug: varchar('slug', { length: 63 }).notNull(),
    name: varchar('name', { length: 255 }).notNull(),
    description: text('description'),
    /** Maintained by triggers on memberships (migration 0002). */
    userCount: integer('user_count').notNull().default(0),
    /** Maintained by triggers on sources (migration 0002). */
    sourcesCount: integer('sources_count').notNull().default(0),
    status: tenantStatus('status').notNull().default('active'),
    /** Days of raw log retention for this tenant (log store purge job). */
    retentionDays: integer('retention_days').notNull().default(90),
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('ux_tenants_slug').on(t.slug),
    index('ix_tenants_status').on(t.status),
    check('ck_tenants_slug', sql`${t.slug} ~ '^[a-z0-9][a-z0-9-]{0,62}$'`),
    check('ck_tenants_retention', sql`${t.retentionDays} > 0`),
  ],
);

export const users = pgTable(
  'users',
  {
    id: idColumn().primaryKey(),
    username: varchar('username', { length: 64 }).notNull(),
    email: varchar('email', { length: 255 }).notNull(),
    /** Seed 001 `name` and seed 003 `full_name`, merged. */
    displayName: varchar('display_name', { length: 255 }),
    /** argon2id PHC string; seed 001 `password`, seed 003 `hashed_password`. */
    passwordHash: varchar('password_hash', { length: 255 }).notNull(),
    platformRole: platformRole('platform_role').notNull().default('user'),
    /** Seed 001's primary tenant association; access itself is decided by `memberships`. */
    defaultTenantId: uuid('default_tenant_id').references(() => tenants.id, { onDelete: 'set null' }),
    isActive: boolean('is_active').notNull().default(true),
    lastLogin: tstz('last_login'),
    failedLoginCount: integer('failed_login_count').notNull().default(0),
    lockedUntil: tstz('locked_until'),
    passwordChangedAt: tstz('password_changed_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('ux_users_username').on(sql`lower(${t.username})`),
    uniqueIndex('ux_users_email').on(sql`lower(${t.email})`),
    index('ix_users_is_active').on(t.isActive),
  ],
);

export const memberships = pgTable(
  'memberships',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: membershipRole('role').notNull().default('viewer'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] }), index('ix_memberships_user').on(t.userId)],
);

/** Seed 003 sessions: a user's working sessions (LangGraph thread, context), tenant-scoped. */
export const sessions = pgTable(
  'sessions',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    threadId: varchar('thread_id', { length: 255 }),
    context: jsonb('context').$type<Record<string, unknown>>(),
    title: varchar('title', { length: 255 }),
    isActive: boolean('is_active').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    endedAt: tstz('ended_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('ix_sessions_tenant_user').on(t.tenantId, t.userId),
    index('ix_sessions_user').on(t.userId),
    index('ix_sessions_thread').on(t.tenantId, t.threadId),
  ],
);

/**
 * Seed 003 audit_logs, tenant-scoped and hash-chained per tenant (`seq`, `prev_hash`, `row_hash`).
 * The user FK is SET NULL on delete so the trail outlives the account.
 */
export const auditLogs = pgTable(
  'audit_logs',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** Position in the tenant's hash chain (1, 2, ...), assigned by trigger (migration 0006). */
    seq: bigint('seq', { mode: 'number' })
      .notNull()
      .$defaultFn(() => 0),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    /** Who acted, kept even after the user row is deleted (username or `system`). */
    actor: varchar('actor', { length: 255 }),
    action: auditAction('action').notNull(),
    resourceType: varchar('resource_type', { length: 64 }),
    resourceId: varchar('resource_id', { length: 255 }),
    details: jsonb('details').$type<Record<string, unknown>>(),
    description: text('description'),
    ipAddress: varchar('ip_address', { length: 45 }),
    userAgent: varchar('user_agent', { length: 512 }),
    success: boolean('success').notNull().default(true),
    timestamp: tstz('timestamp').notNull().defaultNow(),
    prevHash: varchar('prev_hash', { length: 64 }),
    /** SHA-256 of the row and prev_hash, computed by trigger (migration 0006): callers never set it. */
    rowHash: varchar('row_hash', { length: 64 })
      .notNull()
      .$defaultFn(() => ''),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('ux_audit_logs_seq').on(t.tenantId, t.seq),
    index('ix_audit_logs_timestamp').on(t.tenantId, t.timestamp),
    index('ix_audit_logs_user').on(t.userId),
    index('ix_audit_logs_action').on(t.tenantId, t.action),
    index('ix_audit_logs_ip').on(t.tenantId, t.ipAddress),
    index('ix_audit_logs_resource').on(t.tenantId, t.resourceType, t.resourceId),
  ],
);

/** Per-tenant counters behind RULE-000001 / INC-000001 numbers (see migration 0002's vigil_next_number). */
export const tenantCounters = pgTable(
  'tenant_counters',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    name: varchar('name', { length: 32 }).notNull(),
    value: bigint('value', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] })],
);

/**
 * Machine credentials (log shippers, scripts): tenant-scoped, a permission set, shown once, stored as a
 * SHA-256 of the secret (the secret has 256 bits of entropy, so a slow hash adds nothing), revocable.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: varchar('name', { length: 255 }).notNull(),
    /** The first characters of the key (`vgk_3f9a...`), to recognise it in lists; not secret. */
    prefix: varchar('prefix', { length: 16 }).notNull(),
    /** Hex SHA-256 of the whole key. */
    keyHash: varchar('key_hash', { length: 64 }).notNull(),
    permissions: jsonb('permissions').$type<string[]>().notNull().default([]),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at'),
    lastUsedAt: tstz('last_used_at'),
    revokedAt: tstz('revoked_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('ux_api_keys_key_hash').on(t.keyHash),
    index('ix_api_keys_tenant_created').on(t.tenantId, t.createdAt),
  ],
);

/**
 * Rotating refresh tokens, stored hashed. Each refresh replaces the token with a new one of the same family;
 * presenting a replaced token again (theft) revokes the whole family.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: idColumn().primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    familyId: uuid('family_id').notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull(),
    /** The tenant the login chose; null means the user's default tenant. */
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    issuedAt: tstz('issued_at').notNull().defaultNow(),
    expiresAt: tstz('expires_at').notNull(),
    revokedAt: tstz('revoked_at'),
    replacedBy: uuid('replaced_by'),
    ipAddress: varchar('ip_address', { length: 45 }),
    userAgent: varchar('user_agent', { length: 512 }),
  },
  (t) => [
    uniqueIndex('ux_refresh_tokens_hash').on(t.tokenHash),
    index('ix_refresh_tokens_user').on(t.userId),
    index('ix_refresh_tokens_family').on(t.familyId),
  ],
);
