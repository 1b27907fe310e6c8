import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createContainer } from '../../src/container.ts';
import { buildApp } from '../../src/http/app.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';

describe('graceful shutdown', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb('pglite');
  });
  afterAll(async () => t?.dispose());

  it('finishes in-flight requests while refusing new work', async () => {
    const config = loadConfig({ env: { LOG_LEVEL: 'silent' } });
    const container = await createContainer(config, createLogger(config), t.db);
    const app = await buildApp({ container, logger: false });
    // a slow handler standing in for a long request (outside /api/v1, so no route contract applies)
    app.get('/test/slow', async () => {
      await new Promise((r) => setTimeout(r, 600));
      return { done: true };
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const inFlight = fetch(`${address}/test/slow`);
    await new Promise((r) => setTimeout(r, 150)); // the request has reached the handler
    const t0 = Date.now();
    const closing = app.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    // the client is told to drop its keep-alive socket, so close() does not wait for the keep-alive timeout
    expect(res.headers.get('connection')).toBe('close');
    await closing;
    expect(Date.now() - t0).toBeLessThan(2000);
    await expect(fetch(`${address}/healthz`)).rejects.toThrow();
  });
});
