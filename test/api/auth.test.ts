import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SqliteApiStore } from '../../src/store/sqlite/sqlite-api-store.js';
import { createInitialAdminToken, hashToken } from '../../src/api/tokens.js';
import { EID } from '../eim/harness.js';
import { apiHarness, type ApiHarness } from './harness.js';

const WEAKER: Record<string, 'read' | 'operate' | undefined> = { read: undefined, operate: 'read', admin: 'operate' };

/** A concrete URL for a documented path: a valid EID and a placeholder id. */
function concrete(path: string): string {
  return path.replace('{eid}', EID).replace(/\{[a-zA-Z]+\}/g, 'x');
}

describe('API authentication and roles', () => {
  let h: ApiHarness;
  let doc: { paths: Record<string, Record<string, { security?: unknown[]; 'x-required-role'?: string }>> };
  before(async () => {
    h = await apiHarness();
    doc = (await h.call('GET', '/v1/openapi.json')).json();
  });
  after(() => h.close());

  it('answers /healthz without a token', async () => {
    const r = await h.call('GET', '/healthz', { role: 'none' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual(r.json(), { status: 'ok' });
  });

  it('refuses every other documented endpoint without a token (401) or with an unknown one', async () => {
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (op.security !== undefined) continue;
        const url = concrete(path);
        const r = await h.call(method.toUpperCase() as 'GET', url, { role: 'none' });
        assert.equal(r.statusCode, 401, `${method} ${url}`);
        assert.equal(r.json().error, 'EIM_ERR_UNAUTHORIZED');
        const bad = await h.call(method.toUpperCase() as 'GET', url, { token: 'eim_not-a-real-token' });
        assert.equal(bad.statusCode, 401, `${method} ${url} with an unknown token`);
        checked += 1;
      }
    }
    assert.ok(checked >= 25, `only ${checked} endpoints checked`);
  });

  it('refuses every endpoint to a token whose role is one step too weak (403)', async () => {
    let checked = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const weaker = WEAKER[op['x-required-role'] ?? 'read'];
        if (op.security !== undefined || weaker === undefined) continue;
        const r = await h.call(method.toUpperCase() as 'GET', concrete(path), { role: weaker, body: {} });
        assert.equal(r.statusCode, 403, `${method} ${path} with ${weaker}`);
        assert.equal(r.json().error, 'EIM_ERR_FORBIDDEN');
        checked += 1;
      }
    }
    assert.ok(checked >= 13, `only ${checked} endpoints checked`);
  });

  it('documents the roles the design asks for: reads for read, operations for operate, registry/tokens/webhooks for admin', () => {
    const role = (m: string, p: string): string | undefined => doc.paths[p]?.[m]?.['x-required-role'];
    assert.equal(role('get', '/v1/euiccs'), 'read');
    assert.equal(role('get', '/v1/operations/{id}'), 'read');
    assert.equal(role('post', '/v1/euiccs/{eid}/operations'), 'operate');
    assert.equal(role('post', '/v1/operations/{id}/cancel'), 'operate');
    assert.equal(role('post', '/v1/euiccs'), 'admin');
    assert.equal(role('delete', '/v1/euiccs/{eid}'), 'admin');
    assert.equal(role('post', '/v1/tokens'), 'admin');
    assert.equal(role('get', '/v1/webhooks'), 'admin');
  });

  it('lets an operate token queue operations and a read token read them', async () => {
    assert.equal((await h.call('POST', '/v1/euiccs', { body: { eid: EID } })).statusCode, 201);
    const op = await h.call('POST', `/v1/euiccs/${EID}/operations`, { role: 'operate', body: { kind: 'get-rat' } });
    assert.equal(op.statusCode, 202);
    const read = await h.call('GET', `/v1/operations/${op.json().id}`, { role: 'read' });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().kind, 'get-rat');
  });

  it('writes an audit line with actor api:<token name> for every mutating call, refused ones included', async () => {
    await h.call('PUT', `/v1/euiccs/${EID}/labels`, { body: { labels: ['audited'] } });
    await h.call('DELETE', `/v1/euiccs/${EID}`, { role: 'read' });
    const lines = (await h.store.listAudit({ order: 'desc', limit: 10 })).items;
    const labels = lines.find((l) => l.action === 'api PUT /v1/euiccs/:eid/labels');
    assert.ok(labels, 'labels call audited');
    assert.equal(labels.actor, 'api:test-admin');
    assert.equal(labels.eid, EID);
    assert.equal(labels.outcome, 'ok');
    const refused = lines.find((l) => l.action === 'api DELETE /v1/euiccs/:eid');
    assert.ok(refused, 'refused call audited');
    assert.equal(refused.actor, 'api:test-read');
    assert.equal(refused.outcome, 'rejected');
    assert.equal(lines.filter((l) => l.action.startsWith('api GET')).length, 0, 'reads are not audited');
  });

  it('creates, lists and revokes tokens; the secret is shown once and only its hash is stored', async () => {
    const created = await h.call('POST', '/v1/tokens', { body: { name: 'ci-bot', role: 'operate' } });
    assert.equal(created.statusCode, 201);
    const { id, token, role } = created.json();
    assert.equal(role, 'operate');
    assert.match(token, /^eim_[A-Za-z0-9_-]{43}$/);
    const stored = await h.apiStore.findTokenByHash(hashToken(token));
    assert.equal(stored?.id, id);
    const list = await h.call('GET', '/v1/tokens');
    assert.ok(list.json().items.some((t: { name: string }) => t.name === 'ci-bot'));
    assert.ok(!list.body.includes(token) && !list.body.includes(hashToken(token)), 'neither secret nor hash listed');
    assert.equal((await h.call('GET', '/v1/euiccs', { token })).statusCode, 200);
    assert.equal((await h.call('POST', '/v1/tokens', { body: { name: 'ci-bot', role: 'read' } })).statusCode, 409);
    assert.equal((await h.call('DELETE', `/v1/tokens/${id}`)).statusCode, 204);
    assert.equal((await h.call('GET', '/v1/euiccs', { token })).statusCode, 401);
    assert.equal((await h.call('DELETE', `/v1/tokens/${id}`)).statusCode, 404);
  });

  it('rejects a token request with an unknown role (400 with details)', async () => {
    const r = await h.call('POST', '/v1/tokens', { body: { name: 'x', role: 'root' } });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().error, 'FST_ERR_VALIDATION');
    assert.ok(Array.isArray(r.json().details) && r.json().details.length > 0);
  });
});

