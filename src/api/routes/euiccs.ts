/**
 * eUICC registry routes: register one, import many (JSON array or CSV), get, list with filters and cursor
 * pagination, delete, replace labels, and an eUICC's profiles and their history. Registration goes through
 * EimCore.registerEuicc (which validates the certificate chain, SGP.32 v1.2 §2.5) and stores the device's
 * DTLS credential beside it.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { fromHex } from '../../asn1/hex.js';
import { assertEid } from '../../asn1/identifiers.js';
import { InvalidArgumentError } from '../../errors.js';
import { NotFoundError } from '../../store/errors.js';
import type { EuiccRecord, ProfileState } from '../../store/records.js';
import type { EuiccFilter } from '../../store/store.js';
import type { ApiContext } from '../context.js';
import { parseCsv } from '../csv.js';
import { ApiError, errorReply } from '../errors.js';
import { eidParams, errorResponses, pageSchema } from '../schemas/common.js';
import { euiccListQuery, importResultSchema, labelsSchema, registrationSchema } from '../schemas/euicc.js';
import { euiccSchema, profileHistorySchema, profileSchema } from '../schemas/records.js';
import { euiccView, profileHistoryView, profileView } from '../views.js';

export interface Registration {
  eid: string;
  endpoint?: string;
  labels?: string[];
  pskIdentity?: string;
  psk?: string;
  certificateFingerprint?: string;
  counterValue?: number;
  associationToken?: number;
  euiccCertificate?: string;
  eumCertificate?: string;
}

/**
 * Registers (or updates) one eUICC and its device credential; returns whether it is new. The core audits the
 * registration; the request itself is audited by the auth hooks.
 */
async function register(ctx: ApiContext, r: Registration): Promise<{ record: EuiccRecord; created: boolean }> {
  assertEid(r.eid);
  if ((r.pskIdentity === undefined) !== (r.psk === undefined)) throw new InvalidArgumentError('psk', 'give pskIdentity and psk together');
  const credential = r.pskIdentity !== undefined || r.certificateFingerprint !== undefined;
  if (credential && r.endpoint === undefined) throw new InvalidArgumentError('endpoint', 'a DTLS credential needs the device endpoint');
  const existing = await ctx.store.getEuicc(r.eid);
  const record = await ctx.core.registerEuicc({
    eid: r.eid,
    ...(r.endpoint !== undefined ? { endpoint: r.endpoint } : {}),
    ...(r.labels !== undefined ? { labels: r.labels } : {}),
    ...(r.counterValue !== undefined ? { counterValue: r.counterValue } : {}),
    ...(r.associationToken !== undefined ? { associationToken: r.associationToken } : {}),
    ...(r.euiccCertificate !== undefined ? { euiccCertificate: fromHex(r.euiccCertificate, 'euiccCertificate') } : {}),
    ...(r.eumCertificate !== undefined ? { eumCertificate: fromHex(r.eumCertificate, 'eumCertificate') } : {}),
  });
  const now = ctx.now();
  if (credential) {
    await ctx.store.commit((tx) =>
      tx.putCredential({
        endpoint: r.endpoint!,
        eid: r.eid,
        ...(r.pskIdentity !== undefined ? { pskIdentity: r.pskIdentity, psk: fromHex(r.psk!, 'psk') } : {}),
        ...(r.certificateFingerprint !== undefined ? { certificateFingerprint: r.certificateFingerprint.toLowerCase() } : {}),
      }),
    );
  }
  ctx.events.publish({ type: existing ? 'euicc.updated' : 'euicc.registered', eid: r.eid, ...(r.endpoint !== undefined ? { endpoint: r.endpoint } : {}), labels: record.labels, at: now });
  return { record, created: existing === undefined };
}

/** CSV text fields to a registration candidate: numbers parsed, labels split on ';'. */
function csvRow(fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields };
  for (const k of ['counterValue', 'associationToken']) {
    const v = fields[k];
    if (v !== undefined && /^-?[0-9]+$/.test(v)) out[k] = Number(v);
  }
  if (fields.labels !== undefined) out.labels = fields.labels.split(';').map((l) => l.trim()).filter((l) => l !== '');
  return out;
}

