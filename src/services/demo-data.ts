/**
 * Sample data for `vigil seed --demo`: seed 001's sample organisations and their users, sources,
 * notifications and reports, plus detection rules, incidents, alerts, indicators, CVEs and ATT&CK
 * techniques that look like a real deployment. Facts (CVE ids, ATT&CK ids, documentation IP ranges) are real;
 * every IP that would identify a host is from the RFC 5737 / RFC 3849 documentation ranges.
 */
import type { MembershipRole, SourceType } from '../domain/enums.ts';

export interface DemoTenant {
  slug: string;
  name: string;
  description: string;
}

/** Seed 001's sample tenants. */
export const DEMO_TENANTS: DemoTenant[] = [
  {
    slug: 'acme-corp',
    name: 'Acme Corporation',
    description: 'Manufacturing, 2,400 employees, hybrid cloud',
  },
  { slug: 'beta-industries', name: 'Beta Industries', description: 'Logistics, on-premises data centre' },
  { slug: 'cisco-systems', name: 'Cisco Systems', description: 'Network equipment vendor (demo tenant)' },
  { slug: 'demo-org', name: 'Demo Organization', description: 'Sandbox for evaluation' },
  { slug: 'bits-internal', name: 'BITS Internal (SRE Team)', description: 'Platform operations' },
];

export const DEMO_ROLES: { suffix: string; role: MembershipRole; title: string }[] = [
  { suffix: 'admin', role: 'admin', title: 'Security Administrator' },
  { suffix: 'analyst', role: 'analyst', title: 'SOC Analyst' },
  { suffix: 'viewer', role: 'viewer', title: 'Auditor' },
];

export const DEMO_SOURCES: {
  name: string;
  type: SourceType;
  ip: string;
  port: number;
  protocol: string;
  criticality: 'critical' | 'high' | 'medium' | 'low';
  description: string;
}[] = [
  {
    name: 'apache-web-01',
    type: 'web_server',
    ip: '192.0.2.10',
    port: 443,
    protocol: 'HTTPS',
    criticality: 'high',
    description: 'Apache httpd 2.4, public web site',
  },
  {
    name: 'nginx-edge-01',
    type: 'web_server',
    ip: '192.0.2.11',
    port: 443,
    protocol: 'HTTPS',
    criticality: 'high',
    description: 'Nginx reverse proxy',
  },
  {
    name: 'mysql-prod-01',
    type: 'database',
    ip: '198.51.100.20',
    port: 3306,
    protocol: 'TCP',
    criticality: 'critical',
    description: 'MySQL 8 orders database',
  },
  {
    name: 'postgres-hr-01',
    type: 'database',
    ip: '198.51.100.21',
    port: 5432,
    protocol: 'TCP',
    criticality: 'critical',
    description: 'PostgreSQL 15, HR system',
  },
  {
    name: 'cisco-asa-fw',
    type: 'firewall',
    ip: '203.0.113.1',
    port: 514,
    protocol: 'SYSLOG',
    criticality: 'critical',
    description: 'Cisco ASA perimeter firewall',
  },
  {
    name: 'pfsense-branch',
    type: 'firewall',
    ip: '203.0.113.2',
    port: 514,
    protocol: 'SYSLOG',
    criticality: 'medium',
    description: 'pfSense branch office firewall',
  },
  {
    name: 'core-router-01',
    type: 'router',
    ip: '203.0.113.254',
    port: 22,
    protocol: 'SSH',
    criticality: 'high',
    description: 'Core router',
  },
  {
    name: 'bastion-ssh',
    type: 'server',
    ip: '192.0.2.22',
    port: 22,
    protocol: 'SSH',
    criticality: 'high',
    description: 'OpenSSH jump host',
  },
];

