/**
 * Seed 000 rules merged with seed 002 detection_rules, rule version history, seed 002 alerts,
 * seed 000 incidents, and the alert <-> incident link table.
 *
 * Same-tenant references are composite foreign keys on (tenant_id, x_id). The nullable ones
 * (parent rule, parent incident, alert -> rule) use `ON DELETE SET NULL (x_id)` so the tenant column
 * is never nulled; that column-list form is outside drizzle's model and lives in migration 0002.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  foreignKey,
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
import {
  alertStatus,
  incidentStatus,
  incidentType,
  priority,
  ruleStatus,
  ruleType,
  severity,
} from './enums.ts';
import { tenants } from './identity.ts';

export type Json = Record<string, unknown>;

export const rules = pgTable(
  'rules',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** RULE-000001, assigned per tenant by trigger from tenant_counters when not given. */
    ruleNumber: varchar('rule_number', { length: 32 })
      .notNull()
      // '' (the default on insert) asks the trigger for the next number.
      .$defaultFn(() => ''),
    /** Seed 000 `name`, seed 002 `rule_name`. */
    name: varchar('name', { length: 255 }).notNull(),
    description: text('description'),
    ruleType: ruleType('rule_type').notNull(),
    severity: severity('severity').notNull().default('medium'),
    status: ruleStatus('status').notNull().default('active'),
    /** SQL for query rules (read-only, over the tenant's logs). */
    query: text('query'),
    /** Conditions for pattern rules. */
    conditions: jsonb('conditions').$type<Json>(),
    threshold: jsonb('threshold').$type<Json>(),
    correlation: jsonb('correlation').$type<Json>(),
    /** Seed 002 `rule_definition`: the full definition (for sigma: the parsed rule model). */
    definition: jsonb('definition').$type<Json>(),
    /** Original Sigma YAML for sigma rules. */
    sigmaYaml: text('sigma_yaml'),
    /** The Sigma rule's own `id` (UUID), used to update instead of duplicate on re-import. */
    sigmaId: varchar('sigma_id', { length: 64 }),
    logsource: jsonb('logsource').$type<Json>(),
    enabled: boolean('enabled').notNull().default(true),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    references: jsonb('references').$type<unknown[]>().notNull().default([]),
    /** ATT&CK technique ids (T1059, T1059.001) this rule detects. */
    techniques: jsonb('techniques').$type<string[]>().notNull().default([]),
    falsePositives: jsonb('false_positives').$type<string[]>().notNull().default([]),
    falsePositiveRate: doublePrecision('false_positive_rate'),
    author: varchar('author', { length: 255 }),
    actions: jsonb('actions').$type<unknown[]>().notNull().default([]),
    customFields: jsonb('custom_fields').$type<Json>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastExecuted: tstz('last_executed'),
    createdBy: varchar('created_by', { length: 255 }).notNull(),
    updatedBy: varchar('updated_by', { length: 255 }),
    version: integer('version').notNull().default(1),
    metrics: jsonb('metrics').$type<Json>().notNull().default({}),
    parentRuleId: uuid('parent_rule_id'),
    relatedRules: jsonb('related_rules').$type<string[]>().notNull().default([]),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('ux_rules_tenant_number').on(t.tenantId, t.ruleNumber),
    uniqueIndex('ux_rules_tenant_sigma_id').on(t.tenantId, t.sigmaId),
    index('ix_rules_tenant_type').on(t.tenantId, t.ruleType),
    index('ix_rules_tenant_severity').on(t.tenantId, t.severity),
    index('ix_rules_tenant_status').on(t.tenantId, t.status, t.enabled),
    index('ix_rules_tenant_parent').on(t.tenantId, t.parentRuleId),
    index('ix_rules_tags').using('gin', t.tags),
    check('ck_rules_fp_rate', sql`${t.falsePositiveRate} is null or ${t.falsePositiveRate} between 0 and 1`),
    check('ck_rules_version', sql`${t.version} >= 1`),
  ],
);

