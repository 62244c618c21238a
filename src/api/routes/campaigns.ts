/**
 * REST routes for fleet campaigns under the prefix the app gives (/v1): create, list, get with progress and
 * ETA, pause, resume, cancel. Every body, query and parameter is checked by JSON Schema; responses are
 * serialised through schemas too, so the OpenAPI document can be generated from them. Times are ISO 8601.
 *
 * Options (explicit so the app's buildApp can wire them):
 * - `campaigns`: the CampaignService (src/scheduler CampaignRunner).
 * - `authorize(role)`: a preHandler factory from the API's auth plugin; each route asks for 'read' or
 *   'operate'. Omitted, routes are open (tests).
 * - `actorOf(request)`: who is calling, for the audit trail; default 'api'.
 * Errors are thrown as EimErrors (EIM_ERR_NOT_FOUND, EIM_ERR_CONFLICT, EIM_ERR_INVALID_ARGUMENT) for the
 * app's error handler to map to 404 / 409 / 400.
 */
import type { FastifyPluginAsync, FastifyRequest, preHandlerHookHandler } from 'fastify';
import type { CampaignInput, CampaignService, CampaignView } from '../../scheduler/campaign.js';
import type { CampaignRecord } from '../../store/campaign-store.js';
import { NotFoundError } from '../../store/errors.js';
import { OPERATION_STATES } from '../../store/records.js';
import { dateTimeSchema } from '../schemas/common.js';

export type CampaignRole = 'read' | 'operate' | 'admin';

export interface CampaignRoutesOptions {
  readonly campaigns: CampaignService;
  readonly authorize?: (role: CampaignRole) => preHandlerHookHandler;
  readonly actorOf?: (request: FastifyRequest) => string;
}

