/**
 * Keeps docs/schema.md honest.
 *
 * - Against the database (always; PGlite, and PostgreSQL when TEST_DATABASE_URL is set): every
 *   `table.column` in a mapping table's Vigil cell, in the "adds" table and anywhere else in the text
 *   exists after all migrations; so does every index, constraint, trigger, function and enum named in
 *   backticks; and the cascade table lists exactly the database's foreign keys with their ON DELETE.
 * - Against the seed counts (always): every seed table has a section with at least as many rows as the
 *   seed lists columns (SEED_COLUMNS, counted from the seed texts), so deleting a row fails.
 * - Against the seed files (only when ../shared/seeds exists): the tables and columns parsed from each
 *   seed all appear in the document, and SEED_COLUMNS still matches the seeds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, engines, type TestDb } from './helpers/db.ts';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const DOC_PATH = path.resolve(projectRoot, 'docs/schema.md');
const SEEDS_DIR = path.resolve(projectRoot, '../shared/seeds');
const HAS_SEEDS = existsSync(SEEDS_DIR);

/**
 * How many columns each seed lists per table, counted from the seed texts (seed 004 documents only its
 * "Key Fields", which is what is counted here; the document maps a few more that its indexes and queries
 * reveal). Note: seed 000's incidents lists 29 columns, not 30.
 */
const SEED_COLUMNS: Record<string, Record<string, number>> = {
  '000': { rules: 26, incidents: 29 },
  '001': { tenants: 8, users: 10, sources: 12, notifications: 7, reports: 8 },
  '002': { logs: 13, alerts: 14, threat_intel: 9, detection_rules: 7 },
  '003': { users: 10, sessions: 9, audit_logs: 9 },
  '004': { vulnerabilities: 12, techniques: 5, iocs: 5, ingestion_runs: 9, search_cache: 3 },
};

// ---------------------------------------------------------------------------------------------
// Markdown parsing

interface TableBlock {
  /** The `## ` heading the table sits under. */
  section: string;
  /** The `### ` heading the table sits under ('' when none since the section began). */
  subsection: string;
  header: string[];
  rows: { cells: string[]; line: number }[];
}

const splitRow = (line: string): string[] =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());

function parseTables(text: string): { tables: TableBlock[]; headings: { level: number; text: string }[] } {
  const tables: TableBlock[] = [];
  const headings: { level: number; text: string }[] = [];
  let section = '';
  let subsection = '';
  let current: TableBlock | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      const level = h[1]!.length;
      headings.push({ level, text: h[2]!.trim() });
      if (level === 2) [section, subsection] = [h[2]!.trim(), ''];
      if (level === 3) subsection = h[2]!.trim();
    }
    if (!line.startsWith('|')) {
      current = undefined;
      return;
    }
    if (!current) {
      current = { section, subsection, header: splitRow(line), rows: [] };
      tables.push(current);
      return;
    }
    if (/^\|[\s|:-]+\|$/.test(line)) return; // the separator row
    current.rows.push({ cells: splitRow(line), line: i + 1 });
  });
  return { tables, headings };
}

interface MappingRow {
  seed: string;
  table: string;
  seedColumn: string;
  vigil: string;
  line: number;
}

const COLUMN_REF = /^`([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)`$/;
const LOGSTORE_REF = /^`logstore\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*`$/;
const SEED_SECTION = /^Seed (\d{3})\b/;

const docText = readFileSync(DOC_PATH, 'utf8');
const { tables: docTables, headings: docHeadings } = parseTables(docText);

