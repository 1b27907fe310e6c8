/**
 * The route registry: every route's method, url and the permission it requires, collected as routes are
 * registered. The permission matrix (docs/permissions.md) and the route x role tests read it.
 *
 * It also holds API routes to the house rules when they are registered, so a route that forgets one fails at
 * start-up instead of in production. Every route under /api/v1 must:
 *   - declare who may call it: `config: { permission: 'sources:read' }`, or `config: { auth: 'authenticated' }`
 *     (any caller with valid credentials), or `config: { auth: 'public' }`;
 *   - declare `schema.response`, `schema.params` when its url has parameters, `schema.body` for POST/PUT/PATCH.
 * A route without a querystring schema gets an empty strict one (an unknown query key is a 400, not ignored).
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import type { Permission } from '../domain/permissions.ts';

export const API_PREFIX = '/api/v1';

export type RouteAuth = 'public' | 'authenticated';

export interface RouteEntry {
  method: string;
  /** Fastify's url pattern, e.g. `/api/v1/sources/:id`. */
  url: string;
  /** `public`: no credentials; `authenticated`: valid credentials, and `permission` when set. */
  auth: 'public' | 'required';
  permission: Permission | null;
  operationId: string | null;
  /** Hidden from the OpenAPI document (docs assets). */
  hidden: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a caller must hold in the request's tenant (implies authentication). */
    permission?: Permission;
    /** For routes without a permission: `public` (no credentials) or `authenticated` (any valid caller). */
    auth?: RouteAuth;
  }
  interface FastifyInstance {
    /** Every route registered on this app, in registration order (HEAD routes left out). */
    readonly routeRegistry: readonly RouteEntry[];
  }
}

/** The registry of an app: every route's method, url and permission, sorted by url then method. */
export function routeRegistry(app: FastifyInstance): RouteEntry[] {
  return [...app.routeRegistry].sort(
    (a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method),
  );
}

/** Permission named in a route's config, or null; `auth` mode derived from it. */
export function routeAuth(config: { permission?: Permission; auth?: RouteAuth } | undefined): {
  auth: 'public' | 'required';
  permission: Permission | null;
} {
  const permission = config?.permission ?? null;
  if (permission || config?.auth === 'authenticated') return { auth: 'required', permission };
  return { auth: 'public', permission: null };
}

const emptyQuery = z.strictObject({});

/** Install the onRoute hook that checks API routes and fills `app.routeRegistry`. Call before any route. */
export function registerRouteRegistry(app: FastifyInstance): void {
  const entries: RouteEntry[] = [];
  app.decorate('routeRegistry', entries);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const config = route.config as { permission?: Permission; auth?: RouteAuth } | undefined;
    const isApi = route.url.startsWith(`${API_PREFIX}/`) || route.url === API_PREFIX;
    if (isApi) checkApiRoute(route, methods, config);
    const { auth, permission } = routeAuth(config);
    const schema = route.schema as Record<string, unknown> | undefined;
    for (const method of methods) {
      // HEAD answers like the GET of the same url (Fastify adds it with the same config): not listed.
      if (method === 'HEAD') continue;
      entries.push({
        method,
        url: route.url,
        auth,
        permission,
        operationId: typeof schema?.operationId === 'string' ? schema.operationId : null,
        hidden: schema?.hide === true,
      });
    }
  });
}

function checkApiRoute(
  route: RouteOptions,
  methods: string[],
  config: { permission?: Permission; auth?: RouteAuth } | undefined,
): void {
  const where = `${methods.join(',')} ${route.url}`;
  const fail = (why: string): never => {
    throw new Error(`route ${where}: ${why} (see src/http/route-registry.ts)`);
  };
  if (config?.permission && config.auth) fail('declare either config.permission or config.auth, not both');
  if (!config?.permission && config?.auth !== 'public' && config?.auth !== 'authenticated')
    fail("declare config.permission, or config.auth: 'public' | 'authenticated'");
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  if (!schema.response) fail('declare schema.response');
  if (route.url.includes(':') && !schema.params) fail('declare schema.params');
  if (methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH') && !schema.body)
    fail('declare schema.body');
  if (!schema.querystring) schema.querystring = emptyQuery;
  route.schema = schema;

  // What the OpenAPI document shows: public routes need no credentials, the others name their permission.
  if (!config?.permission && config?.auth === 'public') schema.security = [];
  if (config?.permission) {
    schema['x-permission'] = config.permission;
    const note = `Requires the \`${config.permission}\` permission.`;
    const text = typeof schema.description === 'string' ? schema.description : '';
    // The HEAD twin of a GET shares its schema object: add the note once.
    if (!text.includes(note)) schema.description = text ? `${text}\n\n${note}` : note;
  }
}