export const DEMO_NOTIFICATIONS: {
  severity: 'critical' | 'warning' | 'info';
  title: string;
  message: string;
}[] = [
  {
    severity: 'critical',
    title: 'Brute force in progress',
    message: '312 failed SSH logins for root on bastion-ssh from 203.0.113.77 in 10 minutes',
  },
  {
    severity: 'warning',
    title: 'Failed logins',
    message: 'Repeated failed logins for admin on apache-web-01 admin console',
  },
  {
    severity: 'warning',
    title: 'Threat intelligence match',
    message: 'nginx-edge-01 contacted a domain listed by URLhaus (malware download)',
  },
  {
    severity: 'info',
    title: 'Maintenance window',
    message: 'Log retention purge scheduled for Sunday 02:00 UTC',
  },
  {
    severity: 'info',
    title: 'Source back online',
    message: 'pfsense-branch resumed sending syslog after 14 minutes',
  },
];

export const DEMO_REPORTS: {
  reportType: 'security_summary' | 'threat_analysis' | 'vulnerability_scan' | 'incident_response';
  title: string;
  summary: string;
  data: Record<string, unknown>;
}[] = [
  {
    reportType: 'security_summary',
    title: 'Weekly security summary',
    summary: 'Alert volume down 12% week over week; one high-severity incident contained.',
    data: { alerts: 184, incidents: 3, mean_time_to_respond_minutes: 22 },
  },
  {
    reportType: 'threat_analysis',
    title: 'SSH brute-force campaign analysis',
    summary: 'Credential-stuffing attempts from 4 hosting-provider networks against internet-facing SSH.',
    data: {
      source_ips: 41,
      targeted_users: ['root', 'admin', 'oracle'],
      techniques: ['T1110.001', 'T1110.003'],
    },
  },
  {
    reportType: 'vulnerability_scan',
    title: 'Monthly vulnerability assessment',
    summary: 'Two KEV-listed vulnerabilities found on internet-facing hosts; patching due within 14 days.',
    data: { hosts_scanned: 128, critical: 2, high: 9, kev: ['CVE-2023-4966', 'CVE-2021-44228'] },
  },
  {
    reportType: 'incident_response',
    title: 'INC-000001 post-incident review',
    summary: 'Compromised service account used for lateral movement; credentials rotated.',
    data: { root_cause: 'password reuse', actions: 6 },
  },
];

export const SSH_BRUTE_FORCE_SIGMA = `title: SSH Brute Force From Single Source
id: 6d3a7c5e-2f4b-4e8a-9c1d-3b5f7e9a1c2d
status: stable
description: Many failed SSH password attempts from one source address
references:
  - https://attack.mitre.org/techniques/T1110/001/
author: Vigil demo
date: 2026-01-15
tags:
  - attack.credential-access
  - attack.t1110.001
logsource:
  product: linux
  service: sshd
detection:
  selection:
    message|contains: 'Failed password for'
  condition: selection
falsepositives:
  - Misconfigured automation retrying with an old password
level: medium
`;

export const DEMO_RULES = [
  {
    name: 'Suspicious Login',
    description: 'Detect suspicious login attempts: success after many failures for one account',
    ruleType: 'pattern' as const,
    severity: 'high' as const,
    conditions: {
      sequence: [{ event: 'auth_failure', min: 5 }, { event: 'auth_success' }],
      within_seconds: 600,
      group_by: ['user'],
    },
    tags: ['authentication', 'attack.t1110'],
    techniques: ['T1110'],
    falsePositiveRate: 0.05,
  },
  {
    name: 'SSH Brute Force From Single Source',
    description: 'Many failed SSH password attempts from one source address',
    ruleType: 'sigma' as const,
    severity: 'medium' as const,
    sigmaYaml: SSH_BRUTE_FORCE_SIGMA,
    sigmaId: '6d3a7c5e-2f4b-4e8a-9c1d-3b5f7e9a1c2d',
    logsource: { product: 'linux', service: 'sshd' },
    tags: ['attack.credential-access', 'attack.t1110.001'],
    techniques: ['T1110.001'],
    falsePositives: ['Misconfigured automation retrying with an old password'],
  },
  {
    name: 'Excessive failed logins per user',
    description: 'More than 20 authentication failures for one user in 5 minutes',
    ruleType: 'threshold' as const,
    severity: 'medium' as const,
    threshold: {
      count: 20,
      window_seconds: 300,
      group_by: ['user'],
      filter: { 'normalized.outcome': 'failure' },
    },
    tags: ['authentication'],
    techniques: ['T1110'],
  },
  {
    name: 'Known malicious destination',
    description: 'Traffic to an IP, domain or URL listed by an active threat-intelligence indicator',
    ruleType: 'ioc_match' as const,
    severity: 'high' as const,
    definition: {
      fields: ['source_ip', 'dest_ip', 'domain', 'url'],
      indicator_types: ['ip', 'cidr', 'domain', 'url'],
    },
    tags: ['threat-intel'],
    techniques: ['T1071'],
  },
  {
    name: 'Root login over SSH',
    description: 'Successful interactive SSH login as root',
    ruleType: 'query' as const,
    severity: 'high' as const,
    query: "SELECT id FROM logs WHERE appname = 'sshd' AND message LIKE 'Accepted % for root %'",
    tags: ['authentication', 'privileged'],
    techniques: ['T1078.003'],
  },
];

