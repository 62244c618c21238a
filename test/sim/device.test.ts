/**
 * One simulated device (src/sim/device.ts) against a bare LwM2M server on 127.0.0.1: object 3443 State
 * goes busy while the IPA works, the answer comes back by Send or by a confirmable notification, Execute
 * /3443/0/4 is honoured, an eDRX device gets a downlink only at its paging occasion, and a PSM device that
 * sleeps hears nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransferEimPackageRequest } from '../../src/asn1/esipa.js';
import type { NotificationEvent, SendEvent } from '../../src/lwm2m/requests.js';
import { SimDevice } from '../../src/sim/device.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { EIDS, testPki } from '../eim/harness.js';
import { FAST_COAP, nextEvent, startServer, until } from '../lwm2m/harness.js';

const EID = EIDS[0]!;
const ACKS = TransferEimPackageRequest.encode({ eimAcknowledgements: [] });
const RECEIVED = [0xbf, 0x4e, 0x02, 0x05, 0x00];

async function setup(options: { queueMode?: boolean; delivery?: 'send' | 'notify' } = {}) {
  const h = await startServer({ awakeTimeMs: 2000 });
  const device = await SimDevice.create({
    endpoint: 'dev-1', eid: EID, server: { address: '127.0.0.1', port: h.port }, localAddress: '127.0.0.1', coap: FAST_COAP, lifetime: 300,
    euicc: () => VirtualEuicc.fromPki(testPki(), EID),
    ...(options.queueMode !== undefined ? { queueMode: options.queueMode } : {}),
    ...(options.delivery !== undefined ? { delivery: options.delivery } : {}),
  });
  await device.register();
  return {
    h, device,
    async close() {
      await device.stop();
      await h.close();
    },
  };
}

describe('simulated device on object 3443', () => {
  it('reports State 1 while it processes an eIM message, 0 afterwards, and Sends the IPA answer', async () => {
    const { h, device, close } = await setup();
    try {
      assert.equal(device.cardLoaded, false, 'no card before the first eIM message');
      await h.server.send('dev-1', { kind: 'observe', path: '/3443/0/0' });
      const states: unknown[] = [];
      h.server.on('notification', (n: NotificationEvent) => {
        if (n.path === '/3443/0/0') states.push(n.nodes[0]?.value);
      });
      const sent = nextEvent<[SendEvent]>(h.server, 'send');
      const write = await h.server.send('dev-1', { kind: 'write', path: '/3443/0/2', value: ACKS });
      assert.equal(write.code, '2.04');
      const [s] = await sent;
      assert.deepEqual([...(s.nodes.find((n) => n.path === '/3443/0/3')!.value as Uint8Array)], RECEIVED);
      await until(() => states.length === 2, 3000, 'two State notifications');
      assert.deepEqual(states, [1, 0]);
      assert.equal(device.cardLoaded, true);
      assert.equal(device.counters.errors, 0);
    } finally {
      await close();
    }
  });

  it('publishes by confirmable notification when the server observes /3443/0/3, and honours Execute /3443/0/4', async () => {
    const { h, device, close } = await setup({ delivery: 'notify' });
    try {
      await h.server.send('dev-1', { kind: 'observe', path: '/3443/0/3' });
      const notified = nextEvent<[NotificationEvent]>(h.server, 'notification', (n) => n.path === '/3443/0/3' && n.payload.length > 0);
      await h.server.send('dev-1', { kind: 'write', path: '/3443/0/2', value: ACKS });
      const [n] = await notified;
      assert.equal(n.confirmable, true);
      assert.deepEqual([...n.payload], RECEIVED);
      const executed = await h.server.send('dev-1', { kind: 'execute', path: '/3443/0/4' });
      assert.equal(executed.code, '2.04');
      await until(() => device.counters.cleared === 1, 2000, 'clear counted');
      assert.equal((device.client.getValue('/3443/0/3') as Uint8Array).length, 0);
    } finally {
      await close();
    }
  });

  it('in eDRX a downlink is held by the network until the paging occasion', async () => {
    const { h, device, close } = await setup({ queueMode: false });
    try {
      await device.sleep('edrx');
      const answer = h.server.send('dev-1', { kind: 'read', path: '/3443/0/1' });
      let settled = false;
      void answer.then(() => (settled = true), () => (settled = true));
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(settled, false, 'no answer before the paging occasion');
      device.page();
      const read = await answer;
      assert.equal(read.code, '2.05');
      assert.equal(read.nodes[0]?.value, EID);
    } finally {
      await close();
    }
  });

  it('in PSM the device hears nothing until it wakes with an Update', async () => {
    const { h, device, close } = await setup();
    try {
      await device.sleep('psm');
      await until(() => !h.server.presence.isAwake('dev-1'), 4000, 'asleep on the server');
      const write = h.server.send('dev-1', { kind: 'write', path: '/3443/0/2', value: ACKS });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(device.client.eimMessages.length, 0);
      const updated = nextEvent(h.server, 'updated');
      await device.wake();
      await updated;
      assert.equal((await write).code, '2.04');
      assert.equal(device.counters.wakes, 1);
    } finally {
      await close();
    }
  });
});