describe('first admin token', () => {
  it('is created only when no token exists, and works as an admin token', async () => {
    const h = await apiHarness();
    try {
      const fresh = new SqliteApiStore(h.store.database);
      assert.equal(await createInitialAdminToken(fresh), undefined, 'tokens exist already');
      for (const t of await fresh.listTokens()) await fresh.deleteToken(t.id);
      const token = await createInitialAdminToken(fresh);
      assert.ok(token !== undefined);
      assert.equal(await createInitialAdminToken(fresh), undefined, 'only once');
      assert.equal((await h.call('GET', '/v1/tokens', { token })).statusCode, 200);
    } finally {
      await h.close();
    }
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a token has used its burst, per token', async () => {
    const h = await apiHarness({ rateLimit: { capacity: 3, refillPerSecond: 1 } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await h.call('GET', '/v1/euiccs', { role: 'read' })).statusCode, 200);
      const limited = await h.call('GET', '/v1/euiccs', { role: 'read' });
      assert.equal(limited.statusCode, 429);
      assert.equal(limited.json().error, 'EIM_ERR_RATE_LIMITED');
      assert.equal(limited.headers['retry-after'], '1');
      assert.equal((await h.call('GET', '/v1/euiccs', { role: 'operate' })).statusCode, 200, 'another token has its own bucket');
      h.clock.now += 1000;
      assert.equal((await h.call('GET', '/v1/euiccs', { role: 'read' })).statusCode, 200, 'refilled after a second');
    } finally {
      await h.close();
    }
  });
});
