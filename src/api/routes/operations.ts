/**
 * Operation routes: queue an operation on one eUICC (SGP.32 v1.2 §2.11 eIM packages, via EimCore.submit),
 * get, list and cancel. A POST with an `Idempotency-Key` header returns the operation the first POST with
 * that key created; the key is namespaced (`api:`) so it never meets the core's internal keys.
 */
import type { FastifyPluginAsync } from 'fastify';
import { assertEid } from '../../asn1/identifiers.js';
import { InvalidArgumentError } from '../../errors.js';
import { NotFoundError } from '../../store/errors.js';
import { OPERATION_STATES, type OperationState } from '../../store/records.js';
import type { OperationFilter } from '../../store/store.js';
import { type ApiContext, actorOf } from '../context.js';
import { ApiError } from '../errors.js';
import { eidParams, eidSchema, errorResponses, idParams, pageQueryProperties, pageSchema } from '../schemas/common.js';
import { operationRequestSchema } from '../schemas/operation-request.js';
import { operationSchema } from '../schemas/records.js';
import { operationView } from '../views.js';

const IDEMPOTENCY_PREFIX = 'api:';

function timeOf(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError(name, 'expected an ISO 8601 date-time');
  return t;
}

export const operationRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post('/v1/euiccs/:eid/operations', {
    config: { role: 'operate' },
    schema: {
      summary: 'Queue an operation on an eUICC; 202 with the operation',
      description: 'The body is an operation request told apart by `kind`. A retried POST with the same Idempotency-Key returns the same operation.',
      tags: ['operations'],
      params: eidParams,
      headers: {
        type: 'object',
        properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$', description: 'Makes a retried POST return the first operation' } },
      },
      body: operationRequestSchema,
      response: { 202: operationSchema, ...errorResponses(400, 404, 409) },
    },
    handler: async (request, reply) => {
      const { eid } = request.params as { eid: string };
      assertEid(eid);
      const { notBefore, expiresAt, ...operation } = request.body as { notBefore?: string; expiresAt?: string; kind: string };
      const key = request.headers['idempotency-key'];
      const idempotencyKey = typeof key === 'string' ? IDEMPOTENCY_PREFIX + key : undefined;
      if (idempotencyKey !== undefined) {
        const prior = await ctx.store.findOperationByIdempotencyKey(idempotencyKey);
        if (prior !== undefined) {
          if (prior.eid !== eid || prior.kind !== operation.kind) {
            throw new ApiError('EIM_ERR_CONFLICT', 'this Idempotency-Key was used for a different request', { operationId: prior.id });
          }
          return reply.code(202).header('idempotent-replayed', 'true').send(operationView(prior));
        }
      }
      const nb = timeOf(notBefore, 'notBefore');
      const ex = timeOf(expiresAt, 'expiresAt');
      const op = await ctx.core.submit(eid, operation, {
        actor: actorOf(request),
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
        ...(nb !== undefined ? { notBefore: nb } : {}),
        ...(ex !== undefined ? { expiresAt: ex } : {}),
      });
      return reply.code(202).header('location', `/v1/operations/${op.id}`).send(operationView(op));
    },
  });

  app.get('/v1/operations/:id', {
    schema: { summary: 'Get an operation', tags: ['operations'], params: idParams, response: { 200: operationSchema, ...errorResponses(404) } },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const op = await ctx.store.getOperation(id);
      if (op === undefined) throw new NotFoundError(`operation ${id} does not exist`);
      return operationView(op);
    },
  });

  app.get('/v1/operations', {
    schema: {
      summary: 'List operations (oldest first) with filters and cursor pagination',
      tags: ['operations'],
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          eid: eidSchema,
          state: { type: 'array', items: { type: 'string', enum: OPERATION_STATES }, description: 'Repeat to match any of several states' },
          kind: { type: 'string', maxLength: 64 },
          campaignId: { type: 'string', maxLength: 128 },
          ...pageQueryProperties,
        },
      },
      response: { 200: pageSchema(operationSchema), ...errorResponses(400) },
    },
    handler: async (request) => {
      const q = request.query as { eid?: string; state?: OperationState[]; kind?: string; campaignId?: string; cursor?: string; limit?: number };
      const filter: OperationFilter = {
        ...(q.eid !== undefined ? { eid: q.eid } : {}),
        ...(q.state !== undefined && q.state.length > 0 ? { state: q.state } : {}),
        ...(q.kind !== undefined ? { kind: q.kind } : {}),
        ...(q.campaignId !== undefined ? { campaignId: q.campaignId } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      };
      const page = await ctx.store.listOperations(filter);
      return { items: page.items.map(operationView), ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}) };
    },
  });

  app.post('/v1/operations/:id/cancel', {
    config: { role: 'operate' },
    schema: {
      summary: 'Cancel an operation that has not been sent yet (409 once sent)',
      tags: ['operations'],
      params: idParams,
      response: { 200: operationSchema, ...errorResponses(404, 409) },
    },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      return operationView(await ctx.core.cancel(id));
    },
  });
};
