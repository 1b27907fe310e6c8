/**
 * Every file of the shared real data sets parses in `auto` mode with zero rejects, with per-file expectations
 * on the normalised fields. The data lives outside the repository (../shared/data); the suite skips when it
 * is absent. Framing is not under test here: lines are split on LF (CR stripped, blank lines left out, as the
 * framer does), and the SigmaHQ regression files (pretty-printed, sometimes concatenated JSON objects) are
 * cut with a small brace-depth scan.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createStreamParser, type ParsedEvent } from '../../src/ingest/index.ts';

const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));
const present = fs.existsSync(path.join(DATA, 'logs'));
const REF = new Date('2025-11-22T00:00:00Z');

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out.sort();
}

/** Top-level `{...}` values of a text, by brace depth (strings and escapes tracked). */
function splitJsonObjects(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(text.slice(start, i + 1));
  }
  return out;
}

function records(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  if (file.includes('sigmahq_regression_data') && /\.(json|jsoncls)$/.test(file))
    return splitJsonObjects(text);
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
}

interface FileResult {
  records: number;
  accepted: number;
  skipped: number;
  rejected: Record<string, number>;
  types: Record<string, number>;
  events: ParsedEvent[];
}

function parseFile(file: string): FileResult {
  const parser = createStreamParser({ format: 'auto', referenceTime: REF });
  const res: FileResult = { records: 0, accepted: 0, skipped: 0, rejected: {}, types: {}, events: [] };
  for (const record of records(file)) {
    res.records++;
    const r = parser.parse(record);
    if (r.ok) {
      res.accepted++;
      res.types[r.event.sourceType] = (res.types[r.event.sourceType] ?? 0) + 1;
      res.events.push(r.event);
    } else if (r.skip) res.skipped++;
    else res.rejected[r.reason] = (res.rejected[r.reason] ?? 0) + 1;
  }
  return res;
}

const rel = (f: string): string => path.relative(DATA, f);
const count = (events: ParsedEvent[], pred: (e: ParsedEvent) => boolean): number =>
  events.filter(pred).length;

