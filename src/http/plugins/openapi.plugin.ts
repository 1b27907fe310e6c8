/**
 * The OpenAPI 3.1 document, generated from the routes' zod schemas (@fastify/swagger with the zod type
 * provider's transforms), served at GET /api/openapi.json; the browsable docs (@fastify/swagger-ui, assets
 * served from the package: no network) at /api/docs. Register before the routes: @fastify/swagger collects
 * them as they are added.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { z } from 'zod';

export const OPENAPI_PATH = '/api/openapi.json';
export const DOCS_PATH = '/api/docs';
export const API_VERSION = '0.1.0';

/** The docs page loads its scripts and styles from this server only. */
const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; " +
  "script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; form-action 'self'; " +
  "frame-ancestors 'none'";

const TENANT_PARAMETER: OpenAPIV3_1.ParameterObject = {
  name: 'X-Tenant',
  in: 'header',
  required: false,
  description:
    "The tenant the request acts in: its id or slug. Default: the caller's own (a user's default tenant, " +
    "an API key's tenant). Permissions are those the caller holds in that tenant.",
  schema: { type: 'string', maxLength: 64 },
};

interface OverrideContext {
  zodSchema: unknown;
  jsonSchema: Record<string, unknown>;
}

/**
 * JSON Schema for what zod cannot express by itself: dates travel as ISO 8601 strings (both ways: inputs
 * are coerced from strings), `z.undefined()` (a 204) is `null`, and empty union branches are dropped.
 */
function override(ctx: OverrideContext): void {
  const type = (ctx.zodSchema as { _zod?: { def?: { type?: string } } })._zod?.def?.type;
  if (type === 'date') {
    ctx.jsonSchema.type = 'string';
    ctx.jsonSchema.format = 'date-time';
  } else if (type === 'undefined') {
    ctx.jsonSchema.type = 'null';
  } else if (type === 'union' && Array.isArray(ctx.jsonSchema.anyOf)) {
    ctx.jsonSchema.anyOf = (ctx.jsonSchema.anyOf as object[]).filter((s) => Object.keys(s).length > 0);
  }
}

const transform = createJsonSchemaTransform({
  skipList: [],
  zodToJsonConfig: { target: 'draft-2020-12', override: override as never },
});

/** Every operation that needs credentials takes the X-Tenant header. */
function addTenantHeader(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const op = item?.[method];
      if (!op || (Array.isArray(op.security) && op.security.length === 0)) continue;
      op.parameters = [...(op.parameters ?? []), { $ref: '#/components/parameters/XTenant' }];
    }
  }
  return doc;
}

/**
 * The zod transform emits an input and an output variant of every registered schema; keep only the
 * components that the document actually references (directly or through another kept component).
 */
function dropUnusedSchemas(doc: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
  const schemas = doc.components?.schemas;
  if (!schemas) return doc;
  const refsIn = (v: unknown) =>
    [...JSON.stringify(v).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
  const keep = new Set<string>();
  const queue = refsIn({ paths: doc.paths, parameters: doc.components?.parameters });
  while (queue.length) {
    const name = queue.pop()!;
    if (keep.has(name) || !schemas[name]) continue;
    keep.add(name);
    queue.push(...refsIn(schemas[name]));
  }
  doc.components!.schemas = Object.fromEntries(Object.entries(schemas).filter(([k]) => keep.has(k)));
  return doc;
}

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Vigil API',
        version: API_VERSION,
        description:
          'Vigil, a multi-tenant security operations platform. Errors are RFC 9457 problem details ' +
          '(`application/problem+json`). Authenticate with a bearer access token (POST /api/v1/auth/login) ' +
          'or an API key; choose the tenant with the X-Tenant header.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'An access token from POST /api/v1/auth/login or /api/v1/auth/refresh.',
          },
          apiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Key',
            description: 'An API key, in X-API-Key or as `Authorization: ApiKey <key>`.',
          },
        },
        parameters: { XTenant: TENANT_PARAMETER },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
      tags: [
        { name: 'auth', description: 'Log in, refresh, log out, who am I' },
        { name: 'sources', description: 'Log sources of a tenant' },
        { name: 'incidents', description: 'Security incidents of a tenant' },
        { name: 'vulnerabilities', description: 'CVE intelligence (global)' },
        { name: 'audit', description: "A tenant's audit trail" },
        { name: 'sessions', description: "The calling user's working sessions" },
        { name: 'techniques', description: 'MITRE ATT&CK techniques (global)' },
        { name: 'ingestion', description: 'Feed and log ingestion runs' },
        { name: 'indicators', description: 'Indicators of compromise (global and private)' },
        { name: 'api-keys', description: "A tenant's API keys" },
        { name: 'members', description: 'Members of a tenant and their roles' },
        { name: 'rules', description: 'Detection rules of a tenant and their versions' },
        { name: 'alerts', description: 'Alerts of a tenant, their acknowledgement and incident links' },
        { name: 'notifications', description: 'Notifications of a tenant' },
        { name: 'reports', description: 'Generated security reports of a tenant' },
        { name: 'users', description: 'Users of a tenant: accounts, passwords, deactivation' },
        { name: 'tenants', description: 'Tenants of the platform (platform operations)' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
    transform,
    transformObject: (doc) =>
      dropUnusedSchemas(addTenantHeader(jsonSchemaTransformObject(doc) as OpenAPIV3_1.Document)),
  });

  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    staticCSP: DOCS_CSP,
    uiConfig: { deepLinking: true, persistAuthorization: false },
  });

  app.get(
    OPENAPI_PATH,
    {
      schema: { hide: true, response: { 200: z.record(z.string(), z.unknown()) } },
      config: { auth: 'public' },
    },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
}
