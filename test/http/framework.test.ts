/**
 * The HTTP framework: OpenAPI document and docs, security headers and CORS, problem bodies for bad input,
 * authentication (401 / 503), tenant selection, the route registry and the route x caller permission matrix.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import type { Container } from '../../src/container.ts';
import { buildApp } from '../../src/http/app.ts';
import { registerRouteRegistry, routeRegistry, type RouteEntry } from '../../src/http/route-registry.ts';
import { engines } from '../helpers/db.ts';
import { CALLERS, createHttpFixture, type Caller, type HttpFixture } from '../helpers/http.ts';

type Json = Record<string, unknown>;

/** Every route of the API and who may call it: the permission matrix in one table. */
const EXPECTED_API_ROUTES: [string, string, string][] = [
  ['GET', '/api/v1/alerts', 'alerts:read'],
  ['POST', '/api/v1/alerts', 'alerts:write'],
  ['DELETE', '/api/v1/alerts/:id', 'alerts:write'],
  ['GET', '/api/v1/alerts/:id', 'alerts:read'],
  ['PATCH', '/api/v1/alerts/:id', 'alerts:write'],
  ['POST', '/api/v1/alerts/:id/acknowledge', 'alerts:write'],
  ['DELETE', '/api/v1/alerts/:id/incidents/:incidentId', 'alerts:write'],
  ['POST', '/api/v1/alerts/:id/incidents/:incidentId', 'alerts:write'],
  ['GET', '/api/v1/api-keys', 'api_keys:read'],
  ['POST', '/api/v1/api-keys', 'api_keys:write'],
  ['DELETE', '/api/v1/api-keys/:id', 'api_keys:write'],
  ['GET', '/api/v1/audit-logs', 'audit:read'],
  ['GET', '/api/v1/audit-logs/verify', 'audit:verify'],
  ['POST', '/api/v1/auth/login', 'public'],
  ['POST', '/api/v1/auth/logout', 'authenticated'],
  ['GET', '/api/v1/auth/me', 'authenticated'],
  ['POST', '/api/v1/auth/refresh', 'public'],
  ['GET', '/api/v1/detection/runs', 'rules:read'],
  ['GET', '/api/v1/incidents', 'incidents:read'],
  ['POST', '/api/v1/incidents', 'incidents:write'],
  ['DELETE', '/api/v1/incidents/:id', 'incidents:write'],
  ['GET', '/api/v1/incidents/:id', 'incidents:read'],
  ['PATCH', '/api/v1/incidents/:id', 'incidents:write'],
  ['GET', '/api/v1/incidents/:id/alerts', 'alerts:read'],
  ['GET', '/api/v1/indicators', 'indicators:read'],
  ['POST', '/api/v1/indicators', 'indicators:write'],
  ['DELETE', '/api/v1/indicators/:id', 'indicators:write'],
  ['GET', '/api/v1/indicators/:id', 'indicators:read'],
  ['PATCH', '/api/v1/indicators/:id', 'indicators:write'],
  ['POST', '/api/v1/indicators/lookup', 'indicators:read'],
  ['GET', '/api/v1/ingestion-runs', 'ingestion_runs:read'],
  ['GET', '/api/v1/ingestion-runs/:id', 'ingestion_runs:read'],
  ['GET', '/api/v1/logs', 'logs:read'],
  ['POST', '/api/v1/logs', 'logs:write'],
  ['GET', '/api/v1/logs/count', 'logs:read'],
  ['GET', '/api/v1/logs/histogram', 'logs:read'],
  ['GET', '/api/v1/logs/quarantine', 'logs:read'],
  ['POST', '/api/v1/logs/query', 'logs:read'],
  ['GET', '/api/v1/logs/recent', 'logs:read'],
  ['GET', '/api/v1/logs/top', 'logs:read'],
  ['GET', '/api/v1/members', 'memberships:read'],
  ['DELETE', '/api/v1/members/:userId', 'memberships:write'],
  ['PUT', '/api/v1/members/:userId', 'memberships:write'],
  ['GET', '/api/v1/notifications', 'notifications:read'],
  ['POST', '/api/v1/notifications', 'notifications:write'],
  ['DELETE', '/api/v1/notifications/:id', 'notifications:write'],
  ['GET', '/api/v1/notifications/:id', 'notifications:read'],
  ['POST', '/api/v1/notifications/:id/read', 'notifications:write'],
  ['POST', '/api/v1/notifications/read-all', 'notifications:write'],
  ['GET', '/api/v1/reports', 'reports:read'],
  ['POST', '/api/v1/reports', 'reports:write'],
  ['DELETE', '/api/v1/reports/:id', 'reports:write'],
  ['GET', '/api/v1/reports/:id', 'reports:read'],
  ['PATCH', '/api/v1/reports/:id', 'reports:write'],
  ['GET', '/api/v1/rules', 'rules:read'],
  ['POST', '/api/v1/rules', 'rules:write'],
  ['DELETE', '/api/v1/rules/:id', 'rules:write'],
  ['GET', '/api/v1/rules/:id', 'rules:read'],
  ['PATCH', '/api/v1/rules/:id', 'rules:write'],
  ['POST', '/api/v1/rules/:id/backtest', 'rules:read'],
  ['GET', '/api/v1/rules/:id/versions', 'rules:read'],
  ['POST', '/api/v1/rules/import', 'rules:write'],
  ['GET', '/api/v1/sessions', 'sessions:read'],
  ['POST', '/api/v1/sessions', 'sessions:write'],
  ['DELETE', '/api/v1/sessions/:id', 'sessions:write'],
  ['GET', '/api/v1/sessions/:id', 'sessions:read'],
  ['PATCH', '/api/v1/sessions/:id', 'sessions:write'],
  ['POST', '/api/v1/sessions/:id/end', 'sessions:write'],
  ['GET', '/api/v1/sources', 'sources:read'],
  ['POST', '/api/v1/sources', 'sources:write'],
  ['DELETE', '/api/v1/sources/:id', 'sources:write'],
  ['GET', '/api/v1/sources/:id', 'sources:read'],
  ['PATCH', '/api/v1/sources/:id', 'sources:write'],
  ['GET', '/api/v1/techniques', 'techniques:read'],
  ['GET', '/api/v1/techniques/:techniqueId', 'techniques:read'],
  ['GET', '/api/v1/tenants', 'authenticated'],
  ['POST', '/api/v1/tenants', 'tenants:write'],
  ['DELETE', '/api/v1/tenants/:id', 'tenants:write'],
  ['GET', '/api/v1/tenants/:id', 'authenticated'],
  ['PATCH', '/api/v1/tenants/:id', 'tenants:write'],
  ['GET', '/api/v1/users', 'users:read'],
  ['POST', '/api/v1/users', 'users:write'],
  ['DELETE', '/api/v1/users/:id', 'users:write'],
  ['GET', '/api/v1/users/:id', 'users:read'],
  ['PATCH', '/api/v1/users/:id', 'users:write'],
  ['POST', '/api/v1/users/:id/password', 'users:write'],
  ['GET', '/api/v1/vulnerabilities', 'vulnerabilities:read'],
  ['GET', '/api/v1/vulnerabilities/:cveId', 'vulnerabilities:read'],
  ['GET', '/api/v1/vulnerabilities/:cveId/epss', 'vulnerabilities:read'],
  ['GET', '/api/v1/vulnerabilities/search', 'vulnerabilities:read'],
  ['GET', '/api/v1/vulnerabilities/stats', 'vulnerabilities:read'],
];

