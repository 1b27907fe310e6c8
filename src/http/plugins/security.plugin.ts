/**
 * Response headers: @fastify/helmet with a locked-down policy for a JSON API (the docs pages get their own
 * CSP from the OpenAPI plugin), CORS only for the configured origins (none configured: no CORS headers at
 * all), the request id on every response, and no caching unless a route says otherwise.
 */
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.ts';

/** Request headers a browser client may send cross-origin. */
const CORS_REQUEST_HEADERS = ['Authorization', 'Content-Type', 'X-API-Key', 'X-Tenant', 'X-Request-Id'];
/** Response headers a browser client may read cross-origin. */
const CORS_EXPOSED_HEADERS = ['X-Request-Id', 'WWW-Authenticate', 'Location', 'Retry-After'];

export async function registerSecurity(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'none'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });

  const origins = config.server.corsOrigins;
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: CORS_REQUEST_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      // Credentials travel in headers, never in cookies: no credentialed CORS.
      credentials: false,
      maxAge: 600,
    });
  }

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
}
