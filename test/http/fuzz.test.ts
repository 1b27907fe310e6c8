/**
 * Property: whatever a client sends to any registered route (random bodies, content types, query strings,
 * ids, tenants, callers), the server answers with a status below 500, and API errors are problem bodies.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeRegistry } from '../../src/http/route-registry.ts';
import { engines } from '../helpers/db.ts';
import { CALLERS, createHttpFixture, sourceBody, type Caller, type HttpFixture } from '../helpers/http.ts';

/** Runs per route and engine. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);

/** Field names the routes know, so random objects often reach past the first validation error. */
const FIELDS = [
  'name',
  'type',
  'ip',
  'port',
  'protocol',
  'status',
  'criticality',
  'description',
  'notifications',
  'lastActivity',
  'title',
  'severity',
  'priority',
  'incidentType',
  'tags',
  'customFields',
  'occurredAt',
  'detectedAt',
  'incidentNumber',
  'parentIncidentId',
  'relatedIncidents',
  'timeline',
  'assignedTo',
  'login',
  'password',
  'tenant',
  'refreshToken',
  'endSessions',
  '__proto__',
  'constructor',
];
const QUERY_KEYS = [
  'limit',
  'offset',
  'sort',
  'q',
  'type',
  'status',
  'criticality',
  'severity',
  'priority',
  'incidentType',
  'assignedTo',
  'tag',
  'detectedFrom',
  'detectedTo',
  'exploited',
  'minCvss',
  'maxCvss',
  'vendor',
  'publishedFrom',
  'publishedTo',
  'action',
  'userId',
  'success',
  'resourceType',
  'resourceId',
  'ipAddress',
  'since',
  'until',
  '__proto__',
];
const PLAUSIBLE = [
  'firewall',
  'open',
  'closed',
  'resolved',
  'high',
  'critical',
  'medium',
  '10.0.0.1',
  '::1',
  514,
  0,
  -1,
  65536,
  1e308,
  'INC-000001',
  'INC-1',
  '2024-01-01T00:00:00Z',
  'not a date',
  '',
  ' ',
  'true',
  'false',
  true,
  null,
  '-name',
  'name',
  'password',
  '00000000-0000-4000-8000-000000000000',
  'CVE-2024-3094',
  'x'.repeat(300),
  "'; drop table sources; --",
  '%',
  '_',
  '\\',
  '\u0000',
  '😀',
];

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(...PLAUSIBLE.filter((v): v is string => typeof v === 'string')),
);
const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(...PLAUSIBLE));
const bodyObject = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), value, {
  maxKeys: 8,
});

/** Percent-encode every byte outside the unreserved set (works for lone surrogates too). */
function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');
}

const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => s.replace(/[\s#]/g, ''));

const queryString = fc.oneof(
  fc.constant(''),
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })),
        fc.oneof(text, fc.constantFrom('1', '500', '501', '-1', '1e3', 'NaN')),
      ),
      { maxLength: 5 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&')),
  printable,
);

type Payload =
  { kind: 'none' } | { kind: 'json'; body: unknown } | { kind: 'raw'; body: string; type: string };
const payload: fc.Arbitrary<Payload> = fc.oneof(
  fc.constant<Payload>({ kind: 'none' }),
  bodyObject.map<Payload>((body) => ({ kind: 'json', body })),
  fc.jsonValue({ maxDepth: 3 }).map<Payload>((body) => ({ kind: 'json', body })),
  fc.constant<Payload>({ kind: 'json', body: sourceBody() }),
  fc
    .tuple(
      fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.constantFrom('{', '{"a":', 'null', '[]', '{"__proto__":{"x":1}}', '"str"'),
      ),
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-16',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/problem+json',
        'application/octet-stream',
        'nonsense',
      ),
    )
    .map<Payload>(([body, type]) => ({ kind: 'raw', body, type })),
);

describe.each(engines())('fuzzing every route on %s', (engine) => {
  let h: HttpFixture;
  let realIds: string[];
  beforeAll(async () => {
    h = await createHttpFixture(engine);
    const s = await h.call('adminA', { method: 'POST', url: '/api/v1/sources', payload: sourceBody() });
    const i = await h.call('adminA', {
      method: 'POST',
      url: '/api/v1/incidents',
      payload: { title: 'seed' },
    });
    realIds = [s.json().id, i.json().id];
  });
  afterAll(async () => {
    await h?.dispose();
  });

  // FUZZ_RUNS=2000 for a deeper search (minutes); the default keeps the suite quick.
  it(
    'answers every route with < 500, and API errors as problems',
    { timeout: Math.max(60_000, RUNS * 1500) },
    async () => {
      const routes = routeRegistry(h.app);
      expect(routes.length).toBeGreaterThan(20);
      const id = fc.oneof(fc.uuid(), text, fc.constantFrom(...realIds, 'CVE-2024-3094', 'cve-2021-44228'));
      // A known caller, nobody, or an Authorization header of printable junk.
      const caller = fc.oneof(
        fc.constantFrom<Caller | null>(...CALLERS, null),
        fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((raw) => ({ raw })),
      );
      const tenant = fc.option(fc.oneof(fc.constantFrom(h.tenantA.slug, h.tenantB.id), printable), {
        nil: undefined,
      });

      for (const route of routes) {
        await fc.assert(
          fc.asyncProperty(
            caller,
            id,
            queryString,
            payload,
            tenant,
            async (who, idValue, qs, body, xTenant) => {
              const path = route.url.replace(/:\w+/g, () => pct(idValue)).replace('*', pct(idValue));
              const url = qs ? `${path}?${qs}` : path;
              const headers: Record<string, string> =
                who === null ? {} : typeof who === 'string' ? h.as(who) : { authorization: who.raw };
              if (xTenant !== undefined) headers['x-tenant'] = xTenant;
              const extra =
                body.kind === 'none'
                  ? {}
                  : body.kind === 'json'
                    ? {
                        payload: JSON.stringify(body.body) ?? 'null',
                        headers: { ...headers, 'content-type': 'application/json' },
                      }
                    : { payload: body.body, headers: { ...headers, 'content-type': body.type } };
              const res = await h.app.inject({
                method: route.method as 'GET',
                url,
                headers,
                ...extra,
              });
              const as = who === null ? 'anonymous' : typeof who === 'string' ? who : JSON.stringify(who);
              const where = `${route.method} ${url} as ${as} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
              expect(res.statusCode, where).toBeLessThan(500);
              if (res.statusCode >= 400 && route.url.startsWith('/api/v1/')) {
                expect(res.headers['content-type'], where).toContain('application/problem+json');
                expect(res.json(), where).toMatchObject({ status: res.statusCode, code: expect.any(String) });
              }
            },
          ),
          { numRuns: RUNS },
        );
      }
    },
  );
});
