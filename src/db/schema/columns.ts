import { sql } from 'drizzle-orm';
import { timestamp, uuid } from 'drizzle-orm/pg-core';
import { uuidv7 } from '../../domain/ids.ts';

/** `timestamptz` with a `now()` default, returned as a JS Date. */
export const createdAt = () =>
  timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
/** Kept current by the `vigil_touch_updated_at` trigger (migration 0002), not by callers. */
export const updatedAt = () =>
  timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** UUID primary key column: v7 (time-ordered) from the application, v4 from the database as a fallback. */
export const idColumn = () =>
  uuid('id')
    .notNull()
    .default(sql`gen_random_uuid()`)
    .$defaultFn(() => uuidv7());

/** The owning tenant of a tenant-scoped row; always the leading key column. */
export const tenantIdColumn = () => uuid('tenant_id').notNull();
