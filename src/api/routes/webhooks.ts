/**
 * Webhook subscriptions: a URL, the event types it wants, and the secret of its HMAC-SHA256 signature. A new
 * subscription receives the events published after it was created, in order, from the durable outbox
 * (delivered by WebhookDispatcher). The secret is never returned.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../../store/errors.js';
import type { WebhookRecord } from '../../store/api-store.js';
import type { ApiContext } from '../context.js';
import { errorResponses, idParams } from '../schemas/common.js';
import { webhookSchema } from '../schemas/records.js';
import { webhookView } from '../views.js';

export const webhookRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.post('/v1/webhooks', {
    config: { role: 'admin' },
    schema: {
      summary: 'Subscribe a URL to events (POSTed with X-Eim-Signature: sha256=<hex HMAC-SHA256(secret, body)>)',
      tags: ['webhooks'],
      body: {
        type: 'object',
        required: ['url', 'eventTypes', 'secret'],
        additionalProperties: false,
        properties: {
          url: { type: 'string', format: 'uri', pattern: '^https?://', maxLength: 2048 },
          eventTypes: { type: 'array', minItems: 1, maxItems: 64, uniqueItems: true, items: { type: 'string', pattern: '^(\\*|[a-z0-9-]+(\\.[a-z0-9-]+)*(\\.\\*)?)$' } },
          secret: { type: 'string', minLength: 16, maxLength: 256, description: 'HMAC key; never returned' },
        },
      },
      response: { 201: webhookSchema, ...errorResponses(400) },
    },
    handler: async (request, reply) => {
      const body = request.body as { url: string; eventTypes: string[]; secret: string };
      // Wait for events already published, so "after creation" means after everything the caller could see.
      await ctx.events.flush();
      const record: WebhookRecord = {
        id: randomUUID(),
        url: body.url,
        eventTypes: body.eventTypes,
        secret: body.secret,
        createdAt: ctx.now(),
        deliveredSeq: await ctx.apiStore.lastEventSeq(),
        attempts: 0,
      };
      await ctx.apiStore.insertWebhook(record);
      return reply.code(201).header('location', `/v1/webhooks/${record.id}`).send(webhookView(record));
    },
  });

  app.get('/v1/webhooks', {
    config: { role: 'admin' },
    schema: {
      summary: 'List webhook subscriptions with their delivery state',
      tags: ['webhooks'],
      response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: webhookSchema } } }, ...errorResponses() },
    },
    handler: async () => ({ items: (await ctx.apiStore.listWebhooks()).map(webhookView) }),
  });

  app.get('/v1/webhooks/:id', {
    config: { role: 'admin' },
    schema: { summary: 'Get a webhook subscription', tags: ['webhooks'], params: idParams, response: { 200: webhookSchema, ...errorResponses(404) } },
    handler: async (request) => {
      const { id } = request.params as { id: string };
      const w = await ctx.apiStore.getWebhook(id);
      if (w === undefined) throw new NotFoundError(`webhook ${id} does not exist`);
      return webhookView(w);
    },
  });

  app.delete('/v1/webhooks/:id', {
    config: { role: 'admin' },
    schema: { summary: 'Delete a webhook subscription', tags: ['webhooks'], params: idParams, response: { 204: { type: 'null' }, ...errorResponses(404) } },
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!(await ctx.apiStore.deleteWebhook(id))) throw new NotFoundError(`webhook ${id} does not exist`);
      return reply.code(204).send();
    },
  });
};
