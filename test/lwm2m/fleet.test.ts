import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextEvent, startServer, until } from './harness.js';
import type { Lwm2mClient } from '../../src/sim/lwm2m-client.js';

const FLEET = 200;

describe('a fleet in queue mode (issue 4)', () => {
  it('200 clients register, sleep, wake with an Update and answer a Write inside their window', { timeout: 60_000 }, async () => {
    const h = await startServer({ awakeTimeMs: 1000 });
    try {
      const clients: Lwm2mClient[] = [];
      for (let i = 0; i < FLEET; i++) clients.push(await h.client({ endpoint: `fleet-${i}` }));
      await Promise.all(clients.map((c) => c.register()));
      assert.equal(h.server.registrations.size, FLEET);
      for (const c of clients) c.sleep();
      await until(() => clients.every((c) => !h.server.presence.isAwake(c.endpointName)), 5000, 'whole fleet asleep');

      const writes = clients.map((c, i) => h.server.send(c.endpointName, { kind: 'write', path: '/3443/0/2', value: Uint8Array.of(0xbf, 0x4e, i & 0xff, i >> 8) }));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(clients.filter((c) => c.eimMessages.length > 0).length, 0, 'nothing delivered while asleep');

      const woke = new Set<string>();
      h.server.on('awake', (endpoint: string) => woke.add(endpoint));
      const updatedAll = Promise.all(clients.map((c) => c.update()));
      const results = await Promise.all(writes);
      await updatedAll;
      assert.equal(woke.size, FLEET, 'every device opened a window');
      assert.ok(results.every((r) => r.code === '2.04'));
      clients.forEach((c, i) => assert.deepEqual([...c.eimMessages[0]!], [0xbf, 0x4e, i & 0xff, i >> 8], c.endpointName));
      // All of them went back to sleep afterwards.
      await nextEvent(h.server, 'sleeping', () => true, 3000);
    } finally {
      await h.close();
    }
  });
});