const apiRoutes = (app: FastifyInstance): RouteEntry[] =>
  routeRegistry(app).filter((r) => r.url.startsWith('/api/v1/'));

/** `/api/v1/sources/:id` -> `/api/v1/sources/{id}` (OpenAPI's form). */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');

/** A url for the route with its parameters filled with well-formed, unknown values. */
const sampleUrl = (url: string) =>
  url.replace(':id', '00000000-0000-4000-8000-000000000000').replace(':cveId', 'CVE-1999-0001');

describe.each(engines())('HTTP framework on %s', (engine) => {
  let h: HttpFixture;
  const extraApps: FastifyInstance[] = [];
  /** Another app on the same database, with other configuration or without an AuthApi. */
  const appWith = async (env: Record<string, string>, withAuth = true): Promise<FastifyInstance> => {
    const config = loadConfig({ env: { LOG_LEVEL: 'silent', ...env } });
    const services = withAuth
      ? h.container.services
      : (({ auth: _auth, ...rest }) => rest)(
          h.container.services as Container['services'] & { auth?: unknown },
        );
    const app = await buildApp({
      container: { ...h.container, config, services: services as Container['services'] },
      logger: false,
    });
    extraApps.push(app);
    return app;
  };

  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    for (const a of extraApps) await a.close();
    await h?.dispose();
  });

  describe('OpenAPI', () => {
    let doc: Json;
    beforeAll(async () => {
      const r = await h.app.inject({ method: 'GET', url: '/api/openapi.json' });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toContain('application/json');
      doc = r.json();
    });

    it('is an OpenAPI 3.1 document with bearer and API key security', () => {
      expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
      expect(doc.info).toMatchObject({ title: 'Vigil API', version: expect.any(String) });
      const components = doc.components as Json;
      expect(components.securitySchemes).toMatchObject({
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      });
      expect(doc.security).toEqual([{ bearer: [] }, { apiKey: [] }]);
    });

    it('lists every registered route with its operation, parameters, body and responses', () => {
      const paths = doc.paths as Record<string, Record<string, Json>>;
      const documented = routeRegistry(h.app).filter((r) => !r.hidden);
      expect(documented.length).toBeGreaterThanOrEqual(EXPECTED_API_ROUTES.length + 2);
      const ids = new Set<string>();
      for (const r of documented) {
        const op = paths[openapiPath(r.url)]?.[r.method.toLowerCase()];
        expect(op, `${r.method} ${r.url}`).toBeDefined();
        expect(op!.operationId).toBe(r.operationId);
        expect(ids.has(String(op!.operationId)), `duplicate operationId ${op!.operationId}`).toBe(false);
        ids.add(String(op!.operationId));
        const responses = op!.responses as Record<string, Json>;
        const success = Object.keys(responses).filter((s) => s.startsWith('2'));
        expect(success.length, `${r.method} ${r.url} success response`).toBe(1);
        if (success[0] !== '204') {
          expect(
            (responses[success[0]!]!.content as Json)['application/json'],
            `${r.method} ${r.url} response schema`,
          ).toMatchObject({ schema: expect.any(Object) });
        }
        const params = (op!.parameters ?? []) as Json[];
        for (const name of r.url.match(/:(\w+)/g) ?? []) {
          expect(params.some((p) => p.in === 'path' && p.name === name.slice(1))).toBe(true);
        }
        if (['POST', 'PATCH', 'PUT'].includes(r.method)) {
          expect(op!.requestBody, `${r.method} ${r.url} body`).toMatchObject({
            content: { 'application/json': { schema: expect.any(Object) } },
          });
        }
        if (r.url.startsWith('/api/v1/')) {
          for (const s of ['400', '401', '503']) {
            if (r.auth === 'public' && s === '401' && r.url !== '/api/v1/auth/login') continue;
            expect(responses[s], `${r.method} ${r.url} documents ${s}`).toBeDefined();
          }
          if (r.auth === 'public') expect(op!.security).toEqual([]);
          else expect(op!.security).toBeUndefined();
          if (r.permission) {
            expect(op!['x-permission']).toBe(r.permission);
            expect(String(op!.description).split(`\`${r.permission}\``)).toHaveLength(2);
          }
        }
      }
      const listed = Object.values(paths).flatMap((p) => Object.keys(p)).length;
      expect(listed).toBe(documented.length);
    });

    it('documents list filters, the X-Tenant header and the problem responses', () => {
      const op = (doc.paths as Record<string, Record<string, Json>>)['/api/v1/incidents']!.get!;
      const names = (op.parameters as Json[]).map((p) => p.name ?? p.$ref);
      expect(names).toEqual(
        expect.arrayContaining(['limit', 'offset', 'sort', 'status', 'severity', 'detectedFrom']),
      );
      expect(names).toContain('#/components/parameters/XTenant');
      const detectedFrom = (op.parameters as Json[]).find((p) => p.name === 'detectedFrom')!;
      expect(detectedFrom.schema).toMatchObject({ type: 'string', format: 'date-time' });
      expect((op.responses as Json)['403']).toMatchObject({
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      });
    });

    it('resolves every $ref, and every schema compiles as JSON Schema 2020-12', () => {
      const text = JSON.stringify(doc);
      const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
      expect(refs.length).toBeGreaterThan(10);
      for (const ref of refs) {
        const target = ref
          .slice(2)
          .split('/')
          .reduce<unknown>((o, k) => (o as Json | undefined)?.[k], doc);
        expect(target, ref).toBeDefined();
      }
      const schemas = (doc.components as Json).schemas as Record<string, Json>;
      expect(Object.keys(schemas)).toEqual(
        expect.arrayContaining(['Problem', 'Source', 'Incident', 'Vulnerability', 'AuditLog', 'Principal']),
      );
      const ajv = new Ajv2020({ strict: false, validateFormats: false });
      ajv.addSchema({ $id: 'doc', components: { schemas } });
      const compileAll = (v: unknown): void => {
        if (!v || typeof v !== 'object') return;
        const o = v as Json;
        if (o.schema && typeof o.schema === 'object') {
          const s = JSON.parse(JSON.stringify(o.schema).replace(/"#\/components/g, '"doc#/components'));
          expect(() => ajv.compile(s)).not.toThrow();
        }
        for (const child of Object.values(o)) compileAll(child);
      };
      compileAll(doc.paths);
    });

    it('serves the browsable docs from the package', async () => {
      const page = await h.app.inject({ method: 'GET', url: '/api/docs' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.body).toContain('swagger-ui');
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toMatch(/https?:\/\//);
      const bundle = await h.app.inject({ method: 'GET', url: '/api/docs/static/swagger-ui-bundle.js' });
      expect(bundle.statusCode).toBe(200);
      const spec = await h.app.inject({ method: 'GET', url: '/api/docs/json' });
      expect(spec.json()).toMatchObject({ openapi: doc.openapi });
    });
  });

  describe('headers', () => {
    it('every response, errors included, carries the request id and the security headers', async () => {
      for (const r of [
        await h.app.inject({ method: 'GET', url: '/healthz' }),
        await h.call(null, { method: 'GET', url: '/api/v1/sources' }),
        await h.call('viewerA', { method: 'GET', url: '/api/v1/sources' }),
        await h.call(null, { method: 'GET', url: '/api/v1/nope' }),
      ]) {
        expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect(r.headers['x-content-type-options']).toBe('nosniff');
        expect(r.headers['x-frame-options']).toBe('DENY');
        expect(r.headers['referrer-policy']).toBe('no-referrer');
        expect(r.headers['content-security-policy']).toContain("default-src 'none'");
        expect(r.headers['cache-control']).toBe('no-store');
        expect(r.headers['access-control-allow-origin']).toBeUndefined();
      }
    });

    it('keeps a request id the client sent, unless it is not a plain token', async () => {
      const r = await h.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-request-id': 'abc-123' },
      });
      expect(r.headers['x-request-id']).toBe('abc-123');
      const junk = await h.app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { 'x-request-id': `x\u0007${'y'.repeat(300)}` },
      });
      expect(junk.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('sends CORS headers for configured origins only', async () => {
      const app = await appWith({ CORS_ORIGINS: 'https://console.example' });
      const preflight = await app.inject({
        method: 'OPTIONS',
        url: '/api/v1/sources',
        headers: {
          origin: 'https://console.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-tenant',
        },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://console.example');
      expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toContain('x-tenant');
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

      // A refused request still carries them, so the browser lets the client read the problem.
      const refused = await app.inject({
        method: 'GET',
        url: '/api/v1/sources',
        headers: { origin: 'https://console.example' },
      });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['access-control-allow-origin']).toBe('https://console.example');
      expect(String(refused.headers['access-control-expose-headers'])).toContain('X-Request-Id');

      const other = await app.inject({
        method: 'GET',
        url: '/healthz',
        headers: { origin: 'https://evil.example' },
      });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('bad input is a 4xx problem, never a 500', () => {
    const problemOf = (r: { statusCode: number; headers: Json; json: () => Json }, status: number) => {
      expect(r.statusCode).toBe(status);
      expect(String(r.headers['content-type'])).toContain('application/problem+json');
      const body = r.json();
      expect(body).toMatchObject({
        status,
        type: expect.stringContaining('https://'),
        title: expect.any(String),
      });
      return body;
    };

    it('names every offending body field, unknown ones included', async () => {
      const r = await h.call('adminA', {
        method: 'POST',
        url: '/api/v1/sources',
        payload: {
          name: '',
          type: 'toaster',
          ip: 'not-an-ip',
          port: 70000,
          protocol: 'syslog',
          colour: 'red',
        },
      });
      const body = problemOf(r, 400);
      expect(body.code).toBe('validation');
      const paths = (body.errors as { path: string }[]).map((e) => e.path).sort();
      expect(paths).toEqual(['colour', 'ip', 'name', 'port', 'type']);
      expect(body.errors).toContainEqual({ path: 'colour', message: 'unknown field' });
    });

    it('names nested fields by dotted path', async () => {
      const r = await h.call('adminA', {
        method: 'POST',
        url: '/api/v1/incidents',
        payload: { title: 'x', tags: ['ok', ''] },
      });
      const body = problemOf(r, 400);
      expect((body.errors as { path: string }[]).map((e) => e.path)).toEqual(['tags.1']);
    });

    it('refuses unknown and malformed query parameters', async () => {
      const r = await h.call('viewerA', { method: 'GET', url: '/api/v1/sources?colour=red&limit=0' });
      const body = problemOf(r, 400);
      expect((body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['colour', 'limit']);
      const noQuery = await h.call('viewerA', {
        method: 'GET',
        url: '/api/v1/sources/00000000-0000-4000-8000-000000000000?x=1',
      });
      expect(problemOf(noQuery, 400).errors).toEqual([{ path: 'x', message: 'unknown field' }]);
      const sort = await h.call('viewerA', { method: 'GET', url: '/api/v1/sources?sort=password' });
      expect(problemOf(sort, 400).errors).toEqual([
        { path: 'sort', message: expect.stringContaining('name') },
      ]);
    });

    it('answers malformed JSON, other content types, missing and oversized bodies', async () => {
      const bad = await h.call('adminA', {
        method: 'POST',
        url: '/api/v1/sources',
        payload: '{"name": ',
        headers: { 'content-type': 'application/json' },
      });
      expect(problemOf(bad, 400).code).toBe('bad_request');
      const text = await h.call('adminA', {
        method: 'POST',
        url: '/api/v1/sources',
        payload: 'name=x',
        headers: { 'content-type': 'text/plain' },
      });
      expect(problemOf(text, 415).code).toBe('unsupported_media_type');
      const form = await h.call('adminA', {
        method: 'POST',
        url: '/api/v1/sources',
        payload: 'name=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      problemOf(form, 415);
      const none = await h.call('adminA', { method: 'POST', url: '/api/v1/sources' });
      expect(problemOf(none, 400).errors).toEqual([{ path: 'body', message: expect.any(String) }]);
      const proto = await h.call('adminA', {
        method: 'POST',
        url: '/api/v1/sources',
        payload: '{"__proto__": {"admin": true}}',
        headers: { 'content-type': 'application/json' },
      });
      problemOf(proto, 400);

      const small = await appWith({ VIGIL__SERVER__BODY_LIMIT_BYTES: '1024' });
      const big = await small.inject({
        method: 'POST',
        url: '/api/v1/sources',
        headers: h.as('adminA'),
        payload: { name: 'x'.repeat(5000) },
      });
      expect(problemOf(big, 413).code).toBe('payload_too_large');
    });

    it('answers a malformed id with 400 and an unknown one with 404', async () => {
      const malformed = await h.call('viewerA', { method: 'GET', url: '/api/v1/sources/42' });
      expect(problemOf(malformed, 400).errors).toEqual([{ path: 'id', message: expect.any(String) }]);
      const unknown = await h.call('viewerA', { method: 'GET', url: sampleUrl('/api/v1/sources/:id') });
      expect(problemOf(unknown, 404).code).toBe('not_found');
    });

    it('answers urls the router refuses (bad escapes, over-long parameters) with problems', async () => {
      const long = await h.call('viewerA', { method: 'GET', url: `/api/v1/sources/${'x'.repeat(200)}` });
      expect(problemOf(long, 414).code).toBe('uri_too_long');
      expect(long.headers['x-request-id']).toBeTruthy();
      const escape = await h.call('viewerA', { method: 'GET', url: '/api/v1/sources/%E0%A4%A' });
      expect(problemOf(escape, 400).code).toBe('bad_request');
    });

    it('answers unknown routes and methods with a 404 problem', async () => {
      expect(problemOf(await h.call(null, { method: 'GET', url: '/api/v1/nope' }), 404).code).toBe(
        'not_found',
      );
      problemOf(await h.call('adminA', { method: 'PUT', url: '/api/v1/sources' }), 404);
    });
  });

  describe('authentication', () => {
    it('answers 401 with a challenge for missing, bad or ambiguous credentials', async () => {
      const cases: Record<string, string>[] = [
        {},
        { authorization: 'Bearer nope' },
        { authorization: 'Basic dXNlcjpwYXNz' },
        { authorization: 'Bearer' },
        { authorization: 'Bearer a b' },
        { 'x-api-key': '' },
        { 'x-api-key': 'wrong' },
        { authorization: 'ApiKey wrong' },
        { authorization: `Bearer token-admin-a`, 'x-api-key': 'vk_test_key_a' },
      ];
      for (const headers of cases) {
        const r = await h.app.inject({ method: 'GET', url: '/api/v1/sources', headers });
        expect(r.statusCode, JSON.stringify(headers)).toBe(401);
        expect(r.headers['www-authenticate']).toContain('Bearer realm="vigil"');
        expect(r.json()).toMatchObject({ status: 401, code: 'unauthorized' });
      }
    });

    it('accepts an API key in X-API-Key or as Authorization: ApiKey, and passes the request meta', async () => {
      for (const headers of [{ 'x-api-key': 'vk_test_key_a' }, { authorization: 'ApiKey vk_test_key_a' }]) {
        const r = await h.app.inject({
          method: 'GET',
          url: '/api/v1/sources',
          headers: { ...headers, 'user-agent': 'vigil-test/1' },
        });
        expect(r.statusCode).toBe(200);
      }
      const last = h.auth.calls.at(-1)!;
      expect(last).toMatchObject({
        method: 'authenticateApiKey',
        credential: 'vk_test_key_a',
        meta: { ip: '127.0.0.1', userAgent: 'vigil-test/1' },
      });
    });

    it('passes X-Tenant (id or slug) to the AuthApi and acts in that tenant', async () => {
      const bySlug = await h.call('sre', {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { 'x-tenant': h.tenantA.slug },
      });
      expect(bySlug.json()).toMatchObject({ tenantId: h.tenantA.id, crossTenant: true });
      expect(h.auth.calls.at(-1)!.meta.tenant).toBe(h.tenantA.slug);
      const byId = await h.call('sre', {
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { 'x-tenant': h.tenantB.id },
      });
      expect(byId.json()).toMatchObject({ tenantId: h.tenantB.id });
    });

    it('refuses a malformed X-Tenant (400), a tenant the caller may not enter (403), none when needed (400)', async () => {
      const bad = await h.call('viewerA', {
        method: 'GET',
        url: '/api/v1/sources',
        headers: { 'x-tenant': "a' or 1=1" },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors).toEqual([{ path: 'X-Tenant', message: expect.any(String) }]);
      const other = await h.call('viewerA', {
        method: 'GET',
        url: '/api/v1/sources',
        headers: { 'x-tenant': h.tenantB.slug },
      });
      expect(other.statusCode).toBe(403);
      const none = await h.call('sre', { method: 'GET', url: '/api/v1/sources' });
      expect(none.statusCode).toBe(400);
      expect(none.json().errors).toEqual([{ path: 'X-Tenant', message: 'required for this route' }]);
    });

    it('answers 503 on protected routes while no AuthApi is wired; public routes still work', async () => {
      const app = await appWith({}, false);
      const r = await app.inject({ method: 'GET', url: '/api/v1/sources', headers: h.as('adminA') });
      expect(r.statusCode).toBe(503);
      expect(r.json()).toMatchObject({ status: 503, code: 'unavailable' });
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { login: 'a', password: 'b' },
      });
      expect(login.statusCode).toBe(503);
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/api/openapi.json' })).statusCode).toBe(200);
    });
  });

  describe('route registry', () => {
    it('lists every API route with its permission', () => {
      const got = apiRoutes(h.app).map((r) => [
        r.method,
        r.url,
        r.permission ?? (r.auth === 'public' ? 'public' : 'authenticated'),
      ]);
      expect(got).toEqual(EXPECTED_API_ROUTES);
    });

    it('refuses, at registration, an API route that does not say who may call it or lacks schemas', () => {
      const f = Fastify();
      registerRouteRegistry(f);
      expect(() => f.get('/api/v1/x', async () => 1)).toThrow(/config\.permission/);
      expect(() => f.get('/api/v1/y', { config: { permission: 'sources:read' } }, async () => 1)).toThrow(
        /schema\.response/,
      );
      expect(() =>
        f.post('/api/v1/z', { config: { auth: 'authenticated' }, schema: { response: {} } }, async () => 1),
      ).toThrow(/schema\.body/);
      expect(() =>
        f.get(
          '/api/v1/w/:id',
          { config: { permission: 'sources:read', auth: 'public' }, schema: { response: {} } },
          async () => 1,
        ),
      ).toThrow(/not both/);
    });

    it('enforces each route permission for every caller (the permission matrix)', async () => {
      const perms: Record<Caller, Set<string>> = {} as Record<Caller, Set<string>>;
      for (const who of CALLERS) {
        const me = await h.call(who, { method: 'GET', url: '/api/v1/auth/me' });
        expect(me.statusCode).toBe(200);
        perms[who] = new Set(me.json().permissions as string[]);
      }
      for (const r of apiRoutes(h.app).filter((x) => x.permission)) {
        for (const who of CALLERS) {
          const res = await h.call(who, {
            method: r.method as 'GET',
            url: sampleUrl(r.url),
            ...(['POST', 'PATCH'].includes(r.method) ? { payload: {} } : {}),
          });
          const label = `${who} ${r.method} ${r.url}`;
          if (perms[who].has(r.permission!)) {
            expect(res.statusCode, label).not.toBe(401);
            expect(res.statusCode, label).not.toBe(403);
            expect(res.statusCode, label).toBeLessThan(500);
          } else {
            expect(res.statusCode, label).toBe(403);
            expect(res.json(), label).toMatchObject({
              code: 'forbidden',
              detail: expect.stringContaining(r.permission!),
            });
          }
        }
      }
      // What the roles make of it, spelled out for the resources of this file.
      expect(perms.viewerA.has('sources:write')).toBe(false);
      expect(perms.analystA.has('incidents:write')).toBe(true);
      expect(perms.analystA.has('sources:write')).toBe(false);
      expect(perms.adminA.has('audit:verify')).toBe(true);
      expect(perms.viewerA.has('audit:read')).toBe(false);
    });
  });
});
