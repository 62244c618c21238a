/** API token administration (admin role): create (the secret is shown once), list, revoke. */
import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../../store/errors.js';
import type { ApiRole } from '../../store/api-store.js';
import type { ApiContext } from '../context.js';
import { errorResponses, idParams } from '../schemas/common.js';
import { tokenSchema } from '../schemas/records.js';
import { createApiToken } from '../tokens.js';
import { tokenView } from '../views.js';

export const tokenRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post('/v1/tokens', {
    config: { role: 'admin' },
    schema: {
      summary: 'Create an API token; the token string is in this response only',
      tags: ['tokens'],
      body: {
        type: 'object',
        required: ['name', 'role'],
        additionalProperties: false,
        properties: { name: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' }, role: { type: 'string', enum: ['read', 'operate', 'admin'] } },
      },
      response: {
        201: { ...tokenSchema, required: [...tokenSchema.required, 'token'], properties: { ...tokenSchema.properties, token: { type: 'string', description: 'Bearer token; shown once' } } },
        ...errorResponses(400, 409),
      },
    },
    handler: async (request, reply) => {
      const body = request.body as { name: string; role: ApiRole };
      const { record, token } = await createApiToken(ctx.apiStore, { name: body.name, role: body.role, now: ctx.now() });
      return reply.code(201).send({ ...tokenView(record), token });
    },
  });

  app.get('/v1/tokens', {
    config: { role: 'admin' },
    schema: {
      summary: 'List API tokens (never their secrets)',
      tags: ['tokens'],
      response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: tokenSchema } } }, ...errorResponses() },
    },
    handler: async () => ({ items: (await ctx.apiStore.listTokens()).map(tokenView) }),
  });

  app.delete('/v1/tokens/:id', {
    config: { role: 'admin' },
    schema: { summary: 'Revoke an API token', tags: ['tokens'], params: idParams, response: { 204: { type: 'null' }, ...errorResponses(404) } },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!(await ctx.apiStore.deleteToken(id))) throw new NotFoundError(`token ${id} does not exist`);
      return reply.code(204).send();
    },
  });
};
