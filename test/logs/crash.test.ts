/**
 * "A kill -9 in the middle of ingesting a large file, then a restart, ends with every line stored exactly
 * once." The real command in a child process (embedded PGlite + DuckDB in a temporary data directory),
 * killed with SIGKILL once some batches have committed, then run again.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/db/client.ts';

const BIN = resolve(import.meta.dirname, '../../bin/vigil.js');
const LINES = 300_000;

describe('ingest survives kill -9', () => {
  let dir: string;
  let file: string;
  const env = () => ({
    ...process.env,
    LOG_LEVEL: 'warn',
    DATABASE_URL: '',
    VIGIL_DATA_DIR: dir,
    VIGIL_LOG_STORE: 'duckdb',
  });
  const vigil = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: env(), timeout: 240_000 });
    if (r.status !== 0) throw new Error(`vigil ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-crash-'));
    file = join(dir, 'auth.log');
    const out = createWriteStream(file);
    for (let i = 0; i < LINES; i++) {
      const s = i % 86_400;
      const ts = `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
      if (
        !out.write(
          `Mar  5 ${ts} bastion sshd[${10_000 + (i % 50_000)}]: Failed password for invalid user u${i} from 192.0.2.${i % 250} port ${1024 + (i % 60_000)} ssh2\n`,
        )
      )
        await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
    vigil(['init', '--json']);
  }, 240_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores every line exactly once after SIGKILL mid-file and a restart', async () => {
    const child = spawn(process.execPath, [BIN, 'ingest', file, '--tenant', 'default', '--progress'], {
      env: env(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let killedAt = -1;
    let exited = false;
    child.on('exit', () => (exited = true));
    let buf = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      buf += d;
      const m = [...buf.matchAll(/progress read=(\d+) accepted=(\d+)/g)].at(-1);
      if (m && killedAt < 0 && Number(m[2]) >= 60_000) {
        killedAt = Number(m[2]);
        child.kill('SIGKILL');
      }
    });
    await once(child, 'exit');
    expect(exited).toBe(true);
    expect(killedAt, `the run finished before it could be killed:\n${buf.slice(-2000)}`).toBeGreaterThan(0);
    expect(child.signalCode).toBe('SIGKILL');

    const summary = JSON.parse(vigil(['ingest', file, '--tenant', 'default', '--json'])) as {
      read: number;
      accepted: number;
      rejected: number;
      duplicates: number;
      resumed: number;
    };
    expect(summary.read).toBe(LINES);
    expect(summary.rejected).toBe(0);
    expect(summary.accepted + summary.duplicates).toBe(LINES);
    // What the killed run committed is skipped from its checkpoint; at least what it reported was committed.
    expect(summary.resumed).toBeGreaterThanOrEqual(killedAt);
    expect(summary.accepted).toBeGreaterThan(0);

    const q = JSON.parse(
      vigil([
        'logs',
        'query',
        'select count(*) as n, count(distinct id) as ids, count(distinct message) as messages from logs',
        '--tenant',
        'default',
        '--json',
      ]),
    ) as { rows: unknown[][] };
    expect(q.rows[0]!.map(Number)).toEqual([LINES, LINES, LINES]);

    // The killed run is closed as failed (interrupted) when the next process opens the store; the rerun succeeded.
    const db = await Database.open({ dataDir: join(dir, 'pg') });
    try {
      const runs = await db.query<{ status: string; error_message: string | null; records_inserted: number }>(
        `select status, error_message, records_inserted from ingestion_runs where kind = 'logs' order by started_at`,
      );
      expect(runs.map((r) => r.status)).toEqual(['failed', 'success']);
      expect(runs[0]!.error_message).toMatch(/^interrupted/);
      expect(runs[1]!.records_inserted).toBe(summary.accepted);
    } finally {
      await db.close();
    }
  }, 300_000);
});
