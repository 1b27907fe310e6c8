/**
 * Boot and shutdown: migrate, make sure a first admin exists, listen, and on SIGTERM/SIGINT stop accepting,
 * finish in-flight requests, then close the stores.
 */
import type { FastifyInstance } from 'fastify';
import type { Container } from '../container.ts';
import { buildApp } from './app.ts';

export interface RunningServer {
  app: FastifyInstance;
  address: string;
  stop(): Promise<void>;
}

export async function startServer(
  container: Container,
  opts: {
    onReady?: (address: string) => void;
    /** Runs after the HTTP server stopped and before the stores close (background jobs, receivers). */
    beforeClose?: () => Promise<void>;
  } = {},
): Promise<RunningServer> {
  const { config, logger } = container;
  const app = await buildApp({ container });
  const address = await app.listen({ port: config.server.port, host: config.server.host });
  opts.onReady?.(address);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info('shutting down: finishing in-flight requests');
      const timer = setTimeout(() => {
        logger.error({ graceMs: config.server.shutdownGraceMs }, 'shutdown grace period over; exiting');
        process.exit(1);
      }, config.server.shutdownGraceMs);
      timer.unref();
      await app.close();
      await opts.beforeClose?.();
      await container.close();
      clearTimeout(timer);
      logger.info('stopped');
    })());

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
    });
  }
  return { app, address, stop };
}
