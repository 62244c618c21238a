/**
 * A simulated device (virtual eUICC + IPA + LwM2M client on object 3443) against the real server stack:
 * Lwm2mServer + EsimBridge + EsipaHandler + EimCore on SQLite, over coap:// and coaps:// (PSK). An eIM
 * Package queued while the device sleeps is delivered in its next awake window, by injection and by
 * retrieval, executed by the card, and its signed result reaches the core.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FIXTURE_ICCIDS } from '../../src/sim/euicc/test-eim.js';
import { EIDS } from '../eim/harness.js';
import { startStack, until } from './lwm2m-stack.js';

const [EID_A, EID_B] = EIDS as [string, string, string];
const sleepingOnServer = (stack: { server: { presence: { isAwake(e: string): boolean } } }, endpoint: string) => () => !stack.server.presence.isAwake(endpoint);

describe('simulated device over LwM2M object 3443 (e2e)', () => {
  for (const secure of [false, true]) {
    it(`injection over ${secure ? 'coaps:// with PSK' : 'coap://'}: a package queued while the device sleeps is written in its next window, executed, and its result applied`, { timeout: 30_000 }, async () => {
      const stack = await startStack({ secure, awakeTimeMs: 800 });
      try {
        const device = await stack.device(EID_A, { mode: 'injection' });
        const bound = new Promise((resolve) => stack.bridge.once('bound', resolve));
        await device.register();
        await bound;
        await until(() => device.client.observedPaths().length === 2, 5000, 'observations of /3443/0/0 and /3443/0/3');
        if (secure) assert.equal(device.link.handshakes, 1);
        await device.sleep('psm');
        await until(sleepingOnServer(stack, device.endpoint), 5000, 'server sees the device asleep');

        const op = await stack.eim.core.submit(EID_A, { kind: 'enable', iccid: FIXTURE_ICCIDS[1] });
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(device.counters.packagesExecuted, 0, 'nothing reaches a sleeping device');

        await device.wake();
        await until(async () => (await stack.eim.store.getOperation(op.id))?.state === 'done', 10_000, 'operation done');
        const card = (await device.ipa()).euicc;
        assert.equal(card.enabledProfile()?.iccid, FIXTURE_ICCIDS[1]);
        const profiles = await stack.eim.store.listProfiles(EID_A);
        assert.equal(profiles.find((p) => p.iccid === FIXTURE_ICCIDS[1])?.state, 'enabled');
        assert.equal(device.counters.packagesExecuted, 1);
        assert.ok(device.counters.resultsDelivered >= 1);
        // The eIM then acknowledges the result and the notifications; the card forgets them.
        await until(() => card.retrieveNotificationsList().length === 0 && card.storedPackageResults().length === 0, 10_000, 'acknowledgements applied on the card');
        await device.idle();
        assert.equal(device.client.getValue('/3443/0/0'), 0, 'ready again after the work');
        assert.equal(device.counters.errors, 0);
      } finally {
        await stack.close();
      }
    });
  }

  it('retrieval over coaps://: on wake the IPA polls, runs the package, delivers the result and polls again', { timeout: 30_000 }, async () => {
    const stack = await startStack({ secure: true, inject: false, awakeTimeMs: 800 });
    try {
      const device = await stack.device(EID_B, { mode: 'retrieval', delivery: 'notify' });
      const polls: number[] = [];
      stack.handled.on('handled', (_eid: string, message: Uint8Array) => {
        if (message[0] === 0xbf && message[1] === 0x4f) polls.push(Date.now());
      });
      await device.register();
      await until(() => polls.length === 1, 5000, 'the first poll after Register');
      await device.sleep('psm');
      await until(sleepingOnServer(stack, device.endpoint), 5000, 'asleep');

      const op = await stack.eim.core.submit(EID_B, { kind: 'list-profiles' });
      await device.wake();
      await until(async () => (await stack.eim.store.getOperation(op.id))?.state === 'done', 10_000, 'operation done');
      const profiles = await stack.eim.store.listProfiles(EID_B);
      assert.deepEqual(profiles.map((p) => [p.iccid, p.state]).sort(), [[FIXTURE_ICCIDS[0], 'enabled'], [FIXTURE_ICCIDS[1], 'disabled']]);
      // After the acknowledgement the IPA asks again and hears there is nothing more.
      await until(() => polls.length >= 3, 5000, 'a poll after the result');
      await device.idle();
      assert.equal(device.counters.packagesExecuted, 1);
      assert.equal(device.counters.errors, 0);
    } finally {
      await stack.close();
    }
  });

  it('NAT rebinding over coaps://: after sleeping the device comes back from a new port, handshakes again and still gets its package', { timeout: 30_000 }, async () => {
    const stack = await startStack({ secure: true, awakeTimeMs: 800 });
    try {
      const device = await stack.device(EID_A, { mode: 'injection' });
      const bound = new Promise((resolve) => stack.bridge.once('bound', resolve));
      await device.register();
      await bound;
      await until(() => device.client.observedPaths().length === 2, 5000, 'observations');
      const firstPort = device.link.localPort;
      assert.equal(stack.server.registrations.getByEndpoint(device.endpoint)?.port, firstPort);
      await device.sleep('psm');
      await until(sleepingOnServer(stack, device.endpoint), 5000, 'asleep');

      const op = await stack.eim.core.submit(EID_A, { kind: 'get-rat' });
      await device.wake({ rebind: true });
      assert.equal(device.link.handshakes, 2, 'a second full handshake');
      assert.notEqual(device.link.localPort, firstPort);
      assert.equal(stack.server.registrations.getByEndpoint(device.endpoint)?.port, device.link.localPort, 'the registration follows the device');
      await until(async () => (await stack.eim.store.getOperation(op.id))?.state === 'done', 10_000, 'operation done after rebinding');
      assert.equal(device.counters.errors, 0);
    } finally {
      await stack.close();
    }
  });

  it('a device whose DTLS session the server dropped while it slept times out once, handshakes again from a new port and carries on', { timeout: 30_000 }, async () => {
    const stack = await startStack({ secure: true, awakeTimeMs: 800, dtlsIdleTimeoutMs: 400 });
    try {
      const device = await stack.device(EID_A, { mode: 'injection' });
      const bound = new Promise((resolve) => stack.bridge.once('bound', resolve));
      await device.register();
      await bound;
      await until(() => device.client.observedPaths().length === 2, 5000, 'observations');
      await device.sleep('psm');
      await new Promise((r) => setTimeout(r, 1200)); // the server forgets the idle session; the port is kept
      const op = await stack.eim.core.submit(EID_A, { kind: 'get-rat' });
      await device.wake();
      assert.equal(device.link.handshakes, 2, 'the silent Update led to a new handshake');
      await until(async () => (await stack.eim.store.getOperation(op.id))?.state === 'done', 10_000, 'operation done after the new handshake');
    } finally {
      await stack.close();
    }
  });
});