describe.skipIf(!present)('real data sets (../shared/data)', () => {
  const logFiles = present ? walk(path.join(DATA, 'logs')) : [];
  const otrfFiles = present ? walk(path.join(DATA, 'sigma_logs/otrf_security_datasets')) : [];
  const sigmaFiles = present ? walk(path.join(DATA, 'sigma_logs/sigmahq_regression_data')) : [];
  const results = new Map<string, FileResult>();
  const result = (f: string): FileResult => {
    let r = results.get(f);
    if (!r) {
      r = parseFile(f);
      results.set(f, r);
    }
    return r;
  };
  const byName = (name: string): FileResult => result(path.join(DATA, name));

  it('finds the files', () => {
    expect(logFiles.length).toBeGreaterThanOrEqual(21);
    expect(otrfFiles.filter((f) => f.endsWith('.json'))).toHaveLength(10);
    expect(sigmaFiles.filter((f) => /\.(json|jsoncls|raw)$/.test(f)).length).toBeGreaterThanOrEqual(123);
  });

  it('parses every file with zero rejects', () => {
    const summary: string[] = [];
    for (const f of [...logFiles, ...otrfFiles, ...sigmaFiles]) {
      const r = result(f);
      expect({ file: rel(f), rejected: r.rejected }).toEqual({ file: rel(f), rejected: {} });
      expect(r.accepted + r.skipped).toBe(r.records);
      if (!f.endsWith('info.yml')) {
        summary.push(
          `${rel(f)}: ${r.records} records, ${r.accepted} accepted, ${r.skipped} skipped, 0 rejected ${JSON.stringify(r.types)}`,
        );
      }
    }
    if (process.env.VIGIL_REAL_DATA_SUMMARY) console.log(summary.join('\n'));
  });

  it('OpenSSH_2k.log: 2000 sshd events on LabSZ with the auth vocabulary', () => {
    const r = byName('logs/loghub/OpenSSH_2k.log');
    expect(r.records).toBe(2000);
    expect(r.types).toEqual({ syslog_rfc3164: 2000 });
    const ev = r.events;
    expect(count(ev, (e) => e.appname === 'sshd' && e.host === 'LabSZ' && e.timestamp !== null)).toBe(2000);
    expect(ev[0]?.timestamp?.toISOString()).toBe('2024-12-10T06:55:46.000Z');
    const failed = ev.filter((e) => e.normalized.reason === 'failed_password');
    expect(failed.length).toBe(520);
    expect(
      count(failed, (e) => typeof e.normalized.src_ip === 'string' && typeof e.normalized.user === 'string'),
    ).toBe(520);
    expect(
      count(failed, (e) => e.normalized.outcome === 'failure' && e.normalized.action === 'ssh_login'),
    ).toBe(520);
    expect(count(ev, (e) => e.normalized.reason === 'invalid_user')).toBe(226);
    expect(count(ev, (e) => e.normalized.action === 'ssh_login' && e.normalized.outcome === 'success')).toBe(
      1,
    );
    expect(count(ev, (e) => e.normalized.reason === 'reverse_mapping_failed' && !!e.normalized.src_ip)).toBe(
      85,
    );
    expect(count(ev, (e) => e.normalized.action === 'ssh_disconnect' && !!e.normalized.src_ip)).toBe(502);
    expect(
      count(
        ev,
        (e) => e.normalized.action === 'pam_auth' && e.normalized.reason === 'authentication_failure',
      ),
    ).toBe(504);
  });

  it('Linux_2k.log: 2000 syslog events on combo, Jun-Jul, PAM and ftpd semantics', () => {
    const r = byName('logs/loghub/Linux_2k.log');
    expect(r.types).toEqual({ syslog_rfc3164: 2000 });
    const ev = r.events;
    expect(count(ev, (e) => e.host === 'combo' && e.timestamp !== null)).toBe(2000);
    expect(ev[0]?.timestamp?.toISOString()).toBe('2025-06-14T15:16:01.000Z');
    const pamFailures = ev.filter(
      (e) => e.normalized.action === 'pam_auth' && e.normalized.reason === 'authentication_failure',
    );
    expect(pamFailures.length).toBe(490);
    expect(count(pamFailures, (e) => !!(e.normalized.src_ip ?? e.normalized.src_host))).toBe(489);
    expect(count(ev, (e) => e.normalized.action === 'ftp_connection' && !!e.normalized.src_ip)).toBe(909);
    expect(count(ev, (e) => e.normalized.action === 'session_open' && !!e.normalized.user)).toBe(123);
  });

  it('Apache_2k.log: 2000 apache_error events with level and 32 client IPs', () => {
    const r = byName('logs/loghub/Apache_2k.log');
    expect(r.types).toEqual({ apache_error: 2000 });
    expect(count(r.events, (e) => typeof e.normalized.level === 'string' && e.timestamp !== null)).toBe(2000);
    expect(count(r.events, (e) => typeof e.normalized.src_ip === 'string')).toBe(32);
    expect(r.events[0]?.timestamp?.toISOString()).toBe('2005-12-04T04:47:44.000Z');
  });

  it('Audit_2k.log: 2000 auditd records with type, serial, time and outcome', () => {
    const r = byName('logs/ait/Audit_2k.log');
    expect(r.types).toEqual({ auditd: 2000 });
    const ev = r.events;
    expect(
      count(
        ev,
        (e) => typeof e.normalized.audit_type === 'string' && typeof e.normalized.audit_serial === 'number',
      ),
    ).toBe(2000);
    expect(ev[0]?.timestamp?.toISOString()).toBe('2022-01-21T00:09:01.072Z');
    expect(count(ev, (e) => e.normalized.outcome !== undefined)).toBe(1992);
    expect(
      count(
        ev,
        (e) => e.normalized.audit_type === 'USER_CMD' && e.normalized.command_line === 'cat /etc/shadow',
      ),
    ).toBe(1);
  });

  it('CSV files: the header is skipped, every row becomes an event', () => {
    for (const f of logFiles.filter((x) => x.endsWith('.csv'))) {
      const r = result(f);
      expect({ f: rel(f), skipped: r.skipped, csv: r.types.csv }).toEqual({
        f: rel(f),
        skipped: 1,
        csv: r.records - 1,
      });
    }
    const alerts = byName('logs/ait/ait-ads_russellmitchell_alerts.csv');
    expect(alerts.accepted).toBe(45544);
    expect(count(alerts.events, (e) => e.timestamp !== null && typeof e.normalized.src_ip === 'string')).toBe(
      45544,
    );
    const ssh = byName('logs/loghub/OpenSSH_2k.log_structured.csv');
    expect(count(ssh.events, (e) => e.timestamp?.toISOString().startsWith('2024-12-10') === true)).toBe(2000);
  });

  it('READMEs and licences are text', () => {
    for (const f of logFiles.filter((x) => /(\.md|LICENSE[^/]*)$/.test(x))) {
      expect(Object.keys(result(f).types)).toEqual(['text']);
    }
  });

  it('OTRF Windows data sets: every event has event_id, channel, computer, a time and event_data', () => {
    const files = otrfFiles.filter((f) => f.includes('/SDWIN-') && f.endsWith('.json'));
    expect(files).toHaveLength(9);
    let total = 0;
    let userDataOnly = 0;
    for (const f of files) {
      const r = result(f);
      expect({ f: rel(f), types: Object.keys(r.types) }).toEqual({ f: rel(f), types: ['windows_event'] });
      for (const e of r.events) {
        total++;
        const n = e.normalized;
        expect(
          typeof n.event_id === 'number' && typeof n.channel === 'string' && typeof n.computer === 'string',
        ).toBe(true);
        expect(e.timestamp).not.toBeNull();
        if (Object.keys(n.event_data as object).length === 0) {
          // Explained: Eventlog 1102/104 (log cleared) carry their data in UserData, which the flat OTRF/NXLog
          // form drops; only the rendered Message remains, from which the subject's account name is read.
          expect(n.provider).toBe('Microsoft-Windows-Eventlog');
          expect([1102, 104]).toContain(n.event_id);
          if (n.event_id === 1102) expect(n.user).toBe('wardog');
          userDataOnly++;
        }
      }
    }
    expect(total).toBe(7862);
    expect(userDataOnly).toBe(13);
    const wfp = byName(
      'sigma_logs/otrf_security_datasets/SDWIN-201019002900/cmd_sam_copy_esentutl_2020-10-1900290001.json',
    ).events.find((e) => e.normalized.event_id === 5156);
    expect(wfp?.normalized).toMatchObject({
      src_ip: '192.168.2.5',
      dst_ip: '168.63.129.16',
      dst_port: 80,
      protocol: 'tcp',
    });
  });

  it('OTRF AWS and Linux data sets', () => {
    const aws = byName(
      'sigma_logs/otrf_security_datasets/SDAWS-200914011940/ec2_proxy_s3_exfiltration_2020-09-14011940.json',
    );
    expect(aws.types).toEqual({ json: 103 });
    expect(
      count(
        aws.events,
        (e) => e.normalized.cloud_provider === 'aws' && typeof e.normalized.action === 'string',
      ),
    ).toBe(103);
    const lin = byName(
      'sigma_logs/otrf_security_datasets/SDLIN-201110074812/sh_arp_cache_2020-11-10074812.log',
    );
    expect(lin.types).toEqual({ auditd: 12 });
    expect(count(lin.events, (e) => e.normalized.command_line === 'arp -a')).toBeGreaterThanOrEqual(1);
  });

  it('SigmaHQ regression events: every Windows event has event_id, channel, computer and event_data', () => {
    const files = sigmaFiles.filter((f) => /\.(json|jsoncls)$/.test(f));
    let total = 0;
    for (const f of files) {
      const r = result(f);
      expect({ f: rel(f), types: Object.keys(r.types) }).toEqual({ f: rel(f), types: ['windows_event'] });
      for (const e of r.events) {
        total++;
        const n = e.normalized;
        expect(typeof n.event_id).toBe('number');
        expect(typeof n.channel).toBe('string');
        expect(typeof n.computer).toBe('string');
        expect(Object.keys(n.event_data as object).length).toBeGreaterThan(0);
        expect(e.timestamp).not.toBeNull();
      }
    }
    expect(total).toBe(141);
    const raw = sigmaFiles.filter((f) => f.endsWith('.raw'));
    expect(raw).toHaveLength(1);
    const cisco = result(raw[0] as string).events[0];
    expect(cisco).toMatchObject({
      sourceType: 'text',
      host: '172.16.5.10',
      appname: 'PARSER',
      normalized: { user: 'admin' },
    });
  });
});

if (!present) {
  describe('real data sets', () => {
    it.skip(`skipped: ${DATA} is absent (the shared data sets are not part of the repository)`, () => {});
  });
}
