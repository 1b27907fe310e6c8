/**
 * Threat and vulnerability intelligence: seed 002 threat_intel merged with seed 004 iocs as `indicators`;
 * seed 004 vulnerabilities, techniques, ingestion_runs and search_cache; EPSS history.
 * These tables hold global feed data; `indicators` and `ingestion_runs` rows may instead belong to a tenant.
 */
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  unique,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { createdAt, idColumn, tstz, updatedAt } from './columns.ts';
import { indicatorStatus, indicatorType, ingestionKind, ingestionStatus, vulnSeverity } from './enums.ts';
import { tenants } from './identity.ts';

type Json = Record<string, unknown>;

export const indicators = pgTable(
  'indicators',
  {
    id: idColumn().primaryKey(),
    /** Null: global feed data visible to every tenant. Set: private to that tenant. */
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    /** Seed 004 `ioc_type`, seed 002 `indicator_type`. */
    type: indicatorType('type').notNull(),
    /** Normalised value (lower-case domains, canonical IPs/CIDRs, refanged URLs). */
    value: text('value').notNull(),
    threatType: varchar('threat_type', { length: 64 }),
    /** 0..1 (seed 002 and 004 both). */
    confidence: real('confidence'),
    status: indicatorStatus('status').notNull().default('active'),
    /** Feed or author (e.g. `urlhaus`, `misp:event-123`, `analyst`). */
    source: varchar('source', { length: 128 }).notNull(),
    description: text('description'),
    tags: jsonb('tags').$type<string[]>().notNull().default([]),
    metadata: jsonb('metadata').$type<Json>().notNull().default({}),
    sightings: integer('sightings').notNull().default(0),
    firstSeen: tstz('first_seen'),
    lastSeen: tstz('last_seen'),
    expiresAt: tstz('expires_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('ux_indicators_identity').on(t.tenantId, t.type, t.value, t.source).nullsNotDistinct(),
    index('ix_indicators_tenant_value').on(t.tenantId, t.value),
    index('ix_indicators_value').on(t.value),
    index('ix_indicators_type_status').on(t.type, t.status),
    index('ix_indicators_expires').on(t.expiresAt),
    check('ck_indicators_confidence', sql`${t.confidence} is null or ${t.confidence} between 0 and 1`),
  ],
);

export const vulnerabilities = pgTable(
  'vulnerabilities',
  {
    id: idColumn().primaryKey(),
    cveId: varchar('cve_id', { length: 32 }).notNull(),
    title: text('title'),
    description: text('description'),
    cvssScore: real('cvss_score'),
    cvssVector: varchar('cvss_vector', { length: 255 }),
    cvssVersion: varchar('cvss_version', { length: 8 }),
    severity: vulnSeverity('severity').notNull().default('unknown'),
    exploitedInTheWild: boolean('exploited_in_the_wild').notNull().default(false),
    kevDateAdded: date('kev_date_added', { mode: 'string' }),
    kevDueDate: date('kev_due_date', { mode: 'string' }),
    kevRequiredAction: text('kev_required_action'),
    kevRansomwareUse: varchar('kev_ransomware_use', { length: 32 }),
    epssScore: real('epss_score'),
    epssPercentile: real('epss_percentile'),
    epssDate: date('epss_date', { mode: 'string' }),
    /** 0..1, documented formula (docs/priority.md). */
    priorityScore: real('priority_score'),
    /** Seed 004: data sources that contributed to this record. */
    sources: jsonb('sources').$type<string[]>().notNull().default([]),
    /** Which source supplied each field: { "cvss_score": "nvd", "title": "cve" }. */
    fieldSources: jsonb('field_sources').$type<Record<string, string>>().notNull().default({}),
    /**
     * What each importer said about this CVE (key: importer, `cve` | `nvd` | `kev` | `ndjson`), kept so a
     * later import of one source re-merges field by field with the others (src/intel/vuln/merge.ts).
     */
    sourceRecords: jsonb('source_records').$type<Json>().notNull().default({}),
    affectedProducts: jsonb('affected_products').$type<unknown[]>().notNull().default([]),
    vendors: jsonb('vendors').$type<string[]>().notNull().default([]),
    products: jsonb('products').$type<string[]>().notNull().default([]),
    references: jsonb('references').$type<unknown[]>().notNull().default([]),
    cweIds: jsonb('cwe_ids').$type<string[]>().notNull().default([]),
    ssvc: jsonb('ssvc').$type<Json>(),
    isRejected: boolean('is_rejected').notNull().default(false),
    publishedAt: tstz('published_at'),
    lastModifiedAt: tstz('last_modified_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('ux_vulnerabilities_cve_id').on(t.cveId),
    index('ix_vuln_cve_id_trgm').using('gin', t.cveId.op('gin_trgm_ops')),
    index('ix_vuln_title_trgm').using('gin', t.title.op('gin_trgm_ops')),
    /** The words of the title (search: every query word, or its spelling fix from vuln_title_words). */
    index('ix_vuln_title_tsv').using(
      'gin',
      sql`to_tsvector('simple'::regconfig, coalesce(${t.title}, ''::text))`,
    ),
    // seed 004's index, kept under its name (docs/schema.md); the search probes descriptions by word since 0014
    index('ix_vuln_description_trgm').using('gin', t.description.op('gin_trgm_ops')),
    /** The words of the description (search: every query word, as a whole word). */
    index('ix_vuln_description_tsv').using(
      'gin',
      sql`to_tsvector('simple'::regconfig, coalesce(${t.description}, ''::text))`,
    ),
    index('ix_vulnerabilities_cvss_score').on(t.cvssScore),
    index('ix_vulnerabilities_severity').on(t.severity),
    index('ix_vulnerabilities_exploited_in_the_wild').on(t.exploitedInTheWild),
    index('ix_vulnerabilities_published_at').on(t.publishedAt),
    index('ix_vulnerabilities_updated_at').on(t.updatedAt),
    index('ix_vulnerabilities_priority_score').on(t.priorityScore),
    index('ix_vulnerabilities_vendors').using('gin', t.vendors),
    check('ck_vuln_cvss', sql`${t.cvssScore} is null or ${t.cvssScore} between 0 and 10`),
    check('ck_vuln_priority', sql`${t.priorityScore} is null or ${t.priorityScore} between 0 and 1`),
  ],
);

/**
 * The distinct words (`to_tsvector('simple', title)` lexemes) of every vulnerability title, so a search can
 * fix the spelling of a query word against a few thousand words instead of 300,000 titles (pg_trgm's
 * spelling-suggestion technique). Filled by triggers on `vulnerabilities` (migration 0014); words of deleted
 * or retitled CVEs stay, which is harmless: a word no title holds matches nothing. Global, like the CVEs.
 */
export const vulnTitleWords = pgTable('vuln_title_words', { word: text('word').primaryKey() }, (t) => [
  // fastupdate off: new words are rare, and a pending list would be scanned by every search until a vacuum
  index('ix_vuln_title_words_trgm').using('gin', t.word.op('gin_trgm_ops')).with({ fastupdate: false }),
]);

/** EPSS as a time series: one score per CVE per day; the latest is copied onto the vulnerability. */
export const epssScores = pgTable(
  'epss_scores',
  {
    cveId: varchar('cve_id', { length: 32 }).notNull(),
    scoreDate: date('score_date', { mode: 'string' }).notNull(),
    epss: real('epss').notNull(),
    percentile: real('percentile'),
  },
  (t) => [primaryKey({ columns: [t.cveId, t.scoreDate] }), index('ix_epss_scores_date').on(t.scoreDate)],
);

export const techniques = pgTable(
  'techniques',
  {
    id: idColumn().primaryKey(),
    /** T1059 or T1059.001. */
    techniqueId: varchar('technique_id', { length: 16 }).notNull(),
    stixId: varchar('stix_id', { length: 128 }),
    name: varchar('name', { length: 255 }).notNull(),
    description: text('description'),
    tactics: jsonb('tactics').$type<string[]>().notNull().default([]),
    platforms: jsonb('platforms').$type<string[]>().notNull().default([]),
    dataSources: jsonb('data_sources').$type<string[]>().notNull().default([]),
    isSubtechnique: boolean('is_subtechnique').notNull().default(false),
    parentTechniqueId: varchar('parent_technique_id', { length: 16 }),
    url: varchar('url', { length: 512 }),
    revoked: boolean('revoked').notNull().default(false),
    deprecated: boolean('deprecated').notNull().default(false),
    version: varchar('version', { length: 16 }),
    modifiedAt: tstz('modified_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('ux_techniques_technique_id').on(t.techniqueId),
    index('ix_techniques_parent').on(t.parentTechniqueId),
    index('ix_techniques_name_trgm').using('gin', t.name.op('gin_trgm_ops')),
  ],
);

export const ingestionRuns = pgTable(
  'ingestion_runs',
  {
    id: idColumn().primaryKey(),
    /** Null for global intel feeds; set for a tenant's log ingestion. */
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    kind: ingestionKind('kind').notNull().default('intel'),
    /** Data source identifier (`kev`, `nvd`, `epss`, `file:/var/log/auth.log`, ...). */
    source: varchar('source', { length: 255 }).notNull(),
    /** Run label, e.g. `initial_load`. */
    label: varchar('label', { length: 128 }),
    status: ingestionStatus('status').notNull().default('running'),
    recordsFetched: integer('records_fetched').notNull().default(0),
    recordsInserted: integer('records_inserted').notNull().default(0),
    recordsUpdated: integer('records_updated').notNull().default(0),
    recordsFailed: integer('records_failed').notNull().default(0),
    recordsDuplicate: integer('records_duplicate').notNull().default(0),
    startedAt: tstz('started_at').notNull().defaultNow(),
    completedAt: tstz('completed_at'),
    durationSeconds: doublePrecision('duration_seconds'),
    errorMessage: text('error_message'),
    details: jsonb('details').$type<Json>().notNull().default({}),
  },
  (t) => [
    index('ix_ingestion_runs_started').on(t.startedAt),
    index('ix_ingestion_runs_tenant_started').on(t.tenantId, t.startedAt),
    index('ix_ingestion_runs_source').on(t.source, t.startedAt),
    index('ix_ingestion_runs_status').on(t.status),
  ],
);

export const searchCache = pgTable(
  'search_cache',
  {
    id: idColumn().primaryKey(),
    /** SHA-256 of the normalised query parameters. */
    cacheKey: varchar('cache_key', { length: 64 }).notNull(),
    queryParams: jsonb('query_params').$type<Json>().notNull().default({}),
    results: jsonb('results').$type<unknown>().notNull(),
    hitCount: integer('hit_count').notNull().default(0),
    createdAt: createdAt(),
    expiresAt: tstz('expires_at').notNull(),
  },
  (t) => [
    uniqueIndex('ux_search_cache_key').on(t.cacheKey),
    index('ix_search_cache_expires').on(t.expiresAt),
  ],
);
