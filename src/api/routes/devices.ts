/**
 * Device routes: the LwM2M registration view (OMA LwM2M 1.1.1 Core §6.2, queue mode Transport §6.5) from
 * the DeviceDirectory port, joined with the eUICC the device hosts. Without a directory (no LwM2M server
 * wired), the list is empty and every lookup is a 404.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { EuiccRecord } from '../../store/records.js';
import type { ApiContext } from '../context.js';
import type { DeviceView } from '../device-directory.js';
import { NotFoundError } from '../../store/errors.js';
import { errorResponses, pageQueryProperties, pageSchema } from '../schemas/common.js';
import { deviceSchema } from '../schemas/records.js';
import { deviceView } from '../views.js';
import { InvalidArgumentError } from '../../errors.js';

async function euiccOf(ctx: ApiContext, d: DeviceView): Promise<EuiccRecord | undefined> {
  if (d.eid !== undefined) return ctx.store.getEuicc(d.eid);
  return (await ctx.store.listEuiccs({ endpoint: d.endpoint, limit: 1 })).items[0];
}

function cursorOf(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  const endpoint = Buffer.from(cursor, 'base64url').toString('utf8');
  if (endpoint === '') throw new InvalidArgumentError('cursor', 'not a cursor returned by this listing');
  return endpoint;
}

export const deviceRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get('/v1/devices', {
    schema: {
      summary: 'Registered LwM2M devices (ordered by endpoint) joined with their eUICC',
      tags: ['devices'],
      querystring: { type: 'object', additionalProperties: false, properties: { awake: { type: 'boolean' }, ...pageQueryProperties } },
      response: { 200: pageSchema(deviceSchema), ...errorResponses(400) },
    },
    handler: async (request) => {
      const q = request.query as { awake?: boolean; cursor?: string; limit?: number };
      const after = cursorOf(q.cursor);
      const limit = q.limit ?? 100;
      const all = ctx.devices?.list(q.awake !== undefined ? { awake: q.awake } : {}) ?? [];
      const rest = after === undefined ? all : all.filter((d) => d.endpoint > after);
      const page = rest.slice(0, limit);
      const items = await Promise.all(page.map(async (d) => deviceView(d, await euiccOf(ctx, d))));
      const last = page[page.length - 1];
      return { items, ...(rest.length > limit && last !== undefined ? { nextCursor: Buffer.from(last.endpoint).toString('base64url') } : {}) };
    },
  });

  app.get('/v1/devices/:endpoint', {
    schema: {
      summary: 'One registered device, by endpoint name or by the EID it hosts',
      tags: ['devices'],
      params: { type: 'object', required: ['endpoint'], properties: { endpoint: { type: 'string', minLength: 1, maxLength: 255 } } },
      response: { 200: deviceSchema, ...errorResponses(404) },
    },
    handler: async (request) => {
      const { endpoint } = request.params as { endpoint: string };
      const d = ctx.devices?.get(endpoint);
      if (d === undefined) throw new NotFoundError(`no registered device ${endpoint}`);
      return deviceView(d, await euiccOf(ctx, d));
    },
  });
};
