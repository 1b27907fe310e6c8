/**
 * `vigil vuln search` end to end: the real binary on an embedded PGlite data directory, fed a small NDJSON
 * file (no shared data needed). Slow (each command starts PGlite), so only the output shape and the errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../bin/vigil.js');
const dir = mkdtempSync(join(tmpdir(), 'vigil-vuln-search-cli-'));

function vigil(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    cwd: dir,
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
      REDIS_URL: '',
      VIGIL_DATA_DIR: join(dir, 'data'),
    },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('vigil vuln search (PGlite)', () => {
  beforeAll(() => {
    expect(vigil(['db', 'migrate']).code).toBe(0);
    const file = join(dir, 'vulns.ndjson');
    writeFileSync(
      file,
      [
        {
          cve_id: 'CVE-2021-44228',
          title: 'Apache Log4j2 Remote Code Execution Vulnerability (Log4Shell)',
          cvss_score: 10,
          exploited_in_the_wild: true,
          vendors: ['apache'],
        },
        { cve_id: 'CVE-2014-0160', title: 'OpenSSL Heartbleed Information Disclosure Vulnerability' },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const imp = vigil(['intel', 'import', 'ndjson', file, '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ inserted: 2 });
  });

  it('prints {"results": [...]} with --json, and a table without', () => {
    const r = vigil(['vuln', 'search', 'log4shel', '--json', '--exploited', '--limit', '5']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { results: Record<string, unknown>[] };
    expect(Object.keys(out)).toEqual(['results']);
    expect(out.results).toHaveLength(1);
    expect(out.results[0]).toMatchObject({
      cve_id: 'CVE-2021-44228',
      title: 'Apache Log4j2 Remote Code Execution Vulnerability (Log4Shell)',
      score: expect.any(Number),
      exploited: true,
    });
    expect(out.results[0]!.score).toBeGreaterThan(0.6);
    const table = vigil(['vuln', 'search', 'hartbleed']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^CVE_ID\s+SIMILARITY\s+PRIORITY_SCORE/);
    expect(table.stdout).toMatch(/CVE-2014-0160\s+0\.\d{3}/);
  });

  it('refuses bad arguments with exit code 2 and a clear message', () => {
    const cvss = vigil(['vuln', 'search', 'log4j', '--min-cvss', '11']);
    expect(cvss.code).toBe(2);
    expect(cvss.stderr).toMatch(/--min-cvss must be a number from 0 to 10/);
    const q = vigil(['vuln', 'search', 'x']);
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(/at least 2 characters/);
  });
});
