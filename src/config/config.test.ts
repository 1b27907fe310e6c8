import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../domain/errors.ts';
import { loadConfig, redactedConfig } from './config.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'vigil-cfg-'));

describe('loadConfig', () => {
  it('has working defaults with no file and no environment', () => {
    const cwd = dir();
    const c = loadConfig({ env: {}, cwd });
    expect(c.server.port).toBe(8080);
    expect(c.database.url).toBeUndefined();
    expect(c.database.dataDir).toBe(join(cwd, 'data', 'pg'));
    expect(c.database.pool.maxLifetimeSeconds).toBe(300);
    expect(c.logging.format).toBe('pretty');
    expect(c.get('database.pool.max')).toBe(10);
  });

  it('layers YAML under environment variables', () => {
    const cwd = dir();
    writeFileSync(
      join(cwd, 'vigil.yaml'),
      'server:\n  port: 9000\n  host: 127.0.0.1\ndatabase:\n  pool:\n    max: 4\n',
    );
    const c = loadConfig({ env: { PORT: '9100', VIGIL__DATABASE__POOL__IDLE_TIMEOUT_MS: '5000' }, cwd });
    expect(c.server.port).toBe(9100);
    expect(c.server.host).toBe('127.0.0.1');
    expect(c.database.pool.max).toBe(4);
    expect(c.database.pool.idleTimeoutMs).toBe(5000);
    expect(c.origin['server.port']).toBe('env PORT');
    expect(c.origin['database.pool.max']).toBe('vigil.yaml');
  });

  it('names the bad key and its origin', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'vigil.yaml'), 'database:\n  pool:\n    max: lots\n');
    expect(() => loadConfig({ env: {}, cwd })).toThrow(/database\.pool\.max: .*\(from vigil\.yaml\)/);
    expect(() => loadConfig({ env: { PORT: '99999' }, cwd: dir() })).toThrow(
      /server\.port: .*\(from env PORT\)/,
    );
    expect(() => loadConfig({ env: { DATABASE_URL: 'mysql://x' }, cwd: dir() })).toThrow(ConfigError);
  });

  it('rejects unknown keys instead of ignoring a typo', () => {
    const cwd = dir();
    writeFileSync(join(cwd, 'vigil.yaml'), 'server:\n  prot: 1\n');
    expect(() => loadConfig({ env: {}, cwd })).toThrow(/server: unknown key\(s\): prot/);
  });

  it('reads DATABASE_ECHO and production logging', () => {
    const c = loadConfig({ env: { DATABASE_ECHO: 'true', NODE_ENV: 'production' }, cwd: dir() });
    expect(c.database.echo).toBe(true);
    expect(c.logging.format).toBe('json');
  });

  it('redacts passwords in URLs', () => {
    const c = loadConfig({ env: { DATABASE_URL: 'postgres://vigil:s3cret@db:5432/vigil' }, cwd: dir() });
    expect(JSON.stringify(redactedConfig(c))).not.toContain('s3cret');
  });

  it('fails clearly on a missing explicit file and on invalid YAML', () => {
    expect(() => loadConfig({ env: {}, cwd: dir(), file: 'nope.yaml' })).toThrow(/does not exist/);
    const cwd = dir();
    writeFileSync(join(cwd, 'bad.yaml'), 'server: [\n');
    expect(() => loadConfig({ env: {}, cwd, file: 'bad.yaml' })).toThrow(/not valid YAML/);
  });
});
