/**
 * `vigil intel import|export` and `vigil vuln show|stats` end to end: the real binary on an embedded PGlite
 * data directory, fed the shared KEV catalog (skipped with a warning when ../shared/data/vuln is absent).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasVulnData, VULN_DATA } from '../src/intel/vuln/test-data.ts';

const BIN = resolve(import.meta.dirname, '../bin/vigil.js');
const present = hasVulnData('kev');
const dir = mkdtempSync(join(tmpdir(), 'vigil-intel-cli-'));

function vigil(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: '', VIGIL_DATA_DIR: join(dir, 'data') },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!present)('vigil intel and vuln commands (PGlite, real KEV)', () => {
  beforeAll(() => {
    expect(vigil(['db', 'migrate']).code).toBe(0);
  });

  it('imports the KEV CSV and prints one JSON summary; a rerun inserts nothing', () => {
    const csv = join(VULN_DATA, 'kev', 'known_exploited_vulnerabilities.csv');
    const r = vigil(['intel', 'import', 'kev', csv, '--json', '--label', 'initial_load']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s).toMatchObject({
      source: 'kev',
      label: 'initial_load',
      fetched: 1404,
      inserted: 1404,
      failed: 0,
    });
    const again = JSON.parse(vigil(['intel', 'import', 'kev', csv, '--json']).stdout) as Record<
      string,
      unknown
    >;
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 1404 });
  });

  it('shows one merged record with its field sources', () => {
    const r = vigil(['vuln', 'show', 'cve-2021-44228', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(v).toMatchObject({
      cveId: 'CVE-2021-44228',
      exploitedInTheWild: true,
      kevDateAdded: '2021-12-10',
      kevRansomwareUse: 'Known',
      fieldSources: { kev_date_added: 'kev', title: 'kev' },
      epssHistory: [],
    });
    const text = vigil(['vuln', 'show', 'CVE-2021-44228']).stdout;
    expect(text).toMatch(/kev added\s+2021-12-10\s+\[kev\]/);
    const missing = vigil(['vuln', 'show', 'CVE-1999-99999']);
    expect(missing.code).toBe(3);
  });

  it('refuses an EPSS file without a score date (exit 2), then takes --score-date', () => {
    const f = join(dir, 'epss.csv');
    writeFileSync(f, 'cve,epss,percentile\nCVE-2021-44228,0.94,0.99\n');
    const r = vigil(['intel', 'import', 'epss', f]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--score-date/);
    const ok = vigil(['intel', 'import', 'epss', f, '--score-date', '2026-08-16', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ inserted: 1, recordsRefreshed: 1 });
  });

  it('prints the stats and exports NDJSON', () => {
    const st = JSON.parse(vigil(['vuln', 'stats', '--json', '--top', '3']).stdout) as {
      total: number;
      exploited: number;
      topByPriority: { cveId: string }[];
      recentRuns: { source: string; status: string }[];
    };
    expect(st).toMatchObject({ total: 1404, exploited: 1404 });
    expect(st.topByPriority).toHaveLength(3);
    expect(st.recentRuns.map((r) => `${r.source}:${r.status}`)).toEqual([
      'epss:success',
      'epss:failed',
      'kev:success',
    ]);
    const out = join(dir, 'vulns.ndjson');
    const e = vigil(['intel', 'export', 'vulns', '--out', out, '--json']);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toEqual({ file: out, records: 1404 });
    expect(existsSync(out)).toBe(true);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1404);
    expect(lines.some((l) => l.includes('"cveId":"CVE-2021-44228"') && l.includes('"epssScore":0.94'))).toBe(
      true,
    );
  });
});

const IOC = resolve(import.meta.dirname, '../../shared/data/ioc');
const ATTACK = resolve(import.meta.dirname, '../../shared/data/attack');
const feedsPresent = existsSync(join(IOC, 'firehol')) && existsSync(ATTACK);
if (!feedsPresent) console.warn(`skipping the intel feed CLI tests: ${IOC} or ${ATTACK} is absent`);

describe.skipIf(!feedsPresent)('vigil intel import of indicator feeds and ATT&CK (PGlite, real data)', () => {
  it('imports a FireHOL netset (feed detected) and ATT&CK; a bad --feed is refused before anything runs', () => {
    const f = vigil(['intel', 'import', 'csv', join(IOC, 'firehol'), '--json']);
    expect(f.code, f.stderr).toBe(0);
    const fs = JSON.parse(f.stdout) as { source: string; fetched: number; inserted: number; failed: number };
    expect(fs.source).toMatch(/^csv/);
    expect(fs.failed).toBe(0);
    expect(fs.inserted).toBe(fs.fetched);
    expect(fs.inserted).toBeGreaterThan(2000);
    const again = JSON.parse(vigil(['intel', 'import', 'csv', join(IOC, 'firehol'), '--json']).stdout) as {
      inserted: number;
    };
    expect(again.inserted).toBe(0);

    const enterprise = join(ATTACK, 'enterprise-attack_v18.1_stix2.0_assembled_from_mitre-cti.json');
    const a = vigil(['intel', 'import', 'attack', enterprise]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/^attack: 835 read, 835 inserted/);

    const bad = vigil(['intel', 'import', 'csv', '--feed', 'nope', join(IOC, 'firehol')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--feed must be one of urlhaus/);
  });
});
