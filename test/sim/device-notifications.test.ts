/**
 * Notification modes of the simulated device (src/sim/device.ts): State (/3443/0/0) changes go
 * non-confirmable by default (LwM2M 1.2 default notification mode; an acknowledgement per busy/ready flip
 * would double the datagrams of every eIM message), confirmable when configured; /3443/0/3 stays confirmable.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TransferEimPackageRequest } from '../../src/asn1/esipa.js';
import type { NotificationEvent } from '../../src/lwm2m/requests.js';
import { SimDevice } from '../../src/sim/device.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { EIDS, testPki } from '../eim/harness.js';
import { FAST_COAP, startServer, until } from '../lwm2m/harness.js';

const EID = EIDS[0]!;
const ACKS = TransferEimPackageRequest.encode({ eimAcknowledgements: [] });

async function run(stateNotifications: 'confirmable' | 'non-confirmable' | undefined): Promise<NotificationEvent[]> {
  const h = await startServer({ awakeTimeMs: 5000 });
  const device = await SimDevice.create({
    endpoint: 'dev-n', eid: EID, server: { address: '127.0.0.1', port: h.port }, localAddress: '127.0.0.1', coap: FAST_COAP, lifetime: 300,
    euicc: () => VirtualEuicc.fromPki(testPki(), EID), delivery: 'notify',
    ...(stateNotifications !== undefined ? { stateNotifications } : {}),
  });
  try {
    await device.register();
    await h.server.send('dev-n', { kind: 'observe', path: '/3443/0/0' });
    await h.server.send('dev-n', { kind: 'observe', path: '/3443/0/3' });
    const seen: NotificationEvent[] = [];
    h.server.on('notification', (n: NotificationEvent) => seen.push(n));
    await h.server.send('dev-n', { kind: 'write', path: '/3443/0/2', value: ACKS });
    await until(() => seen.filter((n) => n.path === '/3443/0/0').length === 2 && seen.some((n) => n.path === '/3443/0/3'), 3000, 'State 1, the answer, State 0');
    return seen;
  } finally {
    await device.stop();
    await h.close();
  }
}

describe('simulated device notification modes', () => {
  it('notifies State non-confirmably by default and the IPA message confirmably', async () => {
    const seen = await run(undefined);
    assert.deepEqual(seen.filter((n) => n.path === '/3443/0/0').map((n) => [n.nodes[0]?.value, n.confirmable]), [[1, false], [0, false]]);
    assert.equal(seen.find((n) => n.path === '/3443/0/3')?.confirmable, true);
  });

  it('notifies State confirmably when configured so', async () => {
    const seen = await run('confirmable');
    assert.deepEqual(seen.filter((n) => n.path === '/3443/0/0').map((n) => n.confirmable), [true, true]);
  });
});