/** Every saved version of a rule: the row as it was, so a change can be reviewed or rolled back. */
export const ruleVersions = pgTable(
  'rule_versions',
  {
    tenantId: tenantIdColumn(),
    ruleId: uuid('rule_id').notNull(),
    version: integer('version').notNull(),
    snapshot: jsonb('snapshot').$type<Json>().notNull(),
    changedBy: varchar('changed_by', { length: 255 }),
    changedAt: tstz('changed_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.ruleId, t.version] }),
    foreignKey({
      name: 'fk_rule_versions_rule',
      columns: [t.tenantId, t.ruleId],
      foreignColumns: [rules.tenantId, rules.id],
    }).onDelete('cascade'),
  ],
);

export const incidents = pgTable(
  'incidents',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** INC-000001, assigned per tenant by trigger from tenant_counters when not given. */
    incidentNumber: varchar('incident_number', { length: 32 })
      .notNull()
      // '' (the default on insert) asks the trigger for the next number.
      .$defaultFn(() => ''),
    title: varchar('title', { length: 500 }).notNull(),
    description: text('description'),
    incidentType: incidentType('incident_type').notNull().default('other'),
    severity: severity('severity').notNull().default('medium'),
    priority: priority('priority').notNull().default('medium'),
    status: incidentStatus('status').notNull().default('open'),
    externalId: varchar('external_id', { length: 255 }),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    customFields: jsonb('custom_fields').$type<Json>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** When the activity began (if known): the start of time_to_detect. */
    occurredAt: tstz('occurred_at'),
    detectedAt: tstz('detected_at').notNull().defaultNow(),
    /** First move out of `open`: the end of time_to_respond. */
    respondedAt: tstz('responded_at'),
    resolvedAt: tstz('resolved_at'),
    source: jsonb('source').$type<Json>(),
    actors: jsonb('actors').$type<unknown[]>().notNull().default([]),
    assets: jsonb('assets').$type<unknown[]>().notNull().default([]),
    timeline: jsonb('timeline').$type<unknown[]>().notNull().default([]),
    analysis: jsonb('analysis').$type<Json>(),
    remediationActions: jsonb('remediation_actions').$type<unknown[]>().notNull().default([]),
    createdBy: varchar('created_by', { length: 255 }).notNull(),
    updatedBy: varchar('updated_by', { length: 255 }),
    assignedTo: varchar('assigned_to', { length: 255 }),
    /** Seconds from occurred_at to detected_at. */
    timeToDetect: doublePrecision('time_to_detect'),
    /** Seconds from detected_at to responded_at. */
    timeToRespond: doublePrecision('time_to_respond'),
    /** Seconds from detected_at to resolved_at. */
    timeToResolve: doublePrecision('time_to_resolve'),
    parentIncidentId: uuid('parent_incident_id'),
    relatedIncidents: jsonb('related_incidents').$type<string[]>().notNull().default([]),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    uniqueIndex('ux_incidents_tenant_number').on(t.tenantId, t.incidentNumber),
    index('ix_incidents_tenant_status').on(t.tenantId, t.status),
    index('ix_incidents_tenant_severity').on(t.tenantId, t.severity),
    index('ix_incidents_tenant_detected').on(t.tenantId, t.detectedAt),
    index('ix_incidents_tenant_assigned').on(t.tenantId, t.assignedTo),
    index('ix_incidents_tenant_parent').on(t.tenantId, t.parentIncidentId),
    index('ix_incidents_tenant_external').on(t.tenantId, t.externalId),
  ],
);

export const alerts = pgTable(
  'alerts',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    ruleId: uuid('rule_id'),
    /** Seed 002 `log_id`: the first matched event. */
    logId: varchar('log_id', { length: 64 }),
    /** Every matched event id in the log store. */
    eventIds: jsonb('event_ids').$type<string[]>().notNull().default([]),
    title: varchar('title', { length: 500 }),
    alertType: varchar('alert_type', { length: 64 }).notNull(),
    detectionMethod: varchar('detection_method', { length: 64 }).notNull(),
    severity: severity('severity').notNull().default('medium'),
    description: text('description'),
    metadata: jsonb('metadata').$type<Json>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    acknowledged: boolean('acknowledged').notNull().default(false),
    acknowledgedAt: tstz('acknowledged_at'),
    acknowledgedBy: varchar('acknowledged_by', { length: 255 }),
    status: alertStatus('status').notNull().default('new'),
    priorityScore: doublePrecision('priority_score'),
    sourceIp: varchar('source_ip', { length: 45 }),
    destIp: varchar('dest_ip', { length: 45 }),
    /** Seed 002 `user` (a reserved word in SQL, so renamed). */
    userName: varchar('user_name', { length: 255 }),
    host: varchar('host', { length: 255 }),
    techniques: jsonb('techniques').$type<string[]>().notNull().default([]),
    /** Grouping of duplicates within a suppression window. */
    dedupKey: varchar('dedup_key', { length: 128 }),
    count: integer('count').notNull().default(1),
    firstSeen: tstz('first_seen').notNull().defaultNow(),
    lastSeen: tstz('last_seen').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('ix_alerts_tenant_created').on(t.tenantId, t.createdAt),
    index('ix_alerts_tenant_status').on(t.tenantId, t.status, t.acknowledged),
    index('ix_alerts_tenant_severity').on(t.tenantId, t.severity),
    index('ix_alerts_tenant_rule').on(t.tenantId, t.ruleId),
    index('ix_alerts_tenant_source_ip').on(t.tenantId, t.sourceIp),
    index('ix_alerts_tenant_user').on(t.tenantId, t.userName),
    index('ix_alerts_tenant_host').on(t.tenantId, t.host),
    index('ix_alerts_tenant_dedup').on(t.tenantId, t.dedupKey, t.lastSeen),
    check('ck_alerts_priority_score', sql`${t.priorityScore} is null or ${t.priorityScore} between 0 and 1`),
    check('ck_alerts_count', sql`${t.count} >= 1`),
  ],
);

