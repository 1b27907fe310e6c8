/**
 * Realistic log lines at any scale, built from the real Loghub samples (../shared/data/logs/loghub): each
 * structured CSV row gives a line's template (`Failed password for <*> from <*> port <*> ssh2`) and the real
 * values of its `<*>` slots. A generated line picks a real template with its real frequency, fills every slot
 * with a value seen in that slot, and gets a header (syslog or Apache) with a moving clock, host and pid.
 * Deterministic for a seed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createStreamParser } from '../../src/ingest/index.ts';
import { rng } from './rng.ts';

export interface TemplatePool {
  kind: 'openssh' | 'linux' | 'apache';
  template: string[];
  /** Values seen in each slot. */
  slots: string[][];
  /** Real occurrences (the weight). */
  weight: number;
  /** Real components (syslog app names) and levels seen with this template. */
  components: string[];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function rows(path: string): Record<string, string>[] {
  const parser = createStreamParser({ format: 'csv' });
  const out: Record<string, string>[] = [];
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    if (!line) continue;
    const r = parser.parse(line);
    if (r.ok) out.push(r.event.original as Record<string, string>);
  }
  return out;
}

function escapeRe(s: string) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function loadTemplates(loghubDir: string): TemplatePool[] {
  const pools = new Map<string, TemplatePool>();
  const sets: [TemplatePool['kind'], string, string][] = [
    ['openssh', 'OpenSSH_2k.log_structured.csv', 'Component'],
    ['linux', 'Linux_2k.log_structured.csv', 'Component'],
    ['apache', 'Apache_2k.log_structured.csv', 'Level'],
  ];
  for (const [kind, file, compCol] of sets) {
    const path = join(loghubDir, file);
    if (!existsSync(path)) throw new Error(`missing ${path}`);
    for (const r of rows(path)) {
      const tpl = r.EventTemplate ?? '';
      const content = r.Content ?? '';
      const key = `${kind}\u0000${tpl}`;
      let pool = pools.get(key);
      if (!pool) {
        const template = tpl.split('<*>');
        pool = { kind, template, slots: template.slice(1).map(() => []), weight: 0, components: [] };
        pools.set(key, pool);
      }
      pool.weight += 1;
      const comp = kind === 'linux' ? `${r.Component ?? 'kernel'}` : (r[compCol] ?? 'sshd');
      if (!pool.components.includes(comp)) pool.components.push(comp);
      const re = new RegExp(`^${pool.template.map(escapeRe).join('(.*?)')}$`, 's');
      const m = re.exec(content);
      if (m) m.slice(1).forEach((v, i) => pool.slots[i]!.push(v));
    }
  }
  return [...pools.values()].filter((p) => p.slots.every((s) => s.length > 0));
}

export function* generateLines(pools: TemplatePool[], n: number, seed = 42): Generator<string> {
  const rand = rng(seed);
  const total = pools.reduce((s, p) => s + p.weight, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const p of pools) cumulative.push((acc += p.weight / total));
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const pad = (x: number) => String(x).padStart(2, '0');
  let clock = Date.UTC(2025, 11, 10, 6, 0, 0); // moving clock, ~5 ms a line
  for (let i = 0; i < n; i++) {
    const r = rand();
    let k = 0;
    while (cumulative[k]! < r) k++;
    const p = pools[k]!;
    let body = p.template[0]!;
    for (let s = 0; s < p.slots.length; s++) body += pick(p.slots[s]!) + p.template[s + 1]!;
    clock += Math.floor(rand() * 10);
    const d = new Date(clock);
    const hms = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    const day = String(d.getUTCDate()).padStart(2, ' ');
    if (p.kind === 'apache') {
      yield `[${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())} ${hms} ${d.getUTCFullYear()}] [${pick(p.components)}] ${body}`;
    } else {
      const host = p.kind === 'openssh' ? 'LabSZ' : 'combo';
      const comp = p.kind === 'openssh' ? 'sshd' : pick(p.components);
      yield `${MONTHS[d.getUTCMonth()]} ${day} ${hms} ${host} ${comp}[${1000 + Math.floor(rand() * 60000)}]: ${body}`;
    }
  }
}