const mappingTables = docTables.filter(
  (t) => SEED_SECTION.test(t.section) && t.header[0] === 'seed column' && t.header[1] === 'Vigil',
);
const mappingRows: MappingRow[] = mappingTables.flatMap((t) =>
  t.rows.map((r) => ({
    seed: SEED_SECTION.exec(t.section)![1]!,
    table: t.subsection,
    seedColumn: (r.cells[0] ?? '').replace(/`/g, ''),
    vigil: r.cells[1] ?? '',
    line: r.line,
  })),
);

/** Rows per seed, per seed table. */
function rowsBySeedTable(): Map<string, Map<string, MappingRow[]>> {
  const out = new Map<string, Map<string, MappingRow[]>>();
  for (const r of mappingRows) {
    const bySeed = out.get(r.seed) ?? new Map<string, MappingRow[]>();
    out.set(r.seed, bySeed);
    bySeed.set(r.table, [...(bySeed.get(r.table) ?? []), r]);
  }
  return out;
}

/** `### table` headings inside each `## Seed NNN` section. */
function seedTableHeadings(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let seed: string | undefined;
  for (const h of docHeadings) {
    if (h.level === 2) seed = SEED_SECTION.exec(h.text)?.[1];
    if (h.level === 3 && seed) out.set(seed, [...(out.get(seed) ?? []), h.text]);
  }
  return out;
}

const tableUnder = (section: RegExp) => docTables.find((t) => section.test(t.section) && t.rows.length > 0);
const addsTable = tableUnder(/^What Vigil adds/);
const cascadeTable = tableUnder(/^Cascade rules/);
const enumTable = docTables.find((t) => t.header[0] === 'enum type');

/** Every backticked token in the document (code fences included; this document has none). */
const backticked = [...docText.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

// ---------------------------------------------------------------------------------------------
// Seed parsing (one format per seed)

type SeedColumns = Map<string, string[]>;

function add(out: SeedColumns, table: string, column: string) {
  out.set(table, [...(out.get(table) ?? []), column]);
}

/** 000: `### Rules Table` then `- \`col\` (Type): ...` bullets. */
function parseSeed000(text: string): SeedColumns {
  const out: SeedColumns = new Map();
  let table: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) {
      table = /^### (\w+) Table\s*$/.exec(line)?.[1]?.toLowerCase();
      if (table) out.set(table, []);
      continue;
    }
    const c = table ? /^- `(\w+)` \(/.exec(line) : null;
    if (table && c) add(out, table, c[1]!);
  }
  return out;
}

/** 001: `### 1. TENANTS` then markdown rows `| \`col\` | Type | ...`. */
function parseSeed001(text: string): SeedColumns {
  const out: SeedColumns = new Map();
  let table: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) {
      table = /^### \d+\.\s+(\w+)/.exec(line)?.[1]?.toLowerCase();
      continue;
    }
    const c = table ? /^\|\s*`(\w+)`\s*\|/.exec(line) : null;
    if (table && c) add(out, table, c[1]!);
  }
  return out;
}

/** 002, 003: `CREATE TABLE name (` ... `);`. */
function parseCreateTables(text: string): SeedColumns {
  const out: SeedColumns = new Map();
  let table: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const start = /CREATE TABLE (\w+)\s*\(/i.exec(line);
    if (start) {
      table = start[1]!.toLowerCase();
      out.set(table, []);
      continue;
    }
    if (!table) continue;
    if (/^\s*\)/.test(line)) {
      table = undefined;
      continue;
    }
    const c = /^\s+([a-z_][a-z0-9_]*)\s+\S/i.exec(line);
    if (c && !/^(primary|foreign|unique|constraint|check)$/i.test(c[1]!)) add(out, table, c[1]!);
  }
  return out;
}

/** 004: ``#### `table` `` then the bullets under `**Key Fields:**`. */
function parseSeed004(text: string): SeedColumns {
  const out: SeedColumns = new Map();
  let table: string | undefined;
  let inKeyFields = false;
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#')) {
      table = /^#### `(\w+)`/.exec(line)?.[1];
      if (table) out.set(table, []);
      inKeyFields = false;
      continue;
    }
    if (line.startsWith('**')) {
      inKeyFields = line.startsWith('**Key Fields');
      continue;
    }
    const bullet = /^- (.*)$/.exec(line);
    if (table && inKeyFields && bullet) {
      const names = bullet[1]!.split(' - ')[0]!;
      for (const m of names.matchAll(/`(\w+)`/g)) add(out, table, m[1]!);
    }
  }
  return out;
}

const SEED_PARSERS: Record<string, (text: string) => SeedColumns> = {
  '000': parseSeed000,
  '001': parseSeed001,
  '002': parseCreateTables,
  '003': parseCreateTables,
  '004': parseSeed004,
};

function readSeed(seed: string): string {
  const file = readdirSync(SEEDS_DIR).find((f) => f.startsWith(`${seed}_`) && f.endsWith('.txt'));
  if (!file) throw new Error(`no ${seed}_*.txt in ${SEEDS_DIR}`);
  return readFileSync(path.join(SEEDS_DIR, file), 'utf8');
}

// ---------------------------------------------------------------------------------------------
// The document on its own

