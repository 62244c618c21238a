import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Code, decodeMessage, Opt, uriPath } from '../../src/lwm2m/coap/message.js';
import { nextEvent, startServer, TestClock } from './harness.js';
import { RawPeer } from './raw-peer.js';
import type { Registration } from '../../src/lwm2m/registration.js';
import { objectLinks } from '../../src/lwm2m/registration.js';

describe('LwM2M registration interface', () => {
  it('registers a 1.1 client in queue mode with Q and keeps its object versions', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'dev-11', lwm2mVersion: '1.1' });
      const registered = nextEvent<[Registration]>(h.server, 'registered');
      await client.register();
      const [r] = await registered;
      assert.equal(r.endpoint, 'dev-11');
      assert.equal(r.lwm2mVersion, '1.1');
      assert.equal(r.queueMode, true);
      assert.equal(r.binding, 'U');
      assert.equal(r.lifetime, 300);
      assert.equal(client.location, `/rd/${r.id}`);
      const links = objectLinks(r);
      assert.equal(links.objectVersions.get(3443), '1.0');
      assert.deepEqual(links.instances.get(3443), [0]);
      assert.ok(links.contentFormats.includes(112));
      assert.equal(h.server.presence.isAwake('dev-11'), true);
    } finally {
      await h.close();
    }
  });

  it('reads queue mode from the 1.0 form b=UQ', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'dev-10', lwm2mVersion: '1.0' });
      const registered = nextEvent<[Registration]>(h.server, 'registered');
      await client.register();
      const [r] = await registered;
      assert.equal(r.lwm2mVersion, '1.0');
      assert.equal(r.queueMode, true);
      assert.equal(r.binding, 'U');
    } finally {
      await h.close();
    }
  });

  it('updates the lifetime and deregisters with an event carrying the reason', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'dev-u' });
      await client.register();
      const updated = nextEvent<[Registration, Registration]>(h.server, 'updated');
      await client.update({ lifetime: 600 });
      const [now, before] = await updated;
      assert.equal(before.lifetime, 300);
      assert.equal(now.lifetime, 600);
      const gone = nextEvent<[Registration, string]>(h.server, 'deregistered');
      await client.deregister();
      const [r, reason] = await gone;
      assert.equal(r.endpoint, 'dev-u');
      assert.equal(reason, 'deregistered');
      assert.equal(h.server.registrations.getByEndpoint('dev-u'), undefined);
    } finally {
      await h.close();
    }
  });

  it('expires a registration after lifetime plus grace, not before', async () => {
    const clock = new TestClock();
    const h = await startServer({ clock, lifetimeGraceMs: 10_000 });
    try {
      const client = await h.client({ endpoint: 'dev-exp', lifetime: 60 });
      await client.register();
      clock.advance(60_000 + 9_000);
      h.server.tick();
      assert.ok(h.server.registrations.getByEndpoint('dev-exp'), 'still registered inside the grace period');
      const gone = nextEvent<[Registration, string]>(h.server, 'deregistered');
      clock.advance(2_000);
      h.server.tick();
      const [, reason] = await gone;
      assert.equal(reason, 'expired');
      assert.equal(h.server.registrations.getByEndpoint('dev-exp'), undefined);
    } finally {
      await h.close();
    }
  });

  it('an Update pushes expiry out by a full lifetime', async () => {
    const clock = new TestClock();
    const h = await startServer({ clock, lifetimeGraceMs: 0 });
    try {
      const client = await h.client({ endpoint: 'dev-upd', lifetime: 60 });
      await client.register();
      clock.advance(50_000);
      await client.update();
      clock.advance(50_000);
      h.server.tick();
      assert.ok(h.server.registrations.getByEndpoint('dev-upd'));
      clock.advance(11_000);
      h.server.tick();
      assert.equal(h.server.registrations.getByEndpoint('dev-upd'), undefined);
    } finally {
      await h.close();
    }
  });

  it('a new Register of the same endpoint replaces the old registration', async () => {
    const h = await startServer();
    try {
      const first = await h.client({ endpoint: 'dev-r' });
      await first.register();
      const old = h.server.registrations.getByEndpoint('dev-r')!;
      const second = await h.client({ endpoint: 'dev-r' });
      const gone = nextEvent<[Registration, string]>(h.server, 'deregistered');
      await second.register();
      const [r, reason] = await gone;
      assert.equal(r.id, old.id);
      assert.equal(reason, 'replaced');
      const current = h.server.registrations.getByEndpoint('dev-r')!;
      assert.notEqual(current.id, old.id);
      assert.equal(h.server.registrations.size, 1);
      await assert.rejects(first.update(), /4\.04/);
    } finally {
      await h.close();
    }
  });

  it('refuses a registration the authorize hook rejects', async () => {
    const h = await startServer({ authorize: (endpoint) => endpoint !== 'intruder' });
    try {
      const client = await h.client({ endpoint: 'intruder' });
      await assert.rejects(client.register(), /4\.03/);
      assert.equal(h.server.registrations.size, 0);
    } finally {
      await h.close();
    }
  });

  it('an Update from a new address moves the registration there (NAT rebinding)', async () => {
    const h = await startServer();
    const peer = await RawPeer.open(h.port);
    try {
      const client = await h.client({ endpoint: 'dev-move' });
      await client.register();
      const location = client.location!.split('/').filter(Boolean);
      const answer = await peer.request(Code.POST, location);
      assert.equal(answer?.code, Code.Changed);
      const moved = h.server.registrations.getByEndpoint('dev-move')!;
      assert.equal(moved.port, peer.socket.address().port);
      // The next downlink goes to the new address.
      const seen = new Promise<string>((resolve) => peer.socket.once('message', (m: Buffer) => resolve(uriPath(decodeMessage(m)))));
      void h.server.send('dev-move', { kind: 'read', path: '/3/0/0' }, { timeoutMs: 300 }).catch(() => undefined);
      assert.equal(await seen, '/3/0/0');
    } finally {
      peer.close();
      await h.close();
    }
  });

  it('a 1.1 Update with b=U keeps queue mode; a 1.0 Update with b=U ends it', async () => {
    const h = await startServer();
    const peer = await RawPeer.open(h.port);
    try {
      const register = async (ep: string, query: string[]) => {
        const r = await peer.request(Code.POST, ['rd'], [], Buffer.from('</3/0>'), [`ep=${ep}`, ...query]);
        assert.equal(r?.code, Code.Created);
        return r!.options.filter((o) => o.number === Opt.LocationPath).map((o) => Buffer.from(o.value).toString());
      };
      const l11 = await register('v11', ['lwm2m=1.1', 'b=U', 'Q']);
      assert.equal((await peer.request(Code.POST, l11, [], new Uint8Array(0), ['b=U']))?.code, Code.Changed);
      assert.equal(h.server.registrations.getByEndpoint('v11')!.queueMode, true);
      const l10 = await register('v10', ['lwm2m=1.0', 'b=UQ']);
      assert.equal((await peer.request(Code.POST, l10, [], new Uint8Array(0), ['b=U']))?.code, Code.Changed);
      assert.equal(h.server.registrations.getByEndpoint('v10')!.queueMode, false);
    } finally {
      peer.close();
      await h.close();
    }
  });
});
