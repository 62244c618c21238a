import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextEvent, startServer, TestClock } from './harness.js';

describe('queue mode', () => {
  it('a request made while the device sleeps is delivered when it sends an Update, not before', async () => {
    const h = await startServer({ awakeTimeMs: 200 });
    try {
      const client = await h.client({ endpoint: 'q-1' });
      await client.register();
      client.sleep();
      await nextEvent(h.server, 'sleeping', (e) => e === 'q-1');
      assert.equal(h.server.presence.isAwake('q-1'), false);
      let answered = false;
      const pending = h.server.send('q-1', { kind: 'write', path: '/1/0/1', value: 1234 }).then((r) => { answered = true; return r; });
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(answered, false);
      assert.equal(h.server.pendingRequests('q-1'), 1);
      assert.equal(client.getValue('/1/0/1'), 300, 'device untouched while asleep');
      const awake = nextEvent(h.server, 'awake', (e) => e === 'q-1');
      await client.update();
      await awake;
      const r = await pending;
      assert.equal(r.code, '2.04');
      assert.equal(client.getValue('/1/0/1'), 1234);
      assert.equal(h.server.pendingRequests('q-1'), 0);
    } finally {
      await h.close();
    }
  });

  it('a request that times out stays queued and goes out in the next awake window', async () => {
    const h = await startServer({ awakeTimeMs: 10_000 });
    try {
      const client = await h.client({ endpoint: 'q-2' });
      await client.register();
      client.sleep(); // radio off without telling the server: the server still thinks it is awake
      const sleeping = nextEvent(h.server, 'sleeping', (e) => e === 'q-2');
      const pending = h.server.send('q-2', { kind: 'write', path: '/3443/0/2', value: Uint8Array.of(0xbf, 0x4e, 1) });
      await sleeping; // the timeout told the server it sleeps
      assert.equal(h.server.pendingRequests('q-2'), 1);
      assert.equal(client.eimMessages.length, 0);
      await client.update();
      const r = await pending;
      assert.equal(r.code, '2.04');
      assert.deepEqual([...client.eimMessages[0]!], [0xbf, 0x4e, 1]);
    } finally {
      await h.close();
    }
  });

  it('sends queued requests one at a time in the order they were made', async () => {
    const h = await startServer({ awakeTimeMs: 200 });
    try {
      const client = await h.client({ endpoint: 'q-3' });
      await client.register();
      client.sleep();
      await nextEvent(h.server, 'sleeping', (e) => e === 'q-3');
      const all = [1, 2, 3].map((i) => h.server.send('q-3', { kind: 'write', path: '/3443/0/2', value: Uint8Array.of(i) }));
      assert.equal(h.server.pendingRequests('q-3'), 3);
      await client.update();
      const results = await Promise.all(all);
      assert.deepEqual(results.map((r) => r.code), ['2.04', '2.04', '2.04']);
      assert.deepEqual(client.eimMessages.map((m) => m[0]), [1, 2, 3]);
    } finally {
      await h.close();
    }
  });

  it('any uplink opens the window: a Send wakes a sleeping device', async () => {
    const h = await startServer({ awakeTimeMs: 200 });
    try {
      const client = await h.client({ endpoint: 'q-4' });
      await client.register();
      client.sleep();
      await nextEvent(h.server, 'sleeping', (e) => e === 'q-4');
      const pending = h.server.send('q-4', { kind: 'read', path: '/3/0/2' });
      const awake = nextEvent(h.server, 'awake', (e) => e === 'q-4');
      assert.equal(await client.send([{ path: '/3/0/0', value: 'hello' }]), '2.04');
      await awake;
      const r = await pending;
      assert.deepEqual(r.nodes, [{ path: '/3/0/2', value: 'q-4' }]);
    } finally {
      await h.close();
    }
  });

  it('presence reports last uplink, window end and the next expected Update from the lifetime', async () => {
    const clock = new TestClock();
    const h = await startServer({ clock, awakeTimeMs: 93_000 });
    try {
      const client = await h.client({ endpoint: 'q-5', lifetime: 600 });
      const t0 = clock.now();
      await client.register();
      const s = h.server.presence.state('q-5')!;
      assert.equal(s.awake, true);
      assert.equal(s.lastUplink, t0);
      assert.equal(s.awakeUntil, t0 + 93_000);
      assert.equal(s.nextExpectedUplink, t0 + 600_000);
      clock.advance(92_000);
      h.server.tick();
      assert.equal(h.server.presence.isAwake('q-5'), true);
      const sleeping = nextEvent(h.server, 'sleeping', (e) => e === 'q-5');
      clock.advance(2_000);
      h.server.tick();
      await sleeping;
      assert.equal(h.server.presence.state('q-5')!.awake, false);
    } finally {
      await h.close();
    }
  });

  it('a queued request with a queue timeout is rejected if the device does not wake in time', async () => {
    const clock = new TestClock();
    const h = await startServer({ clock, awakeTimeMs: 1000 });
    try {
      const client = await h.client({ endpoint: 'q-6' });
      await client.register();
      client.sleep();
      clock.advance(2000);
      h.server.tick();
      const pending = h.server.send('q-6', { kind: 'read', path: '/3/0/0' }, { queueTimeoutMs: 5000 });
      const rejected = assert.rejects(pending, /expired in the queue/);
      clock.advance(6000);
      await client.update();
      await rejected;
    } finally {
      await h.close();
    }
  });

  it('non-queue-mode devices get requests at once and a timeout is an error, not a requeue', async () => {
    const h = await startServer();
    try {
      const client = await h.client({ endpoint: 'q-7', queueMode: false });
      await client.register();
      assert.equal(h.server.registrations.getByEndpoint('q-7')!.queueMode, false);
      client.sleep();
      await assert.rejects(h.server.send('q-7', { kind: 'read', path: '/3/0/0' }), /no acknowledgement|no response/);
      assert.equal(h.server.pendingRequests('q-7'), 0);
    } finally {
      await h.close();
    }
  });
});
