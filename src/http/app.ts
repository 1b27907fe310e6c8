/**
 * Build the Fastify application (no listening here: tests use app.inject()).
 *
 * Order matters: the route registry's onRoute hook and @fastify/swagger must see every route, so they come
 * first; CORS answers before authentication so a refused request still carries its CORS headers; routes last.
 * Routes live in routes/*.route.ts; plugins/ hold the cross-cutting parts; one error handler turns every
 * error into an RFC 9457 problem.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Container } from '../container.ts';
import { registerAuth } from './plugins/auth.plugin.ts';
import { frameworkErrorHandler, registerErrorHandling } from './plugins/errors.plugin.ts';
import { registerOpenApi } from './plugins/openapi.plugin.ts';
import { registerSecurity } from './plugins/security.plugin.ts';
import { registerRouteRegistry } from './route-registry.ts';
import { registerAlertRoutes } from './routes/alert.route.ts';
import { registerApiKeyRoutes } from './routes/api-key.route.ts';
import { registerAuditLogRoutes } from './routes/audit-log.route.ts';
import { registerAuthRoutes } from './routes/auth.route.ts';
import { registerHealthRoutes } from './routes/health.route.ts';
import { registerIncidentRoutes } from './routes/incident.route.ts';
import { registerIndicatorRoutes } from './routes/indicator.route.ts';
import { registerIngestionRunRoutes } from './routes/ingestion-run.route.ts';
import { registerLogRoutes } from './routes/log.route.ts';
import { registerMembershipRoutes } from './routes/membership.route.ts';
import { registerSessionRoutes } from './routes/session.route.ts';
import { registerNotificationRoutes } from './routes/notification.route.ts';
import { registerReportRoutes } from './routes/report.route.ts';
import { registerRuleRoutes } from './routes/rule.route.ts';
import { registerSourceRoutes } from './routes/source.route.ts';
import { registerTechniqueRoutes } from './routes/technique.route.ts';
import { registerTenantRoutes } from './routes/tenant.route.ts';
import { registerUserRoutes } from './routes/user.route.ts';
import { registerVulnerabilityRoutes } from './routes/vulnerability.route.ts';
import { apiServices, authApiOf } from './services.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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
    // A client's X-Request-Id is kept when it is a plain token (it lands in logs and problem bodies).
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    },
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // The API speaks JSON only: any other request body is a 415 problem.
  app.removeContentTypeParser('text/plain');

  // Graceful shutdown: once closing, every response tells its client to drop the connection, so keep-alive
  // sockets end with the last in-flight request instead of holding close() for the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  registerRouteRegistry(app);
  registerErrorHandling(app);
  await registerSecurity(app, config);
  registerAuth(app, container);
  await registerOpenApi(app);

  if (!authApiOf(container)) {
    app.log.warn('no AuthApi in the container: routes that need credentials answer 503');
  }

  const api = app.withTypeProvider<ZodTypeProvider>();
  const services = apiServices(container);
  registerHealthRoutes(api, container);
  registerAuthRoutes(api, container);
  registerSourceRoutes(api, services);
  registerIncidentRoutes(api, services);
  registerVulnerabilityRoutes(api, services);
  registerAuditLogRoutes(api, services);
  registerSessionRoutes(api, services);
  registerTechniqueRoutes(api, services);
  registerIngestionRunRoutes(api, services);
  registerIndicatorRoutes(api, services);
  registerApiKeyRoutes(api, services);
  registerMembershipRoutes(api, services);
  registerRuleRoutes(api, services);
  registerAlertRoutes(api, services);
  registerNotificationRoutes(api, services);
  registerReportRoutes(api, services);
  registerUserRoutes(api, services);
  registerTenantRoutes(api, services);
  registerLogRoutes(api, services);
  return app;
}
