import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliContext } from '../src/cli/context.ts';
import { buildProgram } from '../src/cli/program.ts';
import { createEmptyDb, TEST_DATABASE_URL, type TestDb } from './helpers/db.ts';

const BIN = resolve(import.meta.dirname, '../bin/vigil.js');

function vigil(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: '', ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function allCommands(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return [path, ...allCommands(c, path)];
  });
}

describe('vigil command tree', () => {
  const program = buildProgram(new CliContext(() => ({})));

  it('gives every command a one-line description', () => {
    const cmds = allCommands(program);
    expect(cmds.length).toBeGreaterThanOrEqual(12);
    for (const path of cmds) {
      let c: Command = program;
      for (const name of path) c = c.commands.find((x) => x.name() === name)!;
      expect(c.description(), path.join(' ')).toMatch(/^\S.{5,}$/);
      expect(c.description(), path.join(' ')).not.toContain('\n');
    }
  });

  it('offers --json on every command that prints results (all but serve)', () => {
    const leaves = allCommands(program).filter((path) => {
      let c: Command = program;
      for (const name of path) c = c.commands.find((x) => x.name() === name)!;
      return c.commands.length === 0;
    });
    expect(leaves.length).toBeGreaterThanOrEqual(11);
    for (const path of leaves.filter((p) => p.join(' ') !== 'serve')) {
      let c: Command = program;
      for (const name of path) c = c.commands.find((x) => x.name() === name)!;
      expect(
        c.options.map((o) => o.long),
        path.join(' '),
      ).toContain('--json');
    }
  });
});

describe('vigil as a process (embedded PGlite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
  const env = { VIGIL_DATA_DIR: dataDir };

  it('--help lists every top-level command with its description', () => {
    const r = vigil(['--help']);
    expect(r.code).toBe(0);
    for (const name of ['init', 'serve', 'seed', 'db', 'config'])
      expect(r.stdout).toMatch(new RegExp(`\\n  ${name}\\b.*\\S`));
    const db = vigil(['db', '--help']);
    for (const name of ['migrate', 'rollback', 'status', 'history', 'generate', 'check', 'health'])
      expect(db.stdout).toContain(name);
  });

  it('status shows pending migrations, migrate applies them, rollback undoes them', () => {
    const before = JSON.parse(vigil(['db', 'status', '--json'], env).stdout);
    expect(before.current).toBeNull();
    expect(before.pending.length).toBeGreaterThanOrEqual(3);
    const m = vigil(['db', 'migrate', '--json'], env);
    expect(m.code).toBe(0);
    expect(JSON.parse(m.stdout).applied).toEqual(before.pending.map((p: { id: string }) => p.id));
    const rb = JSON.parse(vigil(['db', 'rollback', '--steps', '2', '--json'], env).stdout);
    expect(rb.rolledBack).toHaveLength(2);
    const hist = JSON.parse(vigil(['db', 'history', '--json'], env).stdout);
    expect(hist.filter((h: { applied: boolean }) => !h.applied)).toHaveLength(2);
    expect(vigil(['db', 'migrate'], env).code).toBe(0);
  });

  it('init creates the admin once with a generated password, then is a no-op', () => {
    const first = JSON.parse(vigil(['init', '--json'], env).stdout);
    expect(first.created).toBe(true);
    expect(first.password).toMatch(/^\S{20,}$/);
    expect(first.password).not.toBe('admin');
    const second = JSON.parse(vigil(['init', '--json'], env).stdout);
    expect(second.created).toBe(false);
    expect(second.password).toBeUndefined();
    expect(second.admin.id).toBe(first.admin.id);
  });

  it('errors print one clear line and exit non-zero', () => {
    const bad = vigil(['db', 'rollback', '--steps', 'abc'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')[0]).toMatch(/steps/);
    const cfg = vigil(['db', 'status'], { ...env, VIGIL__DATABASE__POOL__MAX: 'lots' });
    expect(cfg.code).toBe(2);
    expect(cfg.stderr.trim()).toMatch(
      /^error: invalid configuration: database\.pool\.max: .*env VIGIL__DATABASE__POOL__MAX/,
    );
    expect(cfg.stderr.trim().split('\n')).toHaveLength(1);
    const unreachable = vigil(['db', 'health'], {
      ...env,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(vigil(['nonsense'], env).code).not.toBe(0);
  });

  it('db check passes on the committed migrations', () => {
    const r = vigil(['db', 'check', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, statements: [] });
  });
});

describe.skipIf(!TEST_DATABASE_URL)('vigil as a process (PostgreSQL via DATABASE_URL)', () => {
  let t: TestDb;
  let url: string;
  beforeAll(async () => {
    t = await createEmptyDb('postgres');
    const [row] = await t.db.query<{ db: string }>('select current_database() as db');
    const u = new URL(TEST_DATABASE_URL!);
    u.pathname = `/${row!.db}`;
    url = u.toString();
  });
  afterAll(async () => t?.dispose());

  it('migrates and reports health with pool figures', () => {
    expect(vigil(['db', 'migrate'], { DATABASE_URL: url }).code).toBe(0);
    const h = JSON.parse(vigil(['db', 'health', '--json'], { DATABASE_URL: url }).stdout);
    expect(h).toMatchObject({ ok: true, engine: 'postgres', migrations: { pending: 0 } });
    expect(h.serverVersion).toMatch(/^\d+/);
    expect(h.tableCount).toBeGreaterThanOrEqual(20);
    expect(h.pool.max).toBe(10);
  });
});