export const DEMO_TECHNIQUES = [
  {
    techniqueId: 'T1110',
    name: 'Brute Force',
    tactics: ['credential-access'],
    platforms: ['Linux', 'Windows', 'macOS', 'IaaS', 'SaaS'],
    isSubtechnique: false,
    description:
      'Adversaries may use brute force techniques to gain access to accounts when passwords are unknown or when password hashes are obtained.',
  },
  {
    techniqueId: 'T1110.001',
    name: 'Password Guessing',
    tactics: ['credential-access'],
    platforms: ['Linux', 'Windows', 'macOS'],
    isSubtechnique: true,
    parentTechniqueId: 'T1110',
    description:
      'Adversaries with no prior knowledge of legitimate credentials may guess passwords to attempt access to accounts.',
  },
  {
    techniqueId: 'T1110.003',
    name: 'Password Spraying',
    tactics: ['credential-access'],
    platforms: ['Linux', 'Windows', 'macOS', 'SaaS'],
    isSubtechnique: true,
    parentTechniqueId: 'T1110',
    description:
      'Adversaries may use a single or small list of commonly used passwords against many different accounts.',
  },
  {
    techniqueId: 'T1059',
    name: 'Command and Scripting Interpreter',
    tactics: ['execution'],
    platforms: ['Linux', 'Windows', 'macOS'],
    isSubtechnique: false,
    description:
      'Adversaries may abuse command and script interpreters to execute commands, scripts, or binaries.',
  },
  {
    techniqueId: 'T1059.001',
    name: 'PowerShell',
    tactics: ['execution'],
    platforms: ['Windows'],
    isSubtechnique: true,
    parentTechniqueId: 'T1059',
    description: 'Adversaries may abuse PowerShell commands and scripts for execution.',
  },
  {
    techniqueId: 'T1071',
    name: 'Application Layer Protocol',
    tactics: ['command-and-control'],
    platforms: ['Linux', 'Windows', 'macOS'],
    isSubtechnique: false,
    description:
      'Adversaries may communicate using OSI application layer protocols to avoid detection by blending in with existing traffic.',
  },
  {
    techniqueId: 'T1078.003',
    name: 'Local Accounts',
    tactics: ['defense-evasion', 'persistence', 'privilege-escalation', 'initial-access'],
    platforms: ['Linux', 'Windows', 'macOS'],
    isSubtechnique: true,
    parentTechniqueId: 'T1078',
    description:
      'Adversaries may obtain and abuse credentials of a local account as a means of gaining access.',
  },
  {
    techniqueId: 'T1190',
    name: 'Exploit Public-Facing Application',
    tactics: ['initial-access'],
    platforms: ['Linux', 'Windows', 'Network'],
    isSubtechnique: false,
    description:
      'Adversaries may attempt to exploit a weakness in an Internet-facing host or system to initially access a network.',
  },
];