describe('docs/schema.md structure', () => {
  it('has one section per seed, with a heading for each seed table', () => {
    const headings = seedTableHeadings();
    for (const [seed, tables] of Object.entries(SEED_COLUMNS)) {
      expect(headings.get(seed), `## Seed ${seed} section`).toBeDefined();
      expect(headings.get(seed), `### headings under ## Seed ${seed}`).toEqual(
        expect.arrayContaining(Object.keys(tables)),
      );
    }
  });

  it('lists at least as many rows per seed table as the seed has columns', () => {
    const rows = rowsBySeedTable();
    const short: string[] = [];
    for (const [seed, tables] of Object.entries(SEED_COLUMNS)) {
      for (const [table, min] of Object.entries(tables)) {
        const n = rows.get(seed)?.get(table)?.length ?? 0;
        if (n < min) short.push(`seed ${seed} ${table}: ${n} rows, the seed lists ${min} columns`);
      }
    }
    expect(short, short.join('\n')).toEqual([]);
  });

  it('uses exactly one backticked seed column and one Vigil reference (or —) per row, no duplicates', () => {
    const bad: string[] = [];
    const seen = new Set<string>();
    for (const t of mappingTables) {
      if (t.header.length !== 3 || t.header[2] !== 'notes') bad.push(`${t.subsection}: header ${t.header}`);
    }
    for (const r of mappingRows) {
      const where = `docs/schema.md:${r.line} (seed ${r.seed} ${r.table}.${r.seedColumn})`;
      if (!/^[a-z_][a-z0-9_]*$/.test(r.seedColumn)) bad.push(`${where}: seed column cell`);
      if (!(COLUMN_REF.test(r.vigil) || LOGSTORE_REF.test(r.vigil) || r.vigil === '—')) {
        bad.push(`${where}: Vigil cell ${JSON.stringify(r.vigil)}`);
      }
      const key = `${r.seed}.${r.table}.${r.seedColumn}`;
      if (seen.has(key)) bad.push(`${where}: listed twice`);
      seen.add(key);
    }
    expect(bad, bad.join('\n')).toEqual([]);
  });

  it('maps every seed 002 logs row to the same column of the log store table log_events', () => {
    const logs = mappingRows.filter((r) => r.seed === '002' && r.table === 'logs');
    expect(logs.length).toBe(13);
    for (const r of logs) expect(r.vigil, `line ${r.line}`).toBe(`\`log_events.${r.seedColumn}\``);
  });

  it('states the per-seed row counts correctly', () => {
    const line = docText.split(/\r?\n/).find((l) => l.startsWith('Columns mapped:'));
    expect(line, 'a "Columns mapped:" line').toBeDefined();
    const stated = Object.fromEntries(
      [...line!.matchAll(/seed (\d{3}): (\d+)/g)].map((m) => [m[1]!, +m[2]!]),
    );
    const actual = Object.fromEntries(
      Object.keys(SEED_COLUMNS).map((s) => [s, mappingRows.filter((r) => r.seed === s).length]),
    );
    expect(stated).toEqual(actual);
    expect(line).toContain(`(${mappingRows.length} in all)`);
  });
});

// ---------------------------------------------------------------------------------------------
// The document against a migrated database

