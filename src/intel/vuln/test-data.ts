/** Test helper: where the shared real data sets live (never copied into the project). */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const VULN_DATA = resolve(import.meta.dirname, '../../../../shared/data/vuln');

export function hasVulnData(sub: string): boolean {
  const ok = existsSync(join(VULN_DATA, sub));
  if (!ok) console.warn(`[vuln tests] ${join(VULN_DATA, sub)} is absent: skipping the real-data tests`);
  return ok;
}

export function readVuln(...parts: string[]): string {
  return readFileSync(join(VULN_DATA, ...parts), 'utf8');
}

export function walkFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? walkFiles(p) : [p];
    });
}
