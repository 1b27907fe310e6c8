import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createContainer } from '../../src/container.ts';
import { buildApp } from '../../src/http/app.ts';
import { createEmptyDb, engines, type TestDb } from '../helpers/db.ts';

describe.each(engines())('health routes on %s', (engine) => {
  let t: TestDb;
  let app: FastifyInstance;
  beforeAll(async () => {
    t = await createEmptyDb(engine);
    const config = loadConfig({ env: { LOG_LEVEL: 'silent' } });
    const container = await createContainer(config, createLogger(config), t.db);
    app = await buildApp({ container, logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('/healthz answers while the process is up', async () => {
    const r = await app.inject({ method: 'GET', url: '/healthz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok' });
    expect(r.headers['x-request-id']).toBeTruthy();
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('/readyz is 503 until migrations are current, then 200', async () => {
    const before = await app.inject({ method: 'GET', url: '/readyz' });
    expect(before.statusCode).toBe(503);
    expect(before.json().migrations.pending.length).toBeGreaterThan(0);
    const { Migrator } = await import('../../src/db/migrator.ts');
    await new Migrator(t.db).migrate();
    const after = await app.inject({ method: 'GET', url: '/readyz' });
    expect(after.statusCode).toBe(200);
    expect(after.json()).toMatchObject({
      status: 'ready',
      database: { ok: true, engine },
      migrations: { current: true },
    });
  });

  it('unknown routes get an RFC 9457 problem', async () => {
    const r = await app.inject({ method: 'GET', url: '/nope' });
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({ status: 404, code: 'not_found', title: 'Not Found' });
  });
});
