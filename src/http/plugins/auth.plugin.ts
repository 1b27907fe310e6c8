/**
 * Authentication and authorisation for every request, before its body is parsed or validated:
 *
 *   Authorization: Bearer <access token>   -> auth.authenticateBearer
 *   Authorization: ApiKey <key>            -> auth.authenticateApiKey
 *   X-API-Key: <key>                       -> auth.authenticateApiKey
 *   X-Tenant: <tenant id or slug>          the tenant the request acts in (default: the caller's own)
 *
 * A route says who may call it in its config (src/http/route-registry.ts): `permission` (checked here against
 * the principal's permissions in the request's tenant: 403 when missing), `auth: 'authenticated'`, or
 * `auth: 'public'`. Missing or bad credentials are a 401 with a WWW-Authenticate challenge; no AuthApi wired
 * in the container is a 503. Handlers read the caller with principalOf / tenantOf / actorOf.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Container } from '../../container.ts';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../../domain/errors.ts';
import type { Permission, Principal } from '../../domain/permissions.ts';
import type { Actor } from '../../services/audited.service.ts';
import type { RequestMeta } from '../../services/auth.types.ts';
import { routeAuth } from '../route-registry.ts';
import { requireAuthApi } from '../services.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null on public routes. */
    principal: Principal | null;
  }
}

/** The challenge sent with every 401 (RFC 9110 §11.6.1). */
export const WWW_AUTHENTICATE = 'Bearer realm="vigil", ApiKey realm="vigil"';

/** Tenant ids are UUIDs, slugs are lower-case words with dashes: anything else is refused before lookup. */
const TENANT_REF = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
/** No credential is this long; refuse before handing it to the verifier. */
const MAX_CREDENTIAL = 4096;

export function registerAuth(app: FastifyInstance, container: Container): void {
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (req) => {
    const { auth: mode, permission } = routeAuth(req.routeOptions.config);
    if (mode === 'public') return;

    const auth = requireAuthApi(container);
    const credential = readCredential(req);
    if (!credential)
      throw new UnauthorizedError('authentication required: send a bearer token or an API key');
    const meta = requestMeta(req);
    req.principal =
      credential.scheme === 'bearer'
        ? await auth.authenticateBearer(credential.value, meta)
        : await auth.authenticateApiKey(credential.value, meta);
    if (permission) assertPermission(req, permission);
  });
}

/** The credential of a request, if it carries one; throws UnauthorizedError for a malformed one. */
function readCredential(req: FastifyRequest): { scheme: 'bearer' | 'api_key'; value: string } | undefined {
  const authorization = req.headers.authorization;
  const apiKey = req.headers['x-api-key'];
  if (authorization !== undefined && apiKey !== undefined) {
    throw new UnauthorizedError('send one credential: Authorization or X-API-Key, not both');
  }
  if (apiKey !== undefined) {
    const value = (Array.isArray(apiKey) ? apiKey.join(',') : apiKey).trim();
    if (!value || value.length > MAX_CREDENTIAL) throw new UnauthorizedError('malformed X-API-Key header');
    return { scheme: 'api_key', value };
  }
  if (authorization === undefined) return undefined;
  const m = /^([A-Za-z][A-Za-z0-9_-]*) +(\S+) *$/.exec(authorization);
  if (!m || m[2]!.length > MAX_CREDENTIAL) throw new UnauthorizedError('malformed Authorization header');
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer') return { scheme: 'bearer', value: m[2]! };
  if (scheme === 'apikey') return { scheme: 'api_key', value: m[2]! };
  throw new UnauthorizedError(`unsupported authorization scheme ${m[1]}: use Bearer or ApiKey`);
}

/** What the transport knows about the caller: address, user agent, requested tenant. */
export function requestMeta(req: FastifyRequest): RequestMeta {
  const ua = req.headers['user-agent'];
  return { ip: req.ip, userAgent: typeof ua === 'string' ? ua : undefined, tenant: requestedTenant(req) };
}

function requestedTenant(req: FastifyRequest): string | undefined {
  const raw = req.headers['x-tenant'];
  if (raw === undefined) return undefined;
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
  if (value === '') return undefined;
  if (!TENANT_REF.test(value)) {
    throw new ValidationError('invalid X-Tenant header', [
      { path: 'X-Tenant', message: 'a tenant id or slug' },
    ]);
  }
  return value;
}

/** The authenticated caller (for routes that require authentication). */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new UnauthorizedError('authentication required');
  return req.principal;
}

/** The tenant the request acts in; a 400 naming X-Tenant when the caller has none. */
export function tenantOf(req: FastifyRequest): string {
  const tenantId = principalOf(req).tenantId;
  if (!tenantId) {
    throw new ValidationError('no tenant selected: send the X-Tenant header', [
      { path: 'X-Tenant', message: 'required for this route' },
    ]);
  }
  return tenantId;
}

/** Who acts and from where, for services that audit the change. */
export function actorOf(req: FastifyRequest): Actor {
  return { principal: principalOf(req), meta: requestMeta(req) };
}

/**
 * For checks a route's config cannot express (a field only some roles may set): throws ForbiddenError when
 * the caller lacks `permission` in the request's tenant.
 */
export function assertPermission(req: FastifyRequest, permission: Permission): void {
  if (!principalOf(req).permissions.has(permission)) {
    throw new ForbiddenError(`this action requires the ${permission} permission`);
  }
}