export const alertIncidents = pgTable(
  'alert_incidents',
  {
    tenantId: tenantIdColumn(),
    alertId: uuid('alert_id').notNull(),
    incidentId: uuid('incident_id').notNull(),
    linkedBy: varchar('linked_by', { length: 255 }),
    linkedAt: tstz('linked_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.alertId, t.incidentId] }),
    index('ix_alert_incidents_incident').on(t.tenantId, t.incidentId),
    foreignKey({
      name: 'fk_alert_incidents_alert',
      columns: [t.tenantId, t.alertId],
      foreignColumns: [alerts.tenantId, alerts.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'fk_alert_incidents_incident',
      columns: [t.tenantId, t.incidentId],
      foreignColumns: [incidents.tenantId, incidents.id],
    }).onDelete('cascade'),
  ],
);

/**
 * One evaluation of a rule over a seq range of a tenant's events (scheduled detection or a backtest): what
 * was scanned, what matched, how long it took, and whether it succeeded. A range that could not be evaluated
 * (the run failed, or its events were purged before it ran) stays visible as `failed` or `gap`: detection
 * never reports a window it did not see as clean.
 */
export const detectionRuns = pgTable(
  'detection_runs',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    ruleId: uuid('rule_id').notNull(),
    /** `scheduled` (advances the rule's watermark, creates alerts) or `backtest` (creates nothing). */
    mode: varchar('mode', { length: 16 }).notNull(),
    /** success | failed | gap */
    status: varchar('status', { length: 16 }).notNull(),
    /** Events with from_seq < seq <= to_seq. */
    fromSeq: bigint('from_seq', { mode: 'number' }).notNull(),
    toSeq: bigint('to_seq', { mode: 'number' }).notNull(),
    eventsScanned: bigint('events_scanned', { mode: 'number' }).notNull().default(0),
    hits: bigint('hits', { mode: 'number' }).notNull().default(0),
    alertsCreated: integer('alerts_created').notNull().default(0),
    alertsGrouped: integer('alerts_grouped').notNull().default(0),
    suppressed: integer('suppressed').notNull().default(0),
    durationMs: doublePrecision('duration_ms'),
    attempt: integer('attempt').notNull().default(1),
    error: text('error'),
    startedAt: tstz('started_at').notNull().defaultNow(),
    finishedAt: tstz('finished_at'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('ix_detection_runs_tenant_rule').on(t.tenantId, t.ruleId, t.startedAt),
    index('ix_detection_runs_tenant_status').on(t.tenantId, t.status, t.startedAt),
    check('ck_detection_runs_range', sql`${t.fromSeq} <= ${t.toSeq}`),
    check('ck_detection_runs_status', sql`${t.status} in ('success', 'failed', 'gap')`),
    check('ck_detection_runs_mode', sql`${t.mode} in ('scheduled', 'backtest')`),
  ],
);

/**
 * A suppression: alerts of a rule (or of every rule) whose entities match are not raised until it expires.
 * It has an owner and a reason, so a silenced detection is always somebody's decision, visible and temporary.
 */
export const alertSuppressions = pgTable(
  'alert_suppressions',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    id: idColumn(),
    /** The rule it silences; null: every rule. */
    ruleId: uuid('rule_id'),
    /** Entity values that must all equal the alert's: { host?, source_ip?, dest_ip?, user_name? }. */
    match: jsonb('match').$type<Record<string, string>>().notNull().default({}),
    reason: text('reason').notNull(),
    owner: varchar('owner', { length: 255 }).notNull(),
    expiresAt: tstz('expires_at').notNull(),
    /** Alerts not raised because of it. */
    hits: integer('hits').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('ix_alert_suppressions_tenant_rule').on(t.tenantId, t.ruleId, t.expiresAt),
  ],
);
