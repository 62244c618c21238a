import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/api/app.js';
import type { CampaignInput, CampaignService, CampaignView } from '../../src/scheduler/campaign.js';
import type { CampaignRecord } from '../../src/store/campaign-store.js';
import { EID } from '../eim/harness.js';
import { apiHarness, type ApiHarness } from './harness.js';

const ZERO = { queued: 0, sent: 0, done: 0, failed: 0, expired: 0, cancelled: 0 };

/** A campaign service that records its calls. */
function fakeCampaigns(): CampaignService & { calls: { method: string; actor?: string; input?: CampaignInput }[] } {
  const calls: { method: string; actor?: string; input?: CampaignInput }[] = [];
  const record: CampaignRecord = {
    id: 'c1',
    request: { kind: 'enable', iccid: '89000000000000000001' },
    target: { label: 'fleet' },
    startAt: 0,
    rate: 5,
    maxInFlight: 10,
    canaryShare: 0.1,
    failureThreshold: 0.2,
    minResultsForThreshold: 5,
    state: 'scheduled',
    phase: 'canary',
    total: 1,
    canaryCount: 1,
    cursor: 0,
    baselineFinished: 0,
    baselineFailed: 0,
    createdAt: 0,
    updatedAt: 0,
  };
  const view = (): CampaignView => ({ ...record, progress: { total: 1, released: 0, skipped: 0, inFlight: 0, byState: ZERO, canary: { total: 1, byState: ZERO }, failureRate: 0 }, eta: { unknownWakeups: 1 } });
  return {
    calls,
    async create(input, actor) {
      calls.push({ method: 'create', input, ...(actor !== undefined ? { actor } : {}) });
      return view();
    },
    async list() {
      calls.push({ method: 'list' });
      return { items: [record] };
    },
    async get(id) {
      return id === 'c1' ? view() : undefined;
    },
    async pause(_id, actor) {
      calls.push({ method: 'pause', ...(actor !== undefined ? { actor } : {}) });
      return view();
    },
    async resume() {
      return view();
    },
    async cancel() {
      return view();
    },
  };
}

describe('campaign routes in the app', () => {
  let h: ApiHarness;
  let app: ReturnType<typeof buildApp>;
  const campaigns = fakeCampaigns();
  const call = (method: 'GET' | 'POST', url: string, token: string | undefined, body?: unknown) =>
    app.inject({ method, url, headers: token !== undefined ? { authorization: `Bearer ${token}` } : {}, ...(body !== undefined ? { payload: body as object } : {}) });

  before(async () => {
    h = await apiHarness();
    app = buildApp({ core: h.core, store: h.store, apiStore: h.apiStore, events: h.bus, now: () => h.clock.now, rateLimit: false, campaigns: { campaigns } });
  });
  after(async () => {
    await app.close();
    await h.close();
  });

  const body = { request: { kind: 'enable', iccid: '89000000000000000001' }, target: { eids: [EID] }, rate: 5, maxInFlight: 10 };

  it('registers the campaign routes under /v1 behind the same auth: 401, 403 for read on writes, operate may create', async () => {
    assert.equal((await call('GET', '/v1/campaigns', undefined)).statusCode, 401);
    assert.equal((await call('GET', '/v1/campaigns', h.tokens.read)).statusCode, 200);
    assert.equal((await call('POST', '/v1/campaigns', h.tokens.read, body)).statusCode, 403);
    const created = await call('POST', '/v1/campaigns', h.tokens.operate, body);
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().id, 'c1');
    assert.equal(campaigns.calls.find((c) => c.method === 'create')?.actor, 'api:test-operate');
    assert.equal((await call('POST', '/v1/campaigns/c1/pause', h.tokens.operate)).statusCode, 200);
    assert.equal((await call('GET', '/v1/campaigns/nope', h.tokens.read)).statusCode, 404);
  });

  it('audits campaign changes and documents the routes with their roles', async () => {
    const audit = (await h.store.listAudit({ actor: 'api:test-operate' })).items.map((a) => a.action);
    assert.ok(audit.includes('api POST /v1/campaigns'));
    assert.ok(audit.includes('api POST /v1/campaigns/:id/pause'));
    const doc = (await call('GET', '/v1/openapi.json', h.tokens.read)).json();
    assert.equal(doc.paths['/v1/campaigns'].post['x-required-role'], 'operate');
    assert.equal(doc.paths['/v1/campaigns/{id}'].get['x-required-role'], 'read');
    assert.equal(doc.paths['/v1/campaigns/{id}/cancel'].post['x-required-role'], 'operate');
  });
});
