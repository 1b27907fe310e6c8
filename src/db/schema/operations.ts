/** Seed 001's sources, notifications and reports, tenant-scoped. */
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  inet,
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
import { assetCriticality, notificationSeverity, reportType, sourceStatus, sourceType } from './enums.ts';
import { tenants, users } from './identity.ts';

export const sources = pgTable(
  'sources',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    name: varchar('name', { length: 255 }).notNull(),
    type: sourceType('type').notNull(),
    ip: inet('ip').notNull(),
    port: integer('port').notNull(),
    protocol: varchar('protocol', { length: 32 }).notNull(),
    status: sourceStatus('status').notNull().default('active'),
    /** Asset criticality, used by alert priority scoring. */
    criticality: assetCriticality('criticality').notNull().default('medium'),
    description: text('description'),
    /** Seed 001: notification configuration for this source. */
    notifications: jsonb('notifications').$type<Record<string, unknown>>(),
    lastActivity: tstz('last_activity').defaultNow(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('ux_sources_tenant_name').on(t.tenantId, t.name),
    index('ix_sources_tenant_type').on(t.tenantId, t.type),
    index('ix_sources_tenant_status').on(t.tenantId, t.status),
    check('ck_sources_port', sql`${t.port} between 0 and 65535`),
  ],
);

export const notifications = pgTable(
  'notifications',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** Optional addressee inside the tenant; null means every member. */
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    title: varchar('title', { length: 255 }),
    message: text('message').notNull(),
    severity: notificationSeverity('severity').notNull().default('info'),
    isRead: boolean('is_read').notNull().default(false),
    readAt: tstz('read_at'),
    /** Seed 001 `meta_data` (named so only because SQLAlchemy reserves `metadata`). */
    metadata: jsonb('metadata').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('ix_notifications_tenant_created').on(t.tenantId, t.createdAt),
    index('ix_notifications_tenant_unread').on(t.tenantId, t.isRead),
  ],
);

export const reports = pgTable(
  'reports',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    title: varchar('title', { length: 255 }).notNull(),
    summary: text('summary'),
    reportType: reportType('report_type').notNull(),
    generatedBy: varchar('generated_by', { length: 255 }).notNull(),
    periodStart: tstz('period_start'),
    periodEnd: tstz('period_end'),
    data: jsonb('data').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('ix_reports_tenant_created').on(t.tenantId, t.createdAt),
    index('ix_reports_tenant_type').on(t.tenantId, t.reportType),
  ],
);
