import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EventBus } from '../../src/api/events.js';
import { WebhookDispatcher, webhookSignature } from '../../src/api/webhook-dispatcher.js';
import { SqliteApiStore } from '../../src/store/sqlite/sqlite-api-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { EID, EIDS } from '../eim/harness.js';
import { apiHarness } from './harness.js';

const SECRET = 'receiver-shared-secret-0123456789';

interface Received {
  id: number;
  type: string;
  data: Record<string, unknown>;
  signatureValid: boolean;
}

/** A webhook receiver on 127.0.0.1:0 that checks signatures and answers 503 while `down` is true. */
async function receiver(): Promise<{ url: string; got: Received[]; refused: number; down: boolean; close(): Promise<void> }> {
  const state = { url: '', got: [] as Received[], refused: 0, down: false, close: async (): Promise<void> => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.down) {
        state.refused += 1;
        res.writeHead(503).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-eim-signature'] ?? ''));
      const body = JSON.parse(raw.toString('utf8')) as { id: number; type: string; data: Record<string, unknown> };
      assert.equal(req.headers['x-eim-event-id'], String(body.id));
      state.got.push({ id: body.id, type: body.type, data: body.data, signatureValid: given.length === expected.length && timingSafeEqual(given, expected) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('webhooks', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('manages subscriptions: create (201, secret not returned), list, get, delete, validation', async () => {
    const h = await apiHarness();
    cleanups.push(() => h.close());
    const created = await h.call('POST', '/v1/webhooks', { body: { url: 'https://example.com/hook', eventTypes: ['operation.*', 'euicc.registered'], secret: SECRET } });
    assert.equal(created.statusCode, 201, created.body);
    assert.ok(!created.body.includes(SECRET));
    const id = created.json().id;
    assert.deepEqual(created.json().eventTypes, ['operation.*', 'euicc.registered']);
    const list = await h.call('GET', '/v1/webhooks');
    assert.equal(list.json().items.length, 1);
    assert.ok(!list.body.includes(SECRET));
    assert.equal((await h.call('GET', `/v1/webhooks/${id}`)).json().url, 'https://example.com/hook');
    for (const body of [
      { url: 'ftp://example.com', eventTypes: ['*'], secret: SECRET },
      { url: 'https://example.com', eventTypes: [], secret: SECRET },
      { url: 'https://example.com', eventTypes: ['*'], secret: 'short' },
      { url: 'https://example.com', eventTypes: ['Bad Type'], secret: SECRET },
    ]) {
      const r = await h.call('POST', '/v1/webhooks', { body });
      assert.equal(r.statusCode, 400, JSON.stringify(body));
      assert.equal(r.json().error, 'FST_ERR_VALIDATION');
    }
    assert.equal((await h.call('DELETE', `/v1/webhooks/${id}`)).statusCode, 204);
    assert.equal((await h.call('GET', `/v1/webhooks/${id}`)).statusCode, 404);
    assert.equal((await h.call('DELETE', `/v1/webhooks/${id}`)).statusCode, 404);
  });

  it('delivers matching events signed with HMAC-SHA256 that the receiver verifies, retrying while it is down', async () => {
    const rx = await receiver();
    cleanups.push(() => rx.close());
    const h = await apiHarness();
    cleanups.push(() => h.close());
    const dispatcher = new WebhookDispatcher({ apiStore: h.apiStore, bus: h.bus, initialBackoffMs: 10, maxBackoffMs: 40, pollMs: 50 });
    cleanups.push(() => dispatcher.stop());
    assert.equal((await h.call('POST', '/v1/webhooks', { body: { url: rx.url, eventTypes: ['operation.*', 'euicc.registered'], secret: SECRET } })).statusCode, 201);
    rx.down = true;
    dispatcher.start();
    assert.equal((await h.call('POST', '/v1/euiccs', { body: { eid: EID } })).statusCode, 201);
    const ops: string[] = [];
    for (let i = 0; i < 3; i++) ops.push((await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'get-rat' } })).json().id);
    await h.call('PUT', `/v1/euiccs/${EID}/labels`, { body: { labels: ['not-subscribed'] } });
    await until(() => rx.refused >= 3);
    assert.equal(rx.got.length, 0);
    const hook = (await h.apiStore.listWebhooks())[0]!;
    assert.ok(hook.attempts >= 1 && hook.lastError === 'HTTP 503', 'failures are recorded on the subscription');
    rx.down = false;
    await until(() => rx.got.length >= 4);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      rx.got.map((e) => e.type),
      ['euicc.registered', 'operation.changed', 'operation.changed', 'operation.changed'],
    );
    assert.deepEqual(
      rx.got.slice(1).map((e) => e.data.operationId),
      ops,
    );
    assert.ok(rx.got.every((e) => e.signatureValid), 'every signature verifies');
    const ids = rx.got.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in order');
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    const after = (await h.apiStore.listWebhooks())[0]!;
    assert.equal(after.attempts, 0);
    assert.equal(after.lastError, undefined);
  });

  it('gets every event, in order, to a receiver that was down across a restart of the server (durable outbox)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-api-webhooks-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, 'eim.db');
    const rx = await receiver();
    cleanups.push(() => rx.close());
    rx.down = true;

    // First life: events are published while the receiver is down; then the process stops.
    const h = await apiHarness({ dbPath });
    cleanups.push(() => rmSync(h.dir, { recursive: true, force: true }));
    const first = new WebhookDispatcher({ apiStore: h.apiStore, bus: h.bus, initialBackoffMs: 10, maxBackoffMs: 20, pollMs: 20 });
    assert.equal((await h.call('POST', '/v1/webhooks', { body: { url: rx.url, eventTypes: ['*'], secret: SECRET } })).statusCode, 201);
    first.start();
    for (const eid of EIDS) assert.equal((await h.call('POST', '/v1/euiccs', { body: { eid } })).statusCode, 201);
    const ops: string[] = [];
    for (const eid of EIDS) ops.push((await h.call('POST', `/v1/euiccs/${eid}/operations`, { body: { kind: 'list-eim' } })).json().id);
    await h.bus.flush();
    await until(() => rx.refused >= 2);
    await first.stop();
    await h.app.close();
    await h.store.close();
    const expected = 6;

    // Second life: same database file, a new dispatcher; the receiver is back.
    rx.down = false;
    const store = SqliteStore.open({ path: dbPath });
    cleanups.push(() => store.close());
    const apiStore = new SqliteApiStore(store.database);
    const bus = new EventBus({ apiStore });
    const second = new WebhookDispatcher({ apiStore, bus, initialBackoffMs: 10, maxBackoffMs: 20, pollMs: 20 });
    cleanups.push(() => second.stop());
    second.start();
    await until(() => rx.got.length >= expected);
    bus.publish({ type: 'test.after-restart', at: Date.now() });
    await until(() => rx.got.length >= expected + 1);
    assert.deepEqual(
      rx.got.map((e) => e.type),
      ['euicc.registered', 'euicc.registered', 'euicc.registered', 'operation.changed', 'operation.changed', 'operation.changed', 'test.after-restart'],
    );
    assert.deepEqual(
      rx.got.slice(3, 6).map((e) => e.data.operationId),
      ops,
    );
    const ids = rx.got.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.ok(rx.got.every((e) => e.signatureValid));
  });

  it('signs as sha256=<hex HMAC-SHA256(secret, body)>', () => {
    assert.equal(webhookSignature('key', 'The quick brown fox jumps over the lazy dog'), 'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });
});
