/**
 * /api/v1/rules: a tenant's detection rules (same pattern as source.route.ts). A PATCH that changes anything
 * keeps the previous row in the rule's version history and bumps `version` (RuleRepository.update);
 * GET /rules/:id/versions lists that history, newest first.
 */
import { z } from 'zod';
import { RULE_STATUSES, RULE_TYPES, SEVERITIES } from '../../domain/enums.ts';
import { ruleCreateSchema, ruleFiltersSchema, ruleUpdateSchema } from '../../domain/schemas/rule.schema.ts';
import { actorOf, tenantOf } from '../plugins/auth.plugin.ts';
import { API_PREFIX } from '../route-registry.ts';
import {
  AUTHENTICATED_PROBLEMS,
  idParams,
  listOptions,
  listQuery,
  noContent,
  pageSchema,
  problems,
  timestamp,
} from '../schemas.ts';
import type { ApiServices } from '../services.ts';
import type { ApiApp } from '../types.ts';

const json = z.record(z.string(), z.unknown());

export const ruleSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    ruleNumber: z.string().describe('RULE-000001: per tenant'),
    name: z.string(),
    description: z.string().nullable(),
    ruleType: z.enum(RULE_TYPES),
    severity: z.enum(SEVERITIES),
    status: z.enum(RULE_STATUSES),
    query: z.string().nullable(),
    conditions: json.nullable(),
    threshold: json.nullable(),
    correlation: json.nullable(),
    definition: json.nullable(),
    sigmaYaml: z.string().nullable(),
    sigmaId: z.string().nullable(),
    logsource: json.nullable(),
    enabled: z.boolean(),
    tags: z.array(z.string()),
    references: z.array(z.unknown()),
    techniques: z.array(z.string()),
    falsePositives: z.array(z.string()),
    falsePositiveRate: z.number().nullable(),
    author: z.string().nullable(),
    actions: z.array(z.unknown()),
    customFields: json,
    lastExecuted: timestamp.nullable(),
    createdBy: z.string(),
    updatedBy: z.string().nullable(),
    version: z.number().int().describe('1 on create; every change adds one'),
    metrics: json.describe('Execution statistics'),
    parentRuleId: z.uuid().nullable(),
    relatedRules: z.array(z.string()),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Rule', description: 'A detection rule of a tenant' });

export const ruleVersionSchema = z
  .object({
    ruleId: z.uuid(),
    version: z.number().int(),
    snapshot: json.describe('The rule as it was at this version'),
    changedBy: z.string().nullable(),
    changedAt: timestamp,
  })
  .meta({ id: 'RuleVersion', description: 'A saved version of a detection rule' });

const importSummarySchema = z
  .object({
    files: z.number().int(),
    loaded: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    unsupported: z.array(
      z.object({
        file: z.string(),
        line: z.number().int(),
        id: z.string().optional(),
        title: z.string().optional(),
        reason: z.string(),
      }),
    ),
  })
  .meta({
    id: 'RuleImportSummary',
    description: 'What a Sigma import loaded, updated, left alone or refused',
  });

const BASE = `${API_PREFIX}/rules`;
const TAGS = ['rules'];

