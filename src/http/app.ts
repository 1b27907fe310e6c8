/**
 * Build the Fastify application (no listening here: tests use app.inject()).
 * Routes live in routes/*.route.ts; one error handler turns every error into an RFC 9457 problem.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { isVigilError, ValidationError } from '../domain/errors.ts';
import type { Container } from '../container.ts';
import { problem, STATUS_BY_CODE } from './problem.ts';
import { registerHealthRoutes } from './routes/health.route.ts';

export interface BuildAppOptions {
  container: Container;
  /** Pass false to silence request logs (tests). */
  logger?: boolean;
}

export async function buildApp({ container, logger = true }: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = container;
  const app = Fastify({
    loggerInstance: logger ? (container.logger as FastifyBaseLogger) : undefined,
    bodyLimit: config.server.bodyLimitBytes,
    trustProxy: config.server.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => crypto.randomUUID(),
    return503OnClosing: true,
  });

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', reply.getHeader('cache-control') ?? 'no-store');
  });

  app.setErrorHandler((err, req, reply) => {
    if (isVigilError(err)) {
      const status = STATUS_BY_CODE[err.code];
      const errors = err instanceof ValidationError ? err.issues : undefined;
      return reply
        .status(status)
        .type('application/problem+json')
        .send(
          problem(status, err.code, err.message, {
            instance: req.url,
            requestId: req.id,
            ...(errors ? { errors } : {}),
          }),
        );
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    const status =
      typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'unhandled error');
      return reply
        .status(500)
        .type('application/problem+json')
        .send(
          problem(500, 'internal', 'an unexpected error occurred', { instance: req.url, requestId: req.id }),
        );
    }
    return reply
      .status(status)
      .type('application/problem+json')
      .send(
        problem(status, (e.code ?? 'bad_request').toLowerCase(), e.message, {
          instance: req.url,
          requestId: req.id,
        }),
      );
  });

  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      .send(
        problem(404, 'not_found', `no route ${req.method} ${req.url}`, {
          instance: req.url,
          requestId: req.id,
        }),
      ),
  );

  registerHealthRoutes(app, container);
  return app;
}
