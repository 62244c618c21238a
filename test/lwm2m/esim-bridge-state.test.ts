/**
 * How the 3443 bridge uses State (/3443/0/0) before writing /3443/0/2 (shared/notes/lwm2m.md §1.4): a busy
 * State the device itself just reported is trusted (its ready notification kicks the write, no Read round
 * trip), and when that notification never comes (a lost non-confirmable one) State is read again once the
 * report is stale.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EsimBridge, type EsipaPort } from '../../src/lwm2m/esim-bridge.js';
import type { DownlinkRequest } from '../../src/lwm2m/requests.js';
import { nextEvent, startServer, until } from './harness.js';

const EID = '89049032123451234512345678901235';
const MESSAGE = Uint8Array.of(0xbf, 0x4e, 0x03, 0xbf, 0x53, 0x00);

const esipa: EsipaPort = { handleIpaMessage: async () => undefined };

async function setup(confirmableNotifications: boolean) {
  const h = await startServer({ awakeTimeMs: 93_000 });
  const bridge = new EsimBridge({ server: h.server, esipa });
  // Every downlink the bridge asks for, to see whether State was read.
  const requests: string[] = [];
  const send = h.server.send.bind(h.server);
  h.server.send = ((endpoint: string, request: DownlinkRequest, options?: object) => {
    requests.push(`${request.kind} ${request.path}`);
    return send(endpoint, request, options);
  }) as typeof h.server.send;
  const client = await h.client({ endpoint: 'ipa-s', eid: EID, confirmableNotifications });
  await client.register();
  await until(() => client.observedPaths().length === 2, 3000, 'observations of State and IPA message');
  const busy = nextEvent(h.server, 'notification', (n: { path: string }) => n.path === '/3443/0/0');
  await client.setValue('/3443/0/0', 1);
  await busy;
  return {
    h, bridge, client, requests,
    async close() {
      bridge.close();
      await h.close();
    },
  };
}

describe('object 3443 bridge: State before a write', () => {
  it('waits for the ready notification instead of reading State while a busy report is fresh', async () => {
    const { bridge, client, requests, close } = await setup(false);
    try {
      let settled = false;
      const delivery = bridge.deliver(EID, MESSAGE).finally(() => { settled = true; });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(settled, false, 'nothing is written while the device is busy');
      assert.equal(client.eimMessages.length, 0);
      await client.setValue('/3443/0/0', 0);
      assert.deepEqual(await delivery, { delivered: true });
      assert.deepEqual([...client.eimMessages[0]!], [...MESSAGE]);
      assert.equal(requests.filter((r) => r === 'read /3443/0/0').length, 0, 'no Read of State');
    } finally {
      await close();
    }
  });

  it('reads State again once the busy report is stale, when the ready notification was lost', { timeout: 15_000 }, async () => {
    const { bridge, client, requests, close } = await setup(false);
    try {
      const delivery = bridge.deliver(EID, MESSAGE);
      // The device becomes ready, but its non-confirmable notification is lost (radio off while it leaves).
      client.sleep();
      await client.setValue('/3443/0/0', 0);
      await client.update(); // radio on again; nothing tells the server about State
      const outcome = await Promise.race([delivery, new Promise((r) => setTimeout(() => r('timed out'), 8000))]);
      assert.deepEqual(outcome, { delivered: true });
      assert.equal(requests.filter((r) => r === 'read /3443/0/0').length, 1, 'one Read of State after the report went stale');
      assert.deepEqual([...client.eimMessages[0]!], [...MESSAGE]);
    } finally {
      await close();
    }
  });
});
