/**
 * Migrations, as the seeds do with Alembic: `migrations/NNNN_name/{up.sql,down.sql,snapshot.json}`.
 *
 * - up.sql / down.sql are generated from the TypeScript schema by drizzle-kit's diff engine
 *   (down is the reverse diff), or written by hand for `--custom` migrations (functions, triggers, policies).
 * - snapshot.json is the schema as of that migration; the next generate diffs against it, and
 *   `check` fails when the schema in src/db/schema no longer matches the newest snapshot.
 * - Applied migrations are recorded in `vigil_migrations` with a checksum of their up.sql.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConflictError, ValidationError } from '../domain/errors.ts';
import type { generateDrizzleJson as GenerateDrizzleJson } from 'drizzle-kit/api';
import type { Database, RawQueryable } from './client.ts';

export const DEFAULT_MIGRATIONS_DIR = resolve(fileURLToPath(new URL('../../migrations', import.meta.url)));
const LOCK_KEY = 7_246_101; // pg_advisory_xact_lock key shared by every Vigil migrator

export interface MigrationFile {
  id: string; // 0001_initial_schema
  index: number;
  name: string;
  dir: string;
  up: string;
  down: string;
  checksum: string;
}

export interface AppliedMigration {
  id: string;
  name: string;
  checksum: string;
  appliedAt: Date;
  executionMs: number;
}

export interface MigrationStatus {
  current: string | null;
  applied: (AppliedMigration & { modified: boolean; missing: boolean })[];
  pending: { id: string; name: string }[];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function loadMigrations(dir = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && /^\d{4}_[a-z0-9_]+$/.test(d.name))
    .map((d) => {
      const path = join(dir, d.name);
      const up = readFileSync(join(path, 'up.sql'), 'utf8');
      const down = readFileSync(join(path, 'down.sql'), 'utf8');
      return {
        id: d.name,
        index: Number(d.name.slice(0, 4)),
        name: d.name.slice(5),
        dir: path,
        up,
        down,
        checksum: sha256(up),
      };
    })
    .sort((a, b) => a.index - b.index);
}

const BOOKKEEPING = `
create table if not exists vigil_migrations (
  id text primary key,
  name text not null,
  checksum text not null,
  applied_at timestamptz not null default now(),
  execution_ms integer not null default 0
)`;

export class Migrator {
  constructor(
    private readonly db: Database,
    private readonly dir = DEFAULT_MIGRATIONS_DIR,
  ) {}

  files(): MigrationFile[] {
    return loadMigrations(this.dir);
  }

  async applied(q: Pick<RawQueryable, 'query' | 'exec'> = this.db): Promise<AppliedMigration[]> {
    await q.exec(BOOKKEEPING);
    const rows = await q.query<{
      id: string;
      name: string;
      checksum: string;
      applied_at: Date;
      execution_ms: number;
    }>('select id, name, checksum, applied_at, execution_ms from vigil_migrations order by id');
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      checksum: r.checksum,
      appliedAt: new Date(r.applied_at),
      executionMs: r.execution_ms,
    }));
  }

  async status(): Promise<MigrationStatus> {
    const files = this.files();
    const byId = new Map(files.map((f) => [f.id, f]));
    const applied = await this.applied();
    const appliedIds = new Set(applied.map((a) => a.id));
    return {
      current: applied.at(-1)?.id ?? null,
      applied: applied.map((a) => ({
        ...a,
        missing: !byId.has(a.id),
        modified: byId.has(a.id) && byId.get(a.id)!.checksum !== a.checksum,
      })),
      pending: files.filter((f) => !appliedIds.has(f.id)).map((f) => ({ id: f.id, name: f.name })),
    };
  }

  /** True when every migration on disk is applied (readiness check). */
  async isCurrent(): Promise<boolean> {
    const s = await this.status();
    return s.pending.length === 0;
  }

  /** Apply every pending migration, in order, in one transaction under an advisory lock. */
  async migrate(opts: { to?: string } = {}): Promise<string[]> {
    const files = this.files();
    if (opts.to && !files.some((f) => f.id === opts.to)) {
      throw new ValidationError(`unknown migration ${opts.to}`, [
        { path: 'to', message: 'no such migration' },
      ]);
    }
    return this.db
      .rawTransaction(async (q) => {
        await q.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
        const applied = await this.applied(q);
        const done = new Set(applied.map((a) => a.id));
        const ran: string[] = [];
        for (const f of files) {
          if (done.has(f.id)) continue;
          const t0 = performance.now();
          try {
            await q.exec(f.up);
          } catch (e) {
            throw new Error(`migration ${f.id} failed: ${e instanceof Error ? e.message : String(e)}`, {
              cause: e,
            });
          }
          await q.query(
            'insert into vigil_migrations (id, name, checksum, execution_ms) values ($1, $2, $3, $4)',
            [f.id, f.name, f.checksum, Math.round(performance.now() - t0)],
          );
          ran.push(f.id);
          if (opts.to === f.id) break;
        }
        return ran;
      })
      .finally(() => this.db.schemaChanged());
  }

  /** Undo the newest `steps` applied migrations (all of them with steps = Infinity). */
  async rollback(steps = 1): Promise<string[]> {
    if (!(steps >= 1))
      throw new ValidationError('steps must be at least 1', [{ path: 'steps', message: '>= 1' }]);
    const byId = new Map(this.files().map((f) => [f.id, f]));
    return this.db
      .rawTransaction(async (q) => {
        await q.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
        const applied = await this.applied(q);
        const undo = applied.slice(-Math.min(steps, applied.length)).reverse();
        const ran: string[] = [];
        for (const a of undo) {
          const f = byId.get(a.id);
          if (!f)
            throw new ConflictError(`applied migration ${a.id} has no file on disk; cannot roll it back`);
          try {
            await q.exec(f.down);
          } catch (e) {
            throw new Error(`rollback of ${f.id} failed: ${e instanceof Error ? e.message : String(e)}`, {
              cause: e,
            });
          }
          await q.query('delete from vigil_migrations where id = $1', [f.id]);
          ran.push(f.id);
        }
        return ran;
      })
      .finally(() => this.db.schemaChanged());
  }
}