const EID = { type: 'string', pattern: '^[0-9]{32}$' } as const;
const HHMM = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;
const STATE = { type: 'string', enum: ['scheduled', 'running', 'paused', 'completed', 'cancelled'] } as const;
const COUNTS = {
  type: 'object',
  properties: Object.fromEntries(OPERATION_STATES.map((k) => [k, { type: 'integer' }])),
} as const;
const WINDOW = {
  type: 'object',
  required: ['start', 'end', 'timeZone'],
  additionalProperties: false,
  properties: { start: HHMM, end: HHMM, timeZone: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const TARGET = {
  type: 'object',
  description: 'Exactly one of eids, label, filter.',
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: false,
  properties: {
    eids: { type: 'array', items: EID, minItems: 1, maxItems: 1_000_000 },
    label: { type: 'string', minLength: 1, maxLength: 128 },
    filter: {
      type: 'object',
      additionalProperties: false,
      properties: {
        label: { type: 'string', minLength: 1, maxLength: 128 },
        profile: {
          type: 'object',
          required: ['iccid'],
          additionalProperties: false,
          properties: { iccid: { type: 'string', pattern: '^[0-9]{18,20}[Ff]?$' }, state: { type: 'string', enum: ['enabled', 'disabled', 'unknown'] } },
        },
        lastContactBefore: dateTimeSchema,
        lastContactAfter: dateTimeSchema,
      },
    },
  },
} as const;

const CREATE_BODY = {
  type: 'object',
  required: ['request', 'target', 'rate', 'maxInFlight'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 200 },
    request: { type: 'object', required: ['kind'], properties: { kind: { type: 'string' } }, description: 'An operation request, as POST /v1/euiccs/:eid/operations takes.' },
    target: TARGET,
    startAt: dateTimeSchema,
    window: WINDOW,
    rate: { type: 'number', exclusiveMinimum: 0, maximum: 100_000, description: 'Operations released per second.' },
    maxInFlight: { type: 'integer', minimum: 1 },
    canaryShare: { type: 'number', minimum: 0, maximum: 1 },
    failureThreshold: { type: 'number', minimum: 0, maximum: 1 },
    minResultsForThreshold: { type: 'integer', minimum: 1 },
    deviceExpirySeconds: { type: 'integer', minimum: 1 },
  },
} as const;

const CAMPAIGN_PROPS = {
  id: { type: 'string' },
  name: { type: 'string' },
  request: { type: 'object', additionalProperties: true },
  target: { type: 'object', additionalProperties: true },
  startAt: dateTimeSchema,
  window: WINDOW,
  rate: { type: 'number' },
  maxInFlight: { type: 'integer' },
  canaryShare: { type: 'number' },
  failureThreshold: { type: 'number' },
  minResultsForThreshold: { type: 'integer' },
  deviceExpirySeconds: { type: 'integer' },
  state: STATE,
  phase: { type: 'string', enum: ['canary', 'main'] },
  pausedReason: { type: 'string' },
  createdBy: { type: 'string' },
  createdAt: dateTimeSchema,
  updatedAt: dateTimeSchema,
  completedAt: dateTimeSchema,
} as const;

const CAMPAIGN = { type: 'object', properties: CAMPAIGN_PROPS } as const;
const CAMPAIGN_VIEW = {
  type: 'object',
  properties: {
    ...CAMPAIGN_PROPS,
    progress: {
      type: 'object',
      properties: {
        total: { type: 'integer' },
        released: { type: 'integer' },
        skipped: { type: 'integer' },
        inFlight: { type: 'integer' },
        byState: COUNTS,
        canary: { type: 'object', properties: { total: { type: 'integer' }, byState: COUNTS } },
        failureRate: { type: 'number' },
      },
    },
    eta: { type: 'object', properties: { at: dateTimeSchema, unknownWakeups: { type: 'integer' } } },
  },
} as const;
const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

type CreateBody = Omit<CampaignInput, 'startAt' | 'deviceExpiryMs' | 'target'> & {
  startAt?: string;
  deviceExpirySeconds?: number;
  target: { eids?: string[]; label?: string; filter?: { label?: string; profile?: { iccid: string; state?: 'enabled' | 'disabled' | 'unknown' }; lastContactBefore?: string; lastContactAfter?: string } };
};

const iso = (ms: number): string => new Date(ms).toISOString();

/** A campaign record as the API shows it: ISO times, expiry in seconds. */
export function campaignJson(c: CampaignRecord): Record<string, unknown> {
  const { startAt, createdAt, updatedAt, completedAt, deviceExpiryMs, total: _t, cursor: _c, canaryCount: _k, baselineFinished: _bf, baselineFailed: _bx, ...rest } = c;
  return {
    ...rest,
    startAt: iso(startAt),
    createdAt: iso(createdAt),
    updatedAt: iso(updatedAt),
    ...(completedAt !== undefined ? { completedAt: iso(completedAt) } : {}),
    ...(deviceExpiryMs !== undefined ? { deviceExpirySeconds: Math.round(deviceExpiryMs / 1000) } : {}),
  };
}

function viewJson(v: CampaignView): Record<string, unknown> {
  return { ...campaignJson(v), progress: v.progress, eta: { ...(v.eta.at !== undefined ? { at: iso(v.eta.at) } : {}), unknownWakeups: v.eta.unknownWakeups } };
}

function toInput(b: CreateBody): CampaignInput {
  const t = b.target;
  const target: CampaignInput['target'] =
    t.eids !== undefined
      ? { eids: t.eids }
      : t.label !== undefined
        ? { label: t.label }
        : {
            filter: {
              ...(t.filter?.label !== undefined ? { label: t.filter.label } : {}),
              ...(t.filter?.profile !== undefined ? { profile: t.filter.profile } : {}),
              ...(t.filter?.lastContactBefore !== undefined ? { lastContactBefore: Date.parse(t.filter.lastContactBefore) } : {}),
              ...(t.filter?.lastContactAfter !== undefined ? { lastContactAfter: Date.parse(t.filter.lastContactAfter) } : {}),
            },
          };
  const { startAt, deviceExpirySeconds, target: _t, ...rest } = b;
  return {
    ...rest,
    target,
    ...(startAt !== undefined ? { startAt: Date.parse(startAt) } : {}),
    ...(deviceExpirySeconds !== undefined ? { deviceExpiryMs: deviceExpirySeconds * 1000 } : {}),
  };
}

export const campaignRoutes: FastifyPluginAsync<CampaignRoutesOptions> = async (app, options) => {
  const { campaigns } = options;
  const guard = (role: CampaignRole): { preHandler?: preHandlerHookHandler } => (options.authorize !== undefined ? { preHandler: options.authorize(role) } : {});
  const actorOf = options.actorOf ?? (() => 'api');

  app.post<{ Body: CreateBody }>(
    '/campaigns',
    // An EID list of a big fleet is larger than fastify's default 1 MiB body: 16 MiB is about 450,000 EIDs.
    { ...guard('operate'), bodyLimit: 16 * 1024 * 1024, schema: { tags: ['campaigns'], summary: 'Create a campaign', body: CREATE_BODY, response: { 201: CAMPAIGN_VIEW } } },
    async (request, reply) => {
      const view = await campaigns.create(toInput(request.body), actorOf(request));
      return reply.code(201).send(viewJson(view));
    },
  );

  app.get<{ Querystring: { state?: CampaignRecord['state']; cursor?: string; limit?: number } }>(
    '/campaigns',
    {
      ...guard('read'),
      schema: {
        tags: ['campaigns'],
        summary: 'List campaigns, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: STATE, cursor: { type: 'string', maxLength: 200 }, limit: { type: 'integer', minimum: 1, maximum: 1000 } },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: CAMPAIGN }, nextCursor: { type: 'string' } } } },
      },
    },
    async (request) => {
      const page = await campaigns.list(request.query);
      return { items: page.items.map(campaignJson), ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/campaigns/:id',
    { ...guard('read'), schema: { tags: ['campaigns'], summary: 'A campaign with progress and ETA', params: ID_PARAMS, response: { 200: CAMPAIGN_VIEW } } },
    async (request) => {
      const view = await campaigns.get(request.params.id);
      if (view === undefined) throw new NotFoundError(`campaign ${request.params.id} does not exist`);
      return viewJson(view);
    },
  );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post<{ Params: { id: string } }>(
      `/campaigns/:id/${action}`,
      { ...guard('operate'), schema: { tags: ['campaigns'], summary: `${action[0]!.toUpperCase()}${action.slice(1)} a campaign`, params: ID_PARAMS, response: { 200: CAMPAIGN_VIEW } } },
      async (request) => viewJson(await campaigns[action](request.params.id, actorOf(request))),
    );
  }
};