describe.each(engines())('docs/schema.md against the migrated %s schema', (engine) => {
  let t: TestDb;
  let columns: Set<string>;
  let tables: Set<string>;
  beforeAll(async () => {
    t = await createTestDb(engine);
    const cols = await t.db.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns where table_schema = current_schema()`,
    );
    columns = new Set(cols.map((c) => `${c.table_name}.${c.column_name}`));
    tables = new Set(cols.map((c) => c.table_name));
  });
  afterAll(async () => t?.dispose());

  const missingColumns = (refs: { ref: string; where: string }[]) =>
    refs.filter(({ ref }) => !columns.has(ref)).map(({ ref, where }) => `${ref} (${where})`);

  it('every table.column in a Vigil cell exists', () => {
    const refs = mappingRows.flatMap((r) => {
      const m = COLUMN_REF.exec(r.vigil);
      return m ? [{ ref: `${m[1]}.${m[2]}`, where: `line ${r.line}, seed ${r.seed} ${r.table}` }] : [];
    });
    expect(refs.length).toBeGreaterThan(150);
    const missing = missingColumns(refs);
    expect(
      missing,
      `columns named in docs/schema.md but missing from the schema:\n${missing.join('\n')}`,
    ).toEqual([]);
  });

  it('every table and table.column in the "what Vigil adds" table exists', () => {
    expect(addsTable, '"What Vigil adds" table').toBeDefined();
    const missing: string[] = [];
    for (const r of addsTable!.rows) {
      const cell = r.cells[0] ?? '';
      const col = COLUMN_REF.exec(cell);
      const tab = /^`([a-z_][a-z0-9_]*)`$/.exec(cell);
      if (col && !columns.has(`${col[1]}.${col[2]}`)) missing.push(`${cell} (line ${r.line})`);
      else if (tab && !tables.has(tab[1]!)) missing.push(`table ${cell} (line ${r.line})`);
      else if (!col && !tab) missing.push(`unreadable cell ${JSON.stringify(cell)} (line ${r.line})`);
    }
    expect(missing, missing.join('\n')).toEqual([]);
  });

  it('every backticked table.column anywhere in the text exists', () => {
    const refs = backticked
      .map((tok) => /^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$/.exec(tok))
      .filter((m): m is RegExpExecArray => m !== null && tables.has(m[1]!))
      .map((m) => ({ ref: `${m[1]}.${m[2]}`, where: 'text' }));
    const missing = missingColumns(refs);
    expect(missing, missing.join('\n')).toEqual([]);
  });

  it('every index, constraint, trigger and function named in backticks exists', async () => {
    const names = async (sql: string) => new Set((await t.db.query<{ n: string }>(sql)).map((r) => r.n));
    const indexes = await names(`select indexname as n from pg_indexes where schemaname = current_schema()`);
    const constraints = await names(
      `select conname as n from pg_constraint c join pg_namespace s on s.oid = c.connamespace
       where s.nspname = current_schema()`,
    );
    const triggers = await names(
      `select tgname as n from pg_trigger g join pg_class c on c.oid = g.tgrelid
       join pg_namespace s on s.oid = c.relnamespace where s.nspname = current_schema() and not g.tgisinternal`,
    );
    const functions = await names(
      `select proname as n from pg_proc p join pg_namespace s on s.oid = p.pronamespace
       where s.nspname = current_schema()`,
    );
    const missing: string[] = [];
    const tokens = new Set(backticked);
    for (const tok of tokens) {
      if (/^(ix|ux)_[a-z0-9_]+$/.test(tok) && !indexes.has(tok)) missing.push(`index ${tok}`);
      if (/^((fk|ck)_[a-z0-9_]+|[a-z0-9_]+_fk)$/.test(tok) && !constraints.has(tok))
        missing.push(`constraint ${tok}`);
      if (/^trg_[a-z0-9_]+$/.test(tok) && !triggers.has(tok)) missing.push(`trigger ${tok}`);
      const fn = /^(vigil_[a-z0-9_]+)\(\)$/.exec(tok);
      if (fn && !functions.has(fn[1]!)) missing.push(`function ${fn[1]}()`);
    }
    expect(tokens.size).toBeGreaterThan(100);
    expect(missing, missing.join('\n')).toEqual([]);
  });

  it('the enum table names real enum types and the columns that use them', async () => {
    expect(enumTable, 'enum table').toBeDefined();
    const udt = new Map(
      (
        await t.db.query<{ table_name: string; column_name: string; udt_name: string }>(
          `select table_name, column_name, udt_name from information_schema.columns
           where table_schema = current_schema() and data_type = 'USER-DEFINED'`,
        )
      ).map((c) => [`${c.table_name}.${c.column_name}`, c.udt_name]),
    );
    const wrong: string[] = [];
    for (const r of enumTable!.rows) {
      const type = (r.cells[0] ?? '').replace(/`/g, '');
      const cols = [...(r.cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      if (cols.length === 0) wrong.push(`${type}: no columns (line ${r.line})`);
      for (const c of cols)
        if (udt.get(c) !== type) wrong.push(`${c} is ${udt.get(c) ?? 'missing'}, not ${type}`);
    }
    // and every enum-typed column is listed
    const listed = new Set(
      enumTable!.rows.flatMap((r) => [...(r.cells[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!)),
    );
    for (const c of udt.keys())
      if (!listed.has(c)) wrong.push(`${c} (${udt.get(c)}) is not in the enum table`);
    expect(wrong, wrong.join('\n')).toEqual([]);
  });

  it('the cascade table lists exactly the foreign keys, with their ON DELETE action', async () => {
    expect(cascadeTable, 'cascade table').toBeDefined();
    const fks = await t.db.query<{
      name: string;
      from_table: string;
      from_cols: string;
      to_table: string;
      on_delete: string;
      set_cols: string | null;
    }>(
      `select con.conname as name, fc.relname as from_table, tc.relname as to_table, con.confdeltype as on_delete,
         (select string_agg(a.attname, ',' order by a.attnum) from pg_attribute a
           where a.attrelid = con.conrelid and a.attnum = any (con.conkey)) as from_cols,
         (select string_agg(a.attname, ',' order by a.attnum) from pg_attribute a
           where a.attrelid = con.conrelid and a.attnum = any (con.confdelsetcols)) as set_cols
       from pg_constraint con
       join pg_class fc on fc.oid = con.conrelid
       join pg_class tc on tc.oid = con.confrelid
       join pg_namespace s on s.oid = con.connamespace
       where con.contype = 'f' and s.nspname = current_schema()`,
    );
    const actions: Record<string, string> = {
      c: 'cascade',
      n: 'set null',
      d: 'set default',
      r: 'restrict',
      a: 'no action',
    };
    const actual = new Map(
      fks.map((f) => [
        f.name,
        {
          from: f.from_table,
          fromCols: f.from_cols.split(','),
          to: f.to_table,
          onDelete: actions[f.on_delete] + (f.set_cols ? ` (${f.set_cols})` : ''),
        },
      ]),
    );
    const wrong: string[] = [];
    const documented = new Set<string>();
    for (const r of cascadeTable!.rows) {
      const [nameCell = '', fromCell = '', toCell = '', onDelete = ''] = r.cells;
      const name = nameCell.replace(/`/g, '');
      documented.add(name);
      const fk = actual.get(name);
      if (!fk) {
        wrong.push(`${name} (line ${r.line}) is not a foreign key in the schema`);
        continue;
      }
      const from = COLUMN_REF.exec(fromCell);
      const to = COLUMN_REF.exec(toCell);
      if (!from || from[1] !== fk.from || !fk.fromCols.includes(from[2]!)) {
        wrong.push(`${name}: from ${fromCell}, but it is on ${fk.from} (${fk.fromCols.join(', ')})`);
      }
      if (!to || to[1] !== fk.to) wrong.push(`${name}: to ${toCell}, but it references ${fk.to}`);
      if (onDelete !== fk.onDelete)
        wrong.push(`${name}: on delete "${onDelete}", but it is "${fk.onDelete}"`);
    }
    for (const name of actual.keys()) {
      if (!documented.has(name)) wrong.push(`${name} is a foreign key missing from the cascade table`);
    }
    expect(wrong, wrong.join('\n')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The document against the seed files themselves

describe.skipIf(!HAS_SEEDS)(
  `docs/schema.md against the seed files${HAS_SEEDS ? '' : ` (skipped: ${SEEDS_DIR} not found)`}`,
  () => {
    const parsed = () =>
      Object.fromEntries(Object.entries(SEED_PARSERS).map(([seed, parse]) => [seed, parse(readSeed(seed))]));

    it('the column counts in this test still match the seeds', () => {
      const counts = Object.fromEntries(
        Object.entries(parsed()).map(([seed, cols]) => [
          seed,
          Object.fromEntries([...cols].map(([table, c]) => [table, c.length])),
        ]),
      );
      expect(counts).toEqual(SEED_COLUMNS);
    });

    it("every seed's tables appear as headings in its section", () => {
      const headings = seedTableHeadings();
      const missing: string[] = [];
      for (const [seed, cols] of Object.entries(parsed())) {
        for (const table of cols.keys()) {
          if (!headings.get(seed)?.includes(table)) missing.push(`seed ${seed}: ### ${table}`);
        }
      }
      expect(missing, `headings missing from docs/schema.md:\n${missing.join('\n')}`).toEqual([]);
    });

    it('every column each seed lists has a row, and no section has fewer rows than its seed table', () => {
      const rows = rowsBySeedTable();
      const missing: string[] = [];
      for (const [seed, cols] of Object.entries(parsed())) {
        for (const [table, names] of cols) {
          const documented = new Set((rows.get(seed)?.get(table) ?? []).map((r) => r.seedColumn));
          for (const n of names) if (!documented.has(n)) missing.push(`seed ${seed} ${table}.${n}`);
          if (documented.size < names.length) {
            missing.push(`seed ${seed} ${table}: ${documented.size} rows < ${names.length} columns`);
          }
        }
      }
      expect(missing, `seed columns without a row in docs/schema.md:\n${missing.join('\n')}`).toEqual([]);
    });

    it("names seed 004's indexes exactly", () => {
      const names = [...new Set([...readSeed('004').matchAll(/`(ix_\w+)`/g)].map((m) => m[1]!))];
      expect(names.length).toBeGreaterThanOrEqual(7);
      const tokens = new Set(backticked);
      expect(names.filter((n) => !tokens.has(n))).toEqual([]);
    });
  },
);
