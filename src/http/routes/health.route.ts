import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.ts';

/** /healthz: the process answers. /readyz: the database is reachable and migrations are current. */
export function registerHealthRoutes(app: FastifyInstance, c: Container): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const h = await c.db.health();
    let migrationsCurrent = false;
    let pending: string[] = [];
    if (h.ok) {
      const s = await c.migrator.status();
      pending = s.pending.map((p) => p.id);
      migrationsCurrent = pending.length === 0;
    }
    const ready = h.ok && migrationsCurrent;
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not_ready',
      database: {
        ok: h.ok,
        engine: h.engine,
        latencyMs: h.latencyMs,
        ...(h.error ? { error: 'unreachable' } : {}),
      },
      migrations: { current: migrationsCurrent, pending },
    });
  });
}
