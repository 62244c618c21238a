/**
 * Operational endpoints outside /v1: /healthz (liveness, no token), /readyz (the stores answer) and /metrics
 * (Prometheus text exposition format 0.0.4).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { errorResponses, errorSchema } from '../schemas/common.js';

const PROBE_EID = '0'.repeat(32);

export const healthRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get('/healthz', {
    config: { public: true },
    schema: { summary: 'Liveness: the process answers (no token needed)', tags: ['health'], response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } },
    handler: async () => ({ status: 'ok' }),
  });

  app.get('/readyz', {
    schema: {
      summary: 'Readiness: the stores answer',
      tags: ['health'],
      response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, 503: errorSchema, ...errorResponses() },
    },
    handler: async (request) => {
      try {
        await ctx.store.getEuicc(PROBE_EID);
        await ctx.apiStore.countTokens();
      } catch (err) {
        request.log.warn({ err }, 'not ready: store unreachable');
        throw new ApiError('EIM_ERR_STORE', 'store unreachable');
      }
      return { status: 'ready' };
    },
  });

  app.get('/metrics', {
    config: { produces: 'text/plain; version=0.0.4' },
    schema: { summary: 'Prometheus metrics', tags: ['health'], response: { 200: { type: 'string', description: 'text/plain; version=0.0.4' }, ...errorResponses() } },
    handler: async (_request, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(await ctx.metrics.render()),
  });
};