export const DEMO_VULNERABILITIES = [
  {
    cveId: 'CVE-2021-44228',
    title:
      'Apache Log4j2 JNDI features do not protect against attacker-controlled LDAP endpoints (Log4Shell)',
    cvssScore: 10.0,
    cvssVersion: '3.1',
    cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H',
    severity: 'critical' as const,
    exploitedInTheWild: true,
    kevDateAdded: '2021-12-10',
    vendors: ['apache'],
    products: ['log4j'],
    cweIds: ['CWE-502', 'CWE-400', 'CWE-20'],
    publishedAt: '2021-12-10T10:15:09Z',
    epssScore: 0.944,
    priorityScore: 0.99,
  },
  {
    cveId: 'CVE-2023-4966',
    title: 'Citrix NetScaler ADC and Gateway sensitive information disclosure (Citrix Bleed)',
    cvssScore: 9.4,
    cvssVersion: '3.1',
    severity: 'critical' as const,
    exploitedInTheWild: true,
    kevDateAdded: '2023-10-18',
    vendors: ['citrix'],
    products: ['netscaler_adc', 'netscaler_gateway'],
    cweIds: ['CWE-119'],
    publishedAt: '2023-10-10T14:15:10Z',
    epssScore: 0.943,
    priorityScore: 0.97,
  },
  {
    cveId: 'CVE-2024-3094',
    title: 'Malicious code in xz/liblzma upstream tarballs (XZ Utils backdoor)',
    cvssScore: 10.0,
    cvssVersion: '3.1',
    severity: 'critical' as const,
    exploitedInTheWild: false,
    vendors: ['tukaani'],
    products: ['xz'],
    cweIds: ['CWE-506'],
    publishedAt: '2024-03-29T17:15:21Z',
    epssScore: 0.12,
    priorityScore: 0.71,
  },
  {
    cveId: 'CVE-2024-6387',
    title: 'OpenSSH sshd signal handler race condition (regreSSHion)',
    cvssScore: 8.1,
    cvssVersion: '3.1',
    severity: 'high' as const,
    exploitedInTheWild: false,
    vendors: ['openbsd'],
    products: ['openssh'],
    cweIds: ['CWE-364'],
    publishedAt: '2024-07-01T13:15:06Z',
    epssScore: 0.38,
    priorityScore: 0.62,
  },
  {
    cveId: 'CVE-2014-0160',
    title: 'OpenSSL TLS heartbeat extension out-of-bounds read (Heartbleed)',
    cvssScore: 7.5,
    cvssVersion: '3.1',
    severity: 'high' as const,
    exploitedInTheWild: true,
    kevDateAdded: '2022-05-04',
    vendors: ['openssl'],
    products: ['openssl'],
    cweIds: ['CWE-125'],
    publishedAt: '2014-04-07T22:55:03Z',
    epssScore: 0.944,
    priorityScore: 0.86,
  },
  {
    cveId: 'CVE-2023-44487',
    title: 'HTTP/2 rapid reset denial of service',
    cvssScore: 7.5,
    cvssVersion: '3.1',
    severity: 'high' as const,
    exploitedInTheWild: true,
    kevDateAdded: '2023-10-10',
    vendors: ['ietf', 'nginx', 'apache'],
    products: ['http2'],
    cweIds: ['CWE-400'],
    publishedAt: '2023-10-10T14:15:10Z',
    epssScore: 0.81,
    priorityScore: 0.8,
  },
];

export const DEMO_GLOBAL_INDICATORS = [
  {
    type: 'ip' as const,
    value: '203.0.113.77',
    threatType: 'brute_force',
    confidence: 0.9,
    source: 'demo-feed',
    description: 'SSH brute-force source',
  },
  {
    type: 'cidr' as const,
    value: '198.51.100.128/25',
    threatType: 'botnet_c2',
    confidence: 0.7,
    source: 'demo-feed',
    description: 'Hosting range used by a botnet',
  },
  {
    type: 'domain' as const,
    value: 'malware-download.example',
    threatType: 'malware_download',
    confidence: 0.95,
    source: 'demo-feed',
  },
  {
    type: 'url' as const,
    value: 'http://malware-download.example/payload.exe',
    threatType: 'malware_download',
    confidence: 0.95,
    source: 'demo-feed',
  },
  {
    type: 'sha256' as const,
    value: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    threatType: 'test_hash',
    confidence: 0.1,
    source: 'demo-feed',
    description: 'SHA-256 of the empty file, a placeholder',
  },
  {
    type: 'email' as const,
    value: 'billing@phish.example',
    threatType: 'phishing',
    confidence: 0.8,
    source: 'demo-feed',
  },
];
