/**
 * The eIM's own configuration, for provisioning devices (SGP.32 v1.2 §2.11, ES10b.AddInitialEim): the
 * EimConfigurationData the eUICC will hold for this eIM and the AddInitialEimRequest DER (hex), the same JSON
 * `eim config show` prints. No secret is part of it.
 */
import type { FastifyPluginAsync } from 'fastify';
import { EimConfigurationData } from '../../asn1/eim-configuration.js';
import { toHex } from '../../asn1/hex.js';
import { addInitialEimRequest, eimConfigurationData } from '../../eim/identity.js';
import type { ApiContext } from '../context.js';
import { errorResponses } from '../schemas/common.js';

export const eimRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.get('/v1/eim/configuration', {
    schema: {
      summary: "The eIM's EimConfigurationData and AddInitialEimRequest (hex) for factory provisioning",
      tags: ['eim'],
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          counterValue: { type: 'integer', minimum: 0, maximum: 0x7fffff, default: 0 },
          associationToken: { type: 'integer', minimum: -1, maximum: 0x7fffffff, default: -1 },
        },
      },
      response: {
        200: { type: 'object', required: ['eimConfigurationData', 'addInitialEimRequest'], properties: { eimConfigurationData: { type: 'object', additionalProperties: true }, addInitialEimRequest: { type: 'string' } } },
        ...errorResponses(400),
      },
    },
    handler: async (request) => {
      const q = request.query as { counterValue: number; associationToken: number };
      const identity = ctx.core.identity;
      return {
        eimConfigurationData: EimConfigurationData.toJson(eimConfigurationData(identity, q)),
        addInitialEimRequest: toHex(addInitialEimRequest(identity, q)),
      };
    },
  });
};
