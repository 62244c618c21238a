import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EID } from '../eim/harness.js';
import { downloadFixture } from './download-fixture.js';

/** HandleNotificationEsipa (BF3D): how the IPA delivers the ProfileInstallationResult of an indirect download. */
const isHandleNotification = (der: Uint8Array): boolean => der[0] === 0xbf && der[1] === 0x3d;

describe('indirect download: the operation ends on the core verdict about the PIR', () => {
  it('leaves the operation sent when the core stored the PIR without a known eUICC key', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-1`);
      const r = await f.download(trigger, {
        send: async (der) => {
          // As if the eIM had never learnt the eUICC key: the core can only store the PIR unverified.
          if (isHandleNotification(der)) await f.h.store.commit((tx) => tx.patchEuicc(EID, { euiccCertificate: undefined, eumCertificate: undefined }));
          const o = await f.esipa.handle(der, { eid: EID });
          return o.kind === 'response' ? o.der : undefined;
        },
      });
      assert.equal(r.outcome, 'installed', 'the card installed the profile');
      const [n] = await f.h.store.listNotifications(EID);
      assert.ok(n !== undefined && n.kind === 'install', 'the PIR is stored');
      assert.notEqual(n.verified, true, 'stored unverified');
      const op = await f.h.store.getOperation(operationId);
      assert.equal(op?.state, 'sent', 'an unverified PIR does not end the operation: it is left to its timeout');
      assert.deepEqual(await f.h.store.listProfiles(EID), [], 'nor does it change the inventory');
      assert.ok(!f.h.events.some((e) => e.type === 'operation.changed' && e.operationId === operationId && e.state !== 'queued' && e.state !== 'sent'));
    } finally {
      await f.close();
    }
  });

  it('acts on the verdict it is handed and does not verify the PIR again itself', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      // The core verifies and stores the PIR as usual; the relay is told "unverified" all the same. A relay that
      // re-checked the signature with the stored (valid) eUICC certificate would end the operation anyway.
      const handOn = f.relay.notificationReceived.bind(f.relay);
      f.relay.notificationReceived = (eid, n, stored) => handOn(eid, n, stored === undefined ? undefined : { ...stored, verified: false });
      const r = await f.download(trigger);
      assert.equal(r.outcome, 'installed');
      const [n] = await f.h.store.listNotifications(EID);
      assert.equal(n?.verified, true, 'the core stored it verified');
      assert.equal((await f.h.store.getOperation(operationId))?.state, 'sent', 'the relay went by the verdict it was given');
    } finally {
      await f.close();
    }
  });

  it('ends the operation done when the core verified the PIR with the eUICC key', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const r = await f.download(trigger);
      assert.equal(r.outcome, 'installed');
      const [n] = await f.h.store.listNotifications(EID);
      assert.ok(n !== undefined && n.kind === 'install');
      assert.equal(n.verified, true, 'stored verified');
      const op = await f.h.store.getOperation(operationId);
      assert.equal(op?.state, 'done');
      assert.equal((op?.result as { iccid?: string }).iccid, '8944000000000000029');
      const done = f.h.events.filter((e) => e.type === 'operation.changed' && e.operationId === operationId && e.state === 'done');
      assert.equal(done.length, 1, 'one operation.changed event for the completion');
    } finally {
      await f.close();
    }
  });
});
