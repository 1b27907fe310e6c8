/**
 * Every enumerated value set of the merged seed schema, defined once.
 * The database enums (src/db/schema) and the input validators (zod) are both built from these lists,
 * so a value can never be valid in one place and rejected in the other.
 */

export const TENANT_STATUSES = ['active', 'inactive', 'suspended'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** Role of a user inside one tenant (seed 003's ADMIN/ANALYST/VIEWER, seed 001's admin/user). */
export const MEMBERSHIP_ROLES = ['admin', 'analyst', 'viewer'] as const;
export type MembershipRole = (typeof MEMBERSHIP_ROLES)[number];

/** Platform-wide role (seed 001's `sre`: cross-tenant operators). */
export const PLATFORM_ROLES = ['user', 'sre'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

export const AUDIT_ACTIONS = [
  'login',
  'login_failed',
  'logout',
  'token_refresh',
  'password_change',
  'create',
  'update',
  'delete',
  'access_denied',
  'cross_tenant_access',
  'agent_execution',
  'rule_execution',
  'import',
  'export',
  'config_change',
  'system',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Seed 000's rule types plus seed 002's detection rule kinds (`sigma`, `ioc_match`), and `filter`: a Sigma
 * filter document, which raises nothing itself but is applied to the Sigma rules it names (issue 5).
 * Sigma correlation rules are `correlation` rules carrying their YAML.
 */
export const RULE_TYPES = [
  'query',
  'pattern',
  'threshold',
  'correlation',
  'anomaly',
  'sigma',
  'ioc_match',
  'filter',
] as const;
export type RuleType = (typeof RULE_TYPES)[number];

export const RULE_STATUSES = ['active', 'inactive', 'testing', 'draft', 'deprecated'] as const;
export type RuleStatus = (typeof RULE_STATUSES)[number];

export const INCIDENT_TYPES = [
  'unauthorized_access',
  'data_breach',
  'malware',
  'phishing',
  'denial_of_service',
  'insider_threat',
  'policy_violation',
  'suspicious_activity',
  'vulnerability_exploitation',
  'account_compromise',
  'other',
] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

export const INCIDENT_STATUSES = [
  'open',
  'investigating',
  'contained',
  'eradicated',
  'recovered',
  'resolved',
  'closed',
  'false_positive',
] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
/** Statuses that end an incident: entering one sets `resolved_at` and `time_to_resolve`. */
export const INCIDENT_TERMINAL_STATUSES: readonly IncidentStatus[] = ['resolved', 'closed', 'false_positive'];

export const ALERT_STATUSES = ['new', 'acknowledged', 'in_progress', 'resolved', 'false_positive'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const SOURCE_TYPES = [
  'web_server',
  'database',
  'firewall',
  'router',
  'endpoint',
  'server',
  'cloud',
  'identity',
  'application',
  'network',
  'other',
] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const SOURCE_STATUSES = ['active', 'inactive', 'error'] as const;
export type SourceStatus = (typeof SOURCE_STATUSES)[number];

export const ASSET_CRITICALITIES = ['critical', 'high', 'medium', 'low'] as const;
export type AssetCriticality = (typeof ASSET_CRITICALITIES)[number];

export const NOTIFICATION_SEVERITIES = ['critical', 'warning', 'info'] as const;
export type NotificationSeverity = (typeof NOTIFICATION_SEVERITIES)[number];

export const REPORT_TYPES = [
  'security_summary',
  'threat_analysis',
  'vulnerability_scan',
  'incident_response',
  'compliance',
] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

/** Indicator types: seed 004's url/domain/ip/hash/email, with `hash` split by algorithm. */
export const INDICATOR_TYPES = [
  'ip',
  'cidr',
  'domain',
  'url',
  'md5',
  'sha1',
  'sha256',
  'sha512',
  'email',
  'filename',
  'ja3',
  'user_agent',
  'other',
] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];

export const INDICATOR_STATUSES = ['active', 'inactive', 'expired'] as const;
export type IndicatorStatus = (typeof INDICATOR_STATUSES)[number];

export const VULN_SEVERITIES = ['critical', 'high', 'medium', 'low', 'none', 'unknown'] as const;
export type VulnSeverity = (typeof VULN_SEVERITIES)[number];

export const INGESTION_STATUSES = ['running', 'success', 'failed'] as const;
export type IngestionStatus = (typeof INGESTION_STATUSES)[number];

export const INGESTION_KINDS = ['intel', 'logs'] as const;
export type IngestionKind = (typeof INGESTION_KINDS)[number];
