/**
 * A sleeping fleet against the whole eIM over coaps:// (DTLS PSK): 20 devices provisioned with the eIM's
 * AddInitialEim, registered with the core, running PSM schedules with a NAT timeout shorter than their sleep
 * (so they come back from new ports and handshake again); one eIM Package per device, queued while the
 * fleet runs, is injected in a wake window (injection) or fetched by the IPA's poll on wake (retrieval),
 * executed, and every operation ends done.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from '../../src/asn1/hex.js';
import { addInitialEimRequest } from '../../src/eim/identity.js';
import { Fleet } from '../../src/sim/fleet.js';
import { fleetEids, memoryPki, newDevice, provisionCard } from '../../src/sim/fleet-onboarding.js';
import { createTestPki } from '../../src/sim/pki.js';
import { psm } from '../../src/sim/sleep.js';
import { FAST_COAP, startStack, until } from './lwm2m-stack.js';

describe('a sleeping fleet against the eIM over coaps:// (e2e)', () => {
  for (const mode of ['injection', 'retrieval'] as const) {
    it(`20 PSM devices (${mode}) rebind, handshake again and each executes its package; every operation is done`, { timeout: 90_000 }, async () => {
      const eids = fleetEids(20);
      const pki = createTestPki({ eids });
      const stack = await startStack({ secure: true, awakeTimeMs: 700, pki, inject: mode === 'injection' });
      const source = memoryPki(pki);
      const specs = [];
      for (const eid of eids) {
        const { card, associationToken } = await provisionCard(source, eid, addInitialEimRequest(stack.eim.identity));
        const d = newDevice(eid, associationToken);
        await stack.eim.core.registerEuicc({
          eid, endpoint: d.endpoint, euiccCertificate: card.euiccCertificate, eumCertificate: card.eumCertificate,
          ...(associationToken !== undefined ? { associationToken } : {}),
        });
        stack.psks.set(d.pskIdentity, fromHex(d.psk));
        specs.push({ endpoint: d.endpoint, eid, euicc: () => card, security: { kind: 'psk' as const, identity: d.pskIdentity, key: fromHex(d.psk) } });
      }
      const fleet = new Fleet({
        server: { address: '127.0.0.1', port: stack.port },
        devices: specs,
        schedule: psm({ periodMs: 2500, awakeMs: 900, jitter: 0.2 }),
        natTimeoutMs: 1000,
        localAddress: '127.0.0.1',
        coap: FAST_COAP,
        handshakeTimeoutMs: 5000,
        registerConcurrency: 10,
        mode,
      });
      try {
        fleet.start();
        await fleet.whenRegistered(30_000);
        const ops = await Promise.all(eids.map((eid) => stack.eim.core.submit(eid, { kind: 'get-rat' })));
        await until(async () => {
          const states = await Promise.all(ops.map(async (op) => (await stack.eim.store.getOperation(op.id))?.state));
          return states.every((s) => s === 'done');
        }, 60_000, 'every operation done');
        assert.equal(fleet.stats.packagesExecuted >= 20, true);
        await until(() => fleet.stats.rebinds > 0, 10_000, 'a device back from a new port');
        const handshakes = fleet.devices().reduce((n, d) => n + d.link.handshakes, 0);
        assert.ok(handshakes > 20, `new handshakes after rebinding (${handshakes})`);
        assert.equal(fleet.stats.errors, 0, fleet.stats.lastErrors.join('; '));
      } finally {
        await fleet.stop();
        await stack.close();
      }
    });
  }
});