// ---------------------------------------------------------------------------------------------------------
// Generation and drift check (drizzle-kit's diff engine, loaded only when needed: it is large)

type Snapshot = Awaited<ReturnType<typeof GenerateDrizzleJson>>;

async function kit() {
  return import('drizzle-kit/api');
}

async function currentSnapshot(prevId?: string): Promise<Snapshot> {
  const { generateDrizzleJson } = await kit();
  const schema = await import('./schema/index.ts');
  return generateDrizzleJson(schema as unknown as Record<string, unknown>, prevId);
}

async function lastSnapshot(dir: string): Promise<Snapshot> {
  const files = loadMigrations(dir);
  for (const f of [...files].reverse()) {
    const p = join(f.dir, 'snapshot.json');
    if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as Snapshot;
  }
  const { generateDrizzleJson } = await kit();
  return generateDrizzleJson({});
}

const HEADER = (id: string, dir: 'up' | 'down', custom: boolean) =>
  `-- ${id} (${dir})${custom ? ': hand-written' : ': generated by `vigil db generate` from src/db/schema'}\n`;

/** The statements that would bring the newest snapshot to the current schema (empty: no drift). */
export async function schemaDrift(dir = DEFAULT_MIGRATIONS_DIR): Promise<string[]> {
  const { generateMigration } = await kit();
  const prev = await lastSnapshot(dir);
  const cur = await currentSnapshot(prev.id);
  return generateMigration(prev, cur);
}

export interface GenerateResult {
  id: string | null;
  dir: string | null;
  upStatements: number;
  downStatements: number;
}

/**
 * Write the next migration from the difference between the schema and the newest snapshot.
 * With `custom`, write it even when the schema has not changed, for hand-written SQL.
 */
export async function generateMigration(
  name: string,
  opts: { custom?: boolean; dir?: string } = {},
): Promise<GenerateResult> {
  if (!/^[a-z0-9_]{1,60}$/.test(name)) {
    throw new ValidationError('migration name must be lower-case letters, digits and underscores', [
      { path: 'name', message: 'expected [a-z0-9_]{1,60}' },
    ]);
  }
  const dir = opts.dir ?? DEFAULT_MIGRATIONS_DIR;
  const { generateMigration: diff } = await kit();
  const prev = await lastSnapshot(dir);
  const cur = await currentSnapshot(prev.id);
  const up = await diff(prev, cur);
  const down = await diff(cur, prev);
  if (up.length === 0 && !opts.custom) return { id: null, dir: null, upStatements: 0, downStatements: 0 };
  const files = loadMigrations(dir);
  const index = (files.at(-1)?.index ?? -1) + 1;
  const id = `${String(index).padStart(4, '0')}_${name}`;
  const path = join(dir, id);
  mkdirSync(path, { recursive: true });
  const body = (stmts: string[]) => stmts.map((s) => s.trim()).join('\n');
  writeFileSync(join(path, 'up.sql'), HEADER(id, 'up', !!opts.custom) + body(up) + '\n');
  writeFileSync(join(path, 'down.sql'), HEADER(id, 'down', !!opts.custom) + body(down) + '\n');
  writeFileSync(join(path, 'snapshot.json'), JSON.stringify(cur, null, 2) + '\n');
  return { id, dir: path, upStatements: up.length, downStatements: down.length };
}
