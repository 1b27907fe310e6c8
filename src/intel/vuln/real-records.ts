/** Test helper: the partial records of a few real CVEs, read from the shared data sets. */
import { parseCveJson5Text } from './cve-json5.ts';
import { epssToPartial, parseEpssText } from './epss.ts';
import { kevToPartial, parseKevJsonText } from './kev.ts';
import { parseNvdPageText } from './nvd.ts';
import { hasVulnData, readVuln } from './test-data.ts';
import { type PartialVulnerability } from './types.ts';

export const realDataPresent = ['cve_json5_vulnrichment', 'nvd_api_2.0', 'kev', 'epss'].every((d) =>
  hasVulnData(d),
);

function unwrap(
  r: { ok: true; record: PartialVulnerability } | { ok: false; reason: string; where: string },
): PartialVulnerability {
  if (!r.ok) throw new Error(`${r.where}: ${r.reason}`);
  return r.record;
}

export function cve5(cveId: string): PartialVulnerability {
  const [, year, num] = /^CVE-(\d{4})-(\d+)$/.exec(cveId) ?? [];
  const bucket = `${String(num).slice(0, -3) || '0'}xxx`;
  return unwrap(
    parseCveJson5Text(readVuln('cve_json5_vulnrichment', String(year), bucket, `${cveId}.json`), {
      file: cveId,
    }),
  );
}

export function nvd(file: string, cveId: string): PartialVulnerability {
  const rec = parseNvdPageText(readVuln('nvd_api_2.0', file), { file }).results.find(
    (r) => r.ok && r.record.cveId === cveId,
  );
  if (!rec) throw new Error(`${cveId} not in ${file}`);
  return unwrap(rec);
}

export function kev(cveId: string): PartialVulnerability {
  const rec = parseKevJsonText(readVuln('kev', 'known_exploited_vulnerabilities.json')).results.find(
    (r) => r.ok && r.record.cveID === cveId,
  );
  if (!rec?.ok) throw new Error(`${cveId} not in KEV`);
  return kevToPartial(rec.record);
}

export function epss(cveId: string): PartialVulnerability {
  const lines = readVuln('epss', 'epss_scores_combined_from_EMBA.csv')
    .split('\n')
    .filter((l) => l.startsWith('#') || l.startsWith('cve,') || l.startsWith(`${cveId},`));
  const rec = parseEpssText(lines.join('\n')).results[0];
  if (!rec?.ok) throw new Error(`${cveId} not in EPSS`);
  return epssToPartial(rec.record);
}
