/** The campaigns routes plugin (src/api/routes/campaigns.ts) on a bare fastify, through inject(). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { campaignRoutes, type CampaignRole } from '../../src/api/routes/campaigns.js';
import { EimError } from '../../src/errors.js';
import { CampaignRunner } from '../../src/scheduler/campaign-runner.js';
import { ManualClock } from '../../src/scheduler/clock.js';
import { SqliteCampaignStore } from '../../src/store/sqlite/sqlite-campaign-store.js';
import { harness, type Harness } from '../eim/harness.js';
import { fleetEids, registerFleet } from './fakes.js';

const T0 = Date.UTC(2026, 10, 23, 12);
const STATUS: Record<string, number> = { EIM_ERR_NOT_FOUND: 404, EIM_ERR_CONFLICT: 409, EIM_ERR_INVALID_ARGUMENT: 400, EIM_ERR_FORBIDDEN: 403 };

async function app(): Promise<{ app: FastifyInstance; h: Harness; eids: string[]; roles: CampaignRole[]; close(): Promise<void> }> {
  const clock = new ManualClock(T0);
  const h = await harness({ now: () => clock.now() });
  const eids = fleetEids(5);
  await registerFleet(h.core, eids);
  const runner = new CampaignRunner({ core: h.core, store: h.store, campaigns: new SqliteCampaignStore(h.store), clock });
  runner.start();
  const roles: CampaignRole[] = [];
  const f = Fastify();
  // Stand-in for the API's error handler: domain codes to statuses, validation errors as fastify reports them.
  f.setErrorHandler((err, _req, reply) => {
    if (err instanceof EimError) return reply.code(STATUS[err.code] ?? 500).send({ error: err.code, message: err.message });
    const e = err as { statusCode?: number; code?: string; message: string };
    return reply.code(e.statusCode ?? 500).send({ error: e.code, message: e.message });
  });
  await f.register(campaignRoutes, {
    prefix: '/v1',
    campaigns: runner,
    actorOf: (req) => String(req.headers['x-actor'] ?? 'api'),
    authorize: (role) => async (req) => {
      roles.push(role);
      if (req.headers['x-role'] === 'read' && role !== 'read') throw new EimError('EIM_ERR_FORBIDDEN', `needs ${role}`);
    },
  });
  return {
    app: f,
    h,
    eids,
    roles,
    async close() {
      await f.close();
      await runner.stop();
      await h.close();
    },
  };
}

const body = (eids: string[], extra: Record<string, unknown> = {}) => ({
  name: 'enable B',
  request: { kind: 'enable', iccid: '8944000000000000001' },
  target: { eids },
  rate: 5,
  maxInFlight: 10,
  canaryShare: 0.2,
  startAt: new Date(T0).toISOString(),
  window: { start: '01:00', end: '05:00', timeZone: 'Europe/Berlin' },
  deviceExpirySeconds: 3600,
  ...extra,
});

describe('campaign routes', () => {
  it('creates a campaign (201) and shows it with progress and ETA, ISO times, and in the list', async () => {
    const t = await app();
    try {
      const res = await t.app.inject({ method: 'POST', url: '/v1/campaigns', payload: body(t.eids), headers: { 'x-actor': 'api:ops' } });
      assert.equal(res.statusCode, 201, res.body);
      const c = res.json();
      assert.equal(c.name, 'enable B');
      assert.equal(c.state, 'running');
      assert.equal(c.phase, 'canary');
      assert.equal(c.startAt, '2026-11-23T12:00:00.000Z');
      assert.equal(c.deviceExpirySeconds, 3600);
      assert.equal(c.createdBy, 'api:ops');
      assert.equal(c.progress.total, 5);
      assert.equal(c.progress.canary.total, 1);
      assert.deepEqual(c.window, { start: '01:00', end: '05:00', timeZone: 'Europe/Berlin' });
      assert.equal(typeof c.eta.unknownWakeups, 'number');
      assert.equal(c.cursor, undefined, 'internal fields are not shown');
      const got = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${c.id}` });
      assert.equal(got.statusCode, 200);
      assert.equal(got.json().id, c.id);
      const list = await t.app.inject({ method: 'GET', url: '/v1/campaigns?state=running&limit=10' });
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().items.map((x: { id: string }) => x.id), [c.id]);
      assert.deepEqual(t.roles, ['operate', 'read', 'read']);
    } finally {
      await t.close();
    }
  });

  it('pauses, resumes and cancels, answering 409 for a transition that is not allowed and 404 for an unknown id', async () => {
    const t = await app();
    try {
      const c = (await t.app.inject({ method: 'POST', url: '/v1/campaigns', payload: body(t.eids, { canaryShare: 0 }) })).json();
      const pause = await t.app.inject({ method: 'POST', url: `/v1/campaigns/${c.id}/pause` });
      assert.equal(pause.statusCode, 200);
      assert.equal(pause.json().state, 'paused');
      assert.equal(pause.json().pausedReason, 'operator');
      assert.equal((await t.app.inject({ method: 'POST', url: `/v1/campaigns/${c.id}/pause` })).statusCode, 409);
      assert.equal((await t.app.inject({ method: 'POST', url: `/v1/campaigns/${c.id}/resume` })).json().state, 'running');
      const cancel = await t.app.inject({ method: 'POST', url: `/v1/campaigns/${c.id}/cancel` });
      assert.equal(cancel.json().state, 'cancelled');
      assert.ok(cancel.json().completedAt);
      assert.equal((await t.app.inject({ method: 'POST', url: `/v1/campaigns/${c.id}/resume` })).statusCode, 409);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/campaigns/unknown' })).statusCode, 404);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/campaigns/unknown/cancel' })).statusCode, 404);
    } finally {
      await t.close();
    }
  });

  it('rejects invalid bodies and queries by schema with 400 naming the field', async () => {
    const t = await app();
    try {
      const cases: [Record<string, unknown>, RegExp][] = [
        [body(t.eids, { rate: 0 }), /rate/],
        [body(t.eids, { maxInFlight: 0.5 }), /maxInFlight/],
        [body(t.eids, { canaryShare: 1.5 }), /canaryShare/],
        [body(t.eids, { window: { start: '25:00', end: '05:00', timeZone: 'UTC' } }), /window\/start/],
        [body(t.eids, { startAt: 'tomorrow' }), /startAt/],
        [body(['123']), /eids\/0/],
        [body(t.eids, { target: {} }), /target/],
        [body(t.eids, { target: { eids: t.eids, label: 'x' } }), /target/],
        [{ ...body(t.eids), request: undefined }, /request/],
      ];
      for (const [payload, field] of cases) {
        const res = await t.app.inject({ method: 'POST', url: '/v1/campaigns', payload });
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(0, 120)} -> ${res.body}`);
        assert.match(res.json().message, field);
      }
      // Past the schema, the domain checks the operation template and the time zone.
      const badKind = await t.app.inject({ method: 'POST', url: '/v1/campaigns', payload: body(t.eids, { request: { kind: 'explode' } }) });
      assert.equal(badKind.statusCode, 400);
      const badZone = await t.app.inject({ method: 'POST', url: '/v1/campaigns', payload: body(t.eids, { window: { start: '01:00', end: '05:00', timeZone: 'Mars/Olympus' } }) });
      assert.equal(badZone.statusCode, 400);
      assert.match(badZone.json().message, /timeZone/);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/campaigns?state=exploded' })).statusCode, 400);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/campaigns?limit=0' })).statusCode, 400);
    } finally {
      await t.close();
    }
  });

  it('asks the auth plugin for the operate role on every change', async () => {
    const t = await app();
    try {
      const res = await t.app.inject({ method: 'POST', url: '/v1/campaigns', payload: body(t.eids), headers: { 'x-role': 'read' } });
      assert.equal(res.statusCode, 403);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/campaigns', headers: { 'x-role': 'read' } })).statusCode, 200);
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/campaigns/x/pause', headers: { 'x-role': 'read' } })).statusCode, 403);
    } finally {
      await t.close();
    }
  });
});
