/**
 * The compact idle state of registered devices (issue 5: heap per idle queue-mode device <= 1.5 KB):
 * pooled registration texts, numeric peer keys, shared peer objects, presence times in shared columns,
 * a self-compacting expiry heap, and observations that share one request and one notification handler.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NotificationEvent } from '../../src/lwm2m/requests.js';
import { Presence } from '../../src/lwm2m/presence.js';
import { MemoryRegistrationStore } from '../../src/lwm2m/registration-store.js';
import { flat, parseRegisterQuery, parseUpdateQuery, peerId, peerOf, StringPool, type Registration } from '../../src/lwm2m/registration.js';
import { nextEvent, startServer, TestClock } from './harness.js';

function registration(endpoint: string, id: string, lastUpdate: number, lifetime = 60): Registration {
  return { id, endpoint, lifetime, lwm2mVersion: '1.1', binding: 'U', queueMode: true, links: '</3443/0>', address: '127.0.0.1', port: 1, identity: undefined, registeredAt: lastUpdate, lastUpdate };
}

describe('string pool for registration texts', () => {
  it('keeps one entry for equal texts and one per distinct text', () => {
    const pool = new StringPool(8, 64);
    const links = '</>;rt="oma.lwm2m";ct=0,</1/0>,</3/0>,</3443>;ver=1.0,</3443/0>';
    const a = pool.intern(links.slice(0, 40) + links.slice(40));
    const b = pool.intern(`${links}`);
    assert.equal(a, links);
    assert.equal(b, links);
    assert.equal(pool.size, 1);
    pool.intern('</3443/0>');
    assert.equal(pool.size, 2);
  });

  it('starts over when full, and does not pool texts over its length limit', () => {
    const pool = new StringPool(4, 16);
    for (let i = 0; i < 4; i++) pool.intern(`text-${i}`);
    assert.equal(pool.size, 4);
    assert.equal(pool.intern('text-4'), 'text-4');
    assert.equal(pool.size, 1, 'cleared, then the new text pooled');
    const long = 'x'.repeat(17);
    assert.equal(pool.intern(long), long);
    assert.equal(pool.size, 1);
  });

  it('flat copies are equal to the original, lone surrogates included', () => {
    const parent = `ep=urn:imei:${'3'.repeat(15)}`;
    assert.equal(flat(parent.slice(3)), parent.slice(3));
    const odd = `urn:dev:${'\ud800'}-abcdefghijk`;
    assert.equal(flat(odd), odd);
    assert.equal(flat('short'), 'short');
  });

  it('Register and Update parameters keep their values when pooled', () => {
    const p = parseRegisterQuery(['ep=urn:imei:350000000000001', 'lt=600', 'lwm2m=1.1', 'b=UQ']);
    assert.deepEqual(p, { endpoint: 'urn:imei:350000000000001', lifetime: 600, lwm2mVersion: '1.1', binding: 'U', queueMode: true });
    assert.equal(parseRegisterQuery(['ep=x']).lwm2mVersion, '1.0');
    assert.equal(parseRegisterQuery(['ep=x', 'lwm2m=1.2', 'b=T']).binding, 'T');
    assert.deepEqual(parseUpdateQuery(['b=UQ']), { binding: 'U', queueMode: true });
  });
});

describe('peer keys', () => {
  it('packs a canonical IPv4 address and port into one number, equal for equal peers', () => {
    const k = peerId({ address: '10.1.2.3', port: 5683 });
    assert.equal(typeof k, 'number');
    assert.equal(k, ((10 * 256 + 1) * 256 + 2) * 256 * 256 * 256 + 3 * 65536 + 5683);
    assert.equal(peerId({ address: '10.1.2.3', port: 5683 }), k);
    assert.notEqual(peerId({ address: '10.1.2.3', port: 5684 }), k);
    assert.notEqual(peerId({ address: '10.1.2.4', port: 5683 }), k);
    assert.equal(peerId({ address: '255.255.255.255', port: 65535 }), 2 ** 48 - 1);
    assert.equal(peerId({ address: '0.0.0.0', port: 0 }), 0);
  });

  it('falls back to text for IPv6 and for non-canonical or malformed addresses, so distinct strings never share a key', () => {
    for (const address of ['::1', '::ffff:10.1.2.3', '010.1.2.3', '10.1.2', '10.1.2.3.4', '256.1.2.3', '10..2.3', '10.1.2.', '1234.1.2.3', 'a.b.c.d']) {
      assert.equal(peerId({ address, port: 7 }), `${address}|7`, address);
    }
    const keys = new Set<number | string>();
    for (let a = 0; a < 256; a += 51) for (let d = 0; d < 256; d += 17) for (const port of [0, 1, 5683, 65535]) keys.add(peerId({ address: `${a}.0.0.${d}`, port }));
    assert.equal(keys.size, 6 * 16 * 4);
  });

  it('peerOf gives the shared peer object while it matches the address, and a fresh one when stale', () => {
    const shared = { address: '10.0.0.1', port: 1 };
    const r: Registration = { ...registration('a', 'id', 0), address: '10.0.0.1', port: 1, peer: shared };
    assert.equal(peerOf(r), shared);
    const moved: Registration = { ...r, address: '10.0.0.2' };
    assert.deepEqual(peerOf(moved), { address: '10.0.0.2', port: 1 });
    assert.deepEqual(peerOf(registration('b', 'id-b', 0)), { address: '127.0.0.1', port: 1 });
  });
});

describe('presence time table', () => {
  it('keeps each device its own times across growth, and a reused slot starts clean', () => {
    const clock = new TestClock();
    const t0 = clock.now();
    const presence = new Presence(clock, () => 1000);
    for (let i = 0; i < 200; i++) {
      presence.uplink(`d${i}`);
      presence.expectUplink(`d${i}`, i + 1);
      clock.advance(1);
    }
    assert.equal(presence.size, 200);
    assert.deepEqual(presence.state('d150'), { awake: true, lastUplink: t0 + 150, awakeUntil: t0 + 1150, nextExpectedUplink: t0 + 150 + 151_000 });
    presence.forget('d7');
    assert.equal(presence.state('d7'), undefined);
    assert.equal(presence.isAwake('d7'), false);
    presence.uplink('new');
    const s = presence.state('new')!;
    assert.equal(s.nextExpectedUplink, undefined, 'nothing inherited from the slot of d7');
    assert.equal(s.lastUplink, clock.now());
    assert.equal(presence.state('d8')!.lastUplink, t0 + 8);
    clock.advance(5000);
    presence.tick();
    assert.equal(presence.isAwake('d199'), false);
    assert.equal(presence.state('d199')!.awakeUntil, t0 + 1199);
    presence.close();
  });
});

describe('registration store expiry heap', () => {
  it('stays bounded under frequent Updates and still expires each registration once, at its latest expiry', () => {
    const s = new MemoryRegistrationStore();
    for (let i = 0; i < 100; i++) s.add(registration(`e${i}`, `id${i}`, 0, 60));
    for (let round = 1; round <= 50; round++) {
      for (let i = 0; i < 100; i++) s.update(registration(`e${i}`, `id${i}`, round * 1000, 60));
      assert.ok(s.heapSize <= 2 * s.size + 1, `heap ${s.heapSize} for ${s.size} registrations`);
    }
    assert.equal(s.getByEndpoint('e3')?.lastUpdate, 50_000);
    assert.deepEqual(s.removeExpired(50_000 + 60_000, 0), []);
    const expired = s.removeExpired(50_000 + 60_001, 0);
    assert.equal(expired.length, 100);
    assert.equal(new Set(expired.map((r) => r.id)).size, 100);
    assert.equal(s.size, 0);
    assert.equal(s.getByEndpoint('e3'), undefined);
  });

  it('getByEndpoint follows an Update and forgets a removed registration', () => {
    const s = new MemoryRegistrationStore();
    s.add(registration('a', 'id-a', 0));
    s.update({ ...registration('a', 'id-a', 10), binding: 'T' });
    assert.equal(s.getByEndpoint('a')?.binding, 'T');
    assert.equal(s.remove('id-a')?.binding, 'T');
    assert.equal(s.getByEndpoint('a'), undefined);
  });
});

describe('shared observation state', () => {
  it('two devices observing the same path each get their own notifications, with their own observation ids', async () => {
    const h = await startServer();
    try {
      const a = await h.client({ endpoint: 'obs-a' });
      const b = await h.client({ endpoint: 'obs-b' });
      await a.register();
      await b.register();
      const oa = await h.server.send('obs-a', { kind: 'observe', path: '/3/0/3' });
      const ob = await h.server.send('obs-b', { kind: 'observe', path: '/3/0/3' });
      assert.ok(oa.observationId !== undefined && ob.observationId !== undefined);
      assert.notEqual(oa.observationId, ob.observationId);
      const fromB = nextEvent<[NotificationEvent]>(h.server, 'notification', (n) => n.endpoint === 'obs-b');
      await b.setValue('/3/0/3', 'from b');
      const [nb] = await fromB;
      assert.equal(nb.observationId, ob.observationId);
      assert.deepEqual(nb.nodes, [{ path: '/3/0/3', value: 'from b' }]);
      const fromA = nextEvent<[NotificationEvent]>(h.server, 'notification', (n) => n.endpoint === 'obs-a');
      await a.setValue('/3/0/3', 'from a');
      const [na] = await fromA;
      assert.equal(na.observationId, oa.observationId);
      assert.equal(na.path, '/3/0/3');
      assert.deepEqual(na.nodes, [{ path: '/3/0/3', value: 'from a' }]);
    } finally {
      await h.close();
    }
  });
});
