/**
 * Parse the CISA Known Exploited Vulnerabilities catalog, JSON and CSV editions, into `KevEntry`s.
 * One result per entry (or CSV row); `toPartialVulnerability` turns an entry into merge input.
 */
import { type ParseResult, type PartialVulnerability, fail } from './types.ts';
import { CVE_ID_RE, asString, isRecord, normaliseCwe, toIsoDate, uniqueSorted } from './util.ts';

export interface KevEntry {
  cveID: string;
  vendorProject: string;
  product: string;
  vulnerabilityName: string;
  /** YYYY-MM-DD */
  dateAdded: string;
  shortDescription: string | null;
  requiredAction: string;
  /** YYYY-MM-DD */
  dueDate: string;
  /** `Known` or `Unknown` as published. */
  knownRansomwareCampaignUse: string;
  notes: string | null;
  cwes: string[];
}

export interface KevCatalog {
  error?: string;
  catalogVersion?: string;
  dateReleased?: string;
  /** The catalog's own `count` (JSON edition), to check against what was read. */
  count?: number;
  results: ParseResult<KevEntry>[];
}

const REQUIRED = [
  'cveID',
  'vendorProject',
  'product',
  'vulnerabilityName',
  'dateAdded',
  'requiredAction',
  'dueDate',
] as const;

/** Validate one entry (an object from the JSON edition or a CSV row keyed by its header). */
export function parseKevEntry(raw: unknown, where: string): ParseResult<KevEntry> {
  if (!isRecord(raw)) return fail(where, 'entry is not an object');
  const cveRaw = asString(raw.cveID)?.trim().toUpperCase();
  const at = cveRaw ? `${where} (${cveRaw})` : where;
  for (const key of REQUIRED) {
    if (asString(raw[key]) === undefined) return fail(at, `missing or empty "${key}"`);
  }
  const cveID = cveRaw ?? '';
  if (!CVE_ID_RE.test(cveID)) return fail(at, `invalid cveID ${JSON.stringify(raw.cveID)}`);
  const dateAdded = strictDate(raw.dateAdded);
  if (!dateAdded) return fail(at, `invalid dateAdded ${JSON.stringify(raw.dateAdded)}`);
  const dueDate = strictDate(raw.dueDate);
  if (!dueDate) return fail(at, `invalid dueDate ${JSON.stringify(raw.dueDate)}`);
  const cwesRaw: unknown[] = Array.isArray(raw.cwes) ? raw.cwes : (asString(raw.cwes)?.split(/[,;]/) ?? []);
  const cwes = uniqueSorted(
    cwesRaw.map((c) => normaliseCwe(typeof c === 'string' ? c.trim() : c)).filter((c): c is string => !!c),
  );
  return {
    ok: true,
    record: {
      cveID,
      vendorProject: String(raw.vendorProject).trim(),
      product: String(raw.product).trim(),
      vulnerabilityName: String(raw.vulnerabilityName).trim(),
      dateAdded,
      shortDescription: asString(raw.shortDescription)?.trim() ?? null,
      requiredAction: String(raw.requiredAction).trim(),
      dueDate,
      knownRansomwareCampaignUse: asString(raw.knownRansomwareCampaignUse)?.trim() ?? 'Unknown',
      notes: asString(raw.notes)?.trim() ?? null,
      cwes,
    },
  };
}

function strictDate(v: unknown): string | undefined {
  const s = asString(v)?.trim();
  return s !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(s) ? toIsoDate(s) : undefined;
}

export function parseKevJson(doc: unknown, opts: { file?: string } = {}): KevCatalog {
  const file = opts.file ?? '<kev json>';
  if (!isRecord(doc)) return { error: `${file}: catalog is not a JSON object`, results: [] };
  if (!Array.isArray(doc.vulnerabilities))
    return { error: `${file}: catalog has no "vulnerabilities" array`, results: [] };
  const cat: KevCatalog = {
    results: doc.vulnerabilities.map((v, i) => parseKevEntry(v, `${file}#vulnerabilities[${i}]`)),
  };
  const version = asString(doc.catalogVersion);
  if (version) cat.catalogVersion = version;
  const released = asString(doc.dateReleased);
  if (released) cat.dateReleased = released;
  if (typeof doc.count === 'number') cat.count = doc.count;
  return cat;
}

export function parseKevJsonText(text: string, opts: { file?: string } = {}): KevCatalog {
  try {
    return parseKevJson(JSON.parse(text), opts);
  } catch (err) {
    return { error: `${opts.file ?? '<kev json>'}: invalid JSON: ${(err as Error).message}`, results: [] };
  }
}

/** The CSV edition: header row, RFC 4180 quoting (fields hold commas, quotes and line breaks). */
export function parseKevCsv(text: string, opts: { file?: string } = {}): KevCatalog {
  const file = opts.file ?? '<kev csv>';
  const rows = parseCsv(text.replace(/^\uFEFF/, ''));
  const header = rows[0]?.fields.map((h) => h.trim());
  if (!header?.includes('cveID')) return { error: `${file}: no header row with "cveID"`, results: [] };
  const results: ParseResult<KevEntry>[] = [];
  for (const row of rows.slice(1)) {
    const where = `${file}:${row.line}`;
    if (row.fields.length === 1 && row.fields[0] === '') continue; // blank line
    if (row.fields.length !== header.length) {
      results.push(fail(where, `expected ${header.length} fields, found ${row.fields.length}`));
      continue;
    }
    const obj: Record<string, string> = {};
    header.forEach((h, i) => (obj[h] = row.fields[i] ?? ''));
    results.push(parseKevEntry(obj, where));
  }
  return { results };
}

/** Minimal RFC 4180 reader; `line` is the 1-based line where the row starts. */
export function parseCsv(text: string, delimiter = ','): { line: number; fields: string[] }[] {
  const rows: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === delimiter) {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      fields.push(field);
      rows.push({ line: rowLine, fields });
      fields = [];
      field = '';
      line++;
      rowLine = line;
    } else field += ch;
  }
  if (field !== '' || fields.length) {
    fields.push(field);
    rows.push({ line: rowLine, fields });
  }
  return rows;
}

/** A KEV entry as merge input (source `kev`). */
export function kevToPartial(e: KevEntry): PartialVulnerability {
  return {
    cveId: e.cveID,
    sources: ['kev'],
    cvssMetrics: [],
    title: { value: e.vulnerabilityName, source: 'kev' },
    ...(e.shortDescription ? { description: { value: e.shortDescription, source: 'kev' as const } } : {}),
    ...(e.cwes.length ? { cweIds: [{ value: e.cwes, source: 'kev' as const }] } : {}),
    affected: [{ vendor: e.vendorProject, product: e.product, source: 'kev' }],
    kev: {
      value: {
        dateAdded: e.dateAdded,
        dueDate: e.dueDate,
        requiredAction: e.requiredAction,
        ransomwareUse: e.knownRansomwareCampaignUse,
      },
      source: 'kev',
    },
  };
}