function timeOf(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError(name, 'expected an ISO 8601 date-time');
  return t;
}

function eidOf(request: FastifyRequest): string {
  const { eid } = request.params as { eid: string };
  assertEid(eid);
  return eid;
}

export const euiccRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post('/v1/euiccs', {
    config: { role: 'admin' },
    schema: {
      summary: 'Register an eUICC (or update a registered one)',
      tags: ['euiccs'],
      body: registrationSchema,
      response: { 200: euiccSchema, 201: euiccSchema, ...errorResponses(400, 409, 422) },
    },
    handler: async (request, reply) => {
      const { record, created } = await register(ctx, request.body as Registration);
      return reply.code(created ? 201 : 200).send(euiccView(record));
    },
  });

  app.post('/v1/euiccs/import', {
    config: { role: 'admin' },
    bodyLimit: 32 * 1024 * 1024,
    schema: {
      summary: 'Register many eUICCs from a JSON array or a CSV file with a header line; errors are reported per row',
      description:
        'CSV columns: eid, endpoint, labels (separated by ;), pskIdentity, psk, certificateFingerprint, counterValue, associationToken, euiccCertificate, eumCertificate.',
      tags: ['euiccs'],
      body: {
        content: {
          'application/json': { schema: { type: 'array', maxItems: 100000, items: { type: 'object' } } },
          'text/csv': { schema: { type: 'string' } },
        },
      },
      response: { 200: importResultSchema, ...errorResponses(400, 415) },
    },
    handler: async (request) => {
      const rows: { row: number; value: unknown }[] =
        typeof request.body === 'string'
          ? parseCsv(request.body).map((r) => ({ row: r.line, value: csvRow(r.fields) }))
          : (request.body as unknown[]).map((value, row) => ({ row, value }));
      const validate = request.compileValidationSchema(registrationSchema);
      const results: Record<string, unknown>[] = [];
      for (const { row, value } of rows) {
        const eid = typeof (value as { eid?: unknown }).eid === 'string' ? (value as { eid: string }).eid : undefined;
        try {
          if (!validate(value)) {
            throw new ApiError('EIM_ERR_INVALID_ARGUMENT', 'row does not match the registration schema', validate.errors?.map((e) => ({ path: e.instancePath, message: e.message })));
          }
          const { created } = await register(ctx, value as Registration);
          results.push({ row, eid, ok: true, created });
        } catch (e) {
          const { body, internal } = errorReply(e);
          if (internal) request.log.error({ err: e, row }, 'import row failed');
          results.push({ row, ...(eid !== undefined ? { eid } : {}), ok: false, error: body });
        }
      }
      const registered = results.filter((r) => r.ok === true).length;
      return { total: results.length, registered, failed: results.length - registered, results };
    },
  });

  app.get('/v1/euiccs', {
    schema: {
      summary: 'List eUICCs (ordered by EID) with filters and cursor pagination',
      tags: ['euiccs'],
      querystring: euiccListQuery,
      response: { 200: pageSchema(euiccSchema), ...errorResponses(400) },
    },
    handler: async (request) => {
      const q = request.query as Record<string, string | number | undefined>;
      if (q.profileState !== undefined && q.iccid === undefined) throw new InvalidArgumentError('profileState', 'needs iccid');
      const filter: EuiccFilter = {
        ...(q.label !== undefined ? { label: q.label as string } : {}),
        ...(q.iccid !== undefined ? { profile: { iccid: q.iccid as string, ...(q.profileState !== undefined ? { state: q.profileState as ProfileState } : {}) } } : {}),
        ...(q.endpoint !== undefined ? { endpoint: q.endpoint as string } : {}),
        ...(q.lastContactBefore !== undefined ? { lastContactBefore: timeOf(q.lastContactBefore as string, 'lastContactBefore')! } : {}),
        ...(q.lastContactAfter !== undefined ? { lastContactAfter: timeOf(q.lastContactAfter as string, 'lastContactAfter')! } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor as string } : {}),
        ...(q.limit !== undefined ? { limit: q.limit as number } : {}),
      };
      const page = await ctx.store.listEuiccs(filter);
      return { items: page.items.map((e) => euiccView(e)), ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}) };
    },
  });

  app.get('/v1/euiccs/:eid', {
    schema: { summary: 'Get an eUICC', tags: ['euiccs'], params: eidParams, response: { 200: euiccSchema, ...errorResponses(400, 404) } },
    handler: async (request) => {
      const eid = eidOf(request);
      const euicc = await ctx.store.getEuicc(eid);
      if (euicc === undefined) throw new NotFoundError(`eUICC ${eid} is not registered`);
      return euiccView(euicc, await ctx.store.getAssociation(ctx.core.identity.eimId, eid));
    },
  });

  app.delete('/v1/euiccs/:eid', {
    config: { role: 'admin' },
    schema: { summary: 'Delete an eUICC with its profiles and device credential (its operations and audit stay)', tags: ['euiccs'], params: eidParams, response: { 204: { type: 'null' }, ...errorResponses(400, 404) } },
    handler: async (request, reply) => {
      const eid = eidOf(request);
      if ((await ctx.store.getEuicc(eid)) === undefined) throw new NotFoundError(`eUICC ${eid} is not registered`);
      await ctx.store.commit((tx) => tx.deleteEuicc(eid));
      ctx.events.publish({ type: 'euicc.deleted', eid, at: ctx.now() });
      return reply.code(204).send();
    },
  });

  app.put('/v1/euiccs/:eid/labels', {
    config: { role: 'admin' },
    schema: {
      summary: "Replace an eUICC's labels",
      tags: ['euiccs'],
      params: eidParams,
      body: { type: 'object', required: ['labels'], additionalProperties: false, properties: { labels: labelsSchema } },
      response: { 200: euiccSchema, ...errorResponses(400, 404) },
    },
    handler: async (request) => {
      const eid = eidOf(request);
      const { labels } = request.body as { labels: string[] };
      const now = ctx.now();
      await ctx.store.commit((tx) => tx.patchEuicc(eid, { labels, updatedAt: now }));
      ctx.events.publish({ type: 'euicc.updated', eid, labels, at: now });
      const euicc = await ctx.store.getEuicc(eid);
      if (euicc === undefined) throw new NotFoundError(`eUICC ${eid} is not registered`);
      return euiccView(euicc);
    },
  });

  app.get('/v1/euiccs/:eid/profiles', {
    schema: {
      summary: "An eUICC's profiles as last verified (ICCID, state, fallback, nickname, operator)",
      tags: ['profiles'],
      params: eidParams,
      response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: profileSchema } } }, ...errorResponses(400, 404) },
    },
    handler: async (request) => {
      const eid = eidOf(request);
      if ((await ctx.store.getEuicc(eid)) === undefined) throw new NotFoundError(`eUICC ${eid} is not registered`);
      return { items: (await ctx.store.listProfiles(eid)).map(profileView) };
    },
  });

  app.get('/v1/euiccs/:eid/profiles/history', {
    schema: {
      summary: "History of an eUICC's profiles, oldest first",
      tags: ['profiles'],
      params: eidParams,
      querystring: { type: 'object', additionalProperties: false, properties: { iccid: { type: 'string', pattern: '^[0-9]{18,19}[0-9Ff]?$' } } },
      response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: profileHistorySchema } } }, ...errorResponses(400, 404) },
    },
    handler: async (request) => {
      const eid = eidOf(request);
      const { iccid } = request.query as { iccid?: string };
      if ((await ctx.store.getEuicc(eid)) === undefined) throw new NotFoundError(`eUICC ${eid} is not registered`);
      return { items: (await ctx.store.listProfileHistory(eid, iccid)).map(profileHistoryView) };
    },
  });
};