export function registerRuleRoutes(app: ApiApp, services: ApiServices): void {
  const { rules } = services;

  app.get(
    BASE,
    {
      config: { permission: 'rules:read' },
      schema: {
        operationId: 'listRules',
        summary: 'List rules',
        tags: TAGS,
        querystring: listQuery(ruleFiltersSchema.shape),
        response: { 200: pageSchema(ruleSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => rules.list(tenantOf(req), listOptions(req.query)),
  );

  app.post(
    `${BASE}/import`,
    {
      config: { permission: 'rules:write' },
      schema: {
        operationId: 'importSigmaRules',
        summary: 'Import Sigma rule files',
        description:
          'The files travel in the body (never a server path). Rules are identified by their Sigma id: a ' +
          'rerun updates changed rules and never duplicates. Rules that cannot run are listed with the reason.',
        tags: TAGS,
        body: z
          .object({
            files: z
              .array(
                z.object({ name: z.string().min(1).max(1024), content: z.string().max(1_000_000) }).strict(),
              )
              .min(1)
              .max(10_000),
          })
          .strict(),
        response: { 200: importSummarySchema, ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => {
      const actor = actorOf(req);
      return services.ruleImport.importSigmaTexts(
        tenantOf(req),
        req.body.files.map((f) => ({ file: f.name, text: f.content })),
        {
          name: actor.principal.name,
          userId: actor.principal.kind === 'user' ? actor.principal.id : null,
          ip: actor.meta.ip ?? null,
          userAgent: actor.meta.userAgent ?? null,
        },
      );
    },
  );

  app.post(
    `${BASE}/:id/backtest`,
    {
      config: { permission: 'rules:read' },
      schema: {
        operationId: 'backtestRule',
        summary: 'Run a rule over the stored history without creating alerts',
        tags: TAGS,
        params: idParams,
        body: z.object({}).strict().optional(),
        response: {
          200: z.object({
            ruleId: z.uuid(),
            scanned: z.number().int(),
            hits: z.number().int(),
            elapsedMs: z.number(),
            events: z.array(
              z.object({
                id: z.string(),
                seq: z.number().int(),
                timestamp,
                host: z.string().nullable(),
                hostname: z.string().nullable(),
                srcIp: z.string().nullable(),
                dstIp: z.string().nullable(),
                user: z.string().nullable(),
                sourceId: z.string().nullable(),
              }),
            ),
          }),
          ...problems(400, 404, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => services.detection.backtest(tenantOf(req), req.params.id),
  );

  app.get(
    `${API_PREFIX}/detection/runs`,
    {
      config: { permission: 'rules:read' },
      schema: {
        operationId: 'listDetectionRuns',
        summary: 'Detection runs, newest first: successes, failures and gaps',
        tags: TAGS,
        querystring: z
          .object({
            ruleId: z.uuid().optional(),
            status: z.enum(['success', 'failed', 'gap']).optional(),
            limit: z.coerce.number().int().min(1).max(1000).optional(),
          })
          .strict(),
        response: {
          200: z.object({ items: z.array(z.object({ id: z.uuid(), status: z.string() }).loose()) }),
          ...problems(400, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => ({ items: await services.detection.runs(tenantOf(req), req.query) }),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'rules:read' },
      schema: {
        operationId: 'getRule',
        summary: 'Get a rule',
        tags: TAGS,
        params: idParams,
        response: { 200: ruleSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => rules.get(tenantOf(req), req.params.id),
  );

  app.get(
    `${BASE}/:id/versions`,
    {
      config: { permission: 'rules:read' },
      schema: {
        operationId: 'listRuleVersions',
        summary: 'List the saved versions of a rule',
        description: 'Newest first; each holds the rule as it was before the change that replaced it.',
        tags: TAGS,
        params: idParams,
        response: {
          200: z.object({ items: z.array(ruleVersionSchema) }),
          ...problems(400, 404, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => ({ items: await rules.versions(tenantOf(req), req.params.id) }),
  );

  app.post(
    BASE,
    {
      config: { permission: 'rules:write' },
      schema: {
        operationId: 'createRule',
        summary: 'Create a rule',
        description: 'The tenant’s next RULE- number is assigned unless `ruleNumber` is given (an import).',
        tags: TAGS,
        body: ruleCreateSchema.strict(),
        response: { 201: ruleSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await rules.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'rules:write' },
      schema: {
        operationId: 'updateRule',
        summary: 'Change a rule',
        description:
          'Only the fields given change. A change keeps the previous row as a version and bumps `version`.',
        tags: TAGS,
        params: idParams,
        body: ruleUpdateSchema.strict(),
        response: { 200: ruleSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => rules.update(tenantOf(req), req.params.id, req.body, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'rules:write' },
      schema: {
        operationId: 'deleteRule',
        summary: 'Delete a rule',
        description: 'Its versions go with it; its alerts and child rules stay, without the reference.',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await rules.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
