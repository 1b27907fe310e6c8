import { z } from 'zod';
import type { Container } from '../../container.ts';
import type { ApiApp } from '../types.ts';

const TAGS = ['health'];

const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    database: z.object({
      ok: z.boolean(),
      engine: z.enum(['pglite', 'postgres']),
      latencyMs: z.number(),
      error: z.literal('unreachable').optional(),
    }),
    migrations: z.object({ current: z.boolean(), pending: z.array(z.string()) }),
  })
  .meta({ id: 'Readiness' });

/** /healthz: the process answers. /readyz: the database is reachable and migrations are current. */
export function registerHealthRoutes(app: ApiApp, c: Container): void {
  app.get(
    '/healthz',
    {
      config: { auth: 'public' },
      schema: {
        operationId: 'healthz',
        summary: 'Liveness: the process answers',
        tags: TAGS,
        security: [],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { auth: 'public' },
      schema: {
        operationId: 'readyz',
        summary: 'Readiness: the database answers and migrations are current',
        tags: TAGS,
        security: [],
        response: { 200: readinessSchema, 503: readinessSchema },
      },
    },
    async (_req, reply) => {
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
          ...(h.error ? { error: 'unreachable' as const } : {}),
        },
        migrations: { current: migrationsCurrent, pending },
      });
    },
  );
}
