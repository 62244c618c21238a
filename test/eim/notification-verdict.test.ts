import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotificationMetadata, PendingNotification } from '../../src/asn1/rsp.js';
import { decode, type Received } from '../../src/asn1/schema.js';
import { signEcdsa } from '../../src/crypto/ecdsa.js';
import { ResultRejectedError } from '../../src/eim/errors.js';
import { EID, harness, type Harness } from './harness.js';

const ICCID = '8944000000000000011';

/** An OtherSignedNotification (enable) signed by the eUICC of `eid` (or with a flipped signature bit). */
function enableNotification(h: Harness, eid: string, seqNumber: number, forged = false): { n: Received<PendingNotification>; der: Uint8Array } {
  const metadata = { seqNumber, profileManagementOperation: ['notificationEnable'], notificationAddress: 'smdp.example.com', iccid: ICCID };
  const signature = signEcdsa(h.pki.euiccs.get(eid)!.privateKey, NotificationMetadata.encode(metadata));
  if (forged) signature[10] = signature[10]! ^ 0x01;
  const der = PendingNotification.encode({
    otherSignedNotification: { tbsOtherNotification: metadata, euiccNotificationSignature: signature, euiccCertificate: h.pki.euiccs.get(eid)!.certificate, eumCertificate: h.pki.eum.certificate },
  });
  return { n: decode(PendingNotification, der), der };
}

describe('the core records whether it stored a notification verified', () => {
  it('stores a notification checked with the validated eUICC key as verified, and a duplicate keeps that verdict', async () => {
    const h = await harness();
    try {
      const { n, der } = enableNotification(h, EID, 7);
      const first = await h.core.applyNotification(EID, n, der);
      assert.equal(first.verified, true);
      assert.equal(first.seqNumber, 7);
      const again = await h.core.applyNotification(EID, n, der);
      assert.equal(again.verified, true, 'the same notification delivered again keeps its verdict');
      const stored = await h.store.getNotification(EID, 7);
      assert.equal(stored?.verified, true);
      assert.deepEqual(stored?.payload, der);
    } finally {
      await h.close();
    }
  });

  it('keeps the verdict across a restart on the same database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-verdict-'));
    const dbPath = join(dir, 'kept.db');
    try {
      const before = await harness({ dbPath });
      const { n, der } = enableNotification(before, EID, 5);
      await before.core.applyNotification(EID, n, der);
      await before.close();
      const h = await harness({ dbPath, register: false });
      try {
        assert.equal((await h.store.getNotification(EID, 5))?.verified, true);
        assert.equal((await h.core.applyNotification(EID, n, der)).verified, true, 'a duplicate after the restart is still the verified copy');
      } finally {
        await h.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores a notification unverified while no eUICC key is known, and does not re-judge it once the key is known', async () => {
    const h = await harness({ register: false });
    try {
      await h.core.registerEuicc({ eid: EID });
      const { n, der } = enableNotification(h, EID, 3);
      const stored = await h.core.applyNotification(EID, n, der);
      assert.notEqual(stored.verified, true);
      assert.deepEqual(await h.store.listProfiles(EID), [], 'an unverified notification changes no profile');
      await h.core.registerEuicc({ eid: EID, euiccCertificate: h.pki.euiccs.get(EID)!.certificate, eumCertificate: h.pki.eum.certificate });
      assert.notEqual((await h.store.getNotification(EID, 3))?.verified, true, 'the stored copy was never checked');
      assert.notEqual((await h.core.applyNotification(EID, n, der)).verified, true, 'a duplicate is not re-judged');
    } finally {
      await h.close();
    }
  });

  it('refuses and does not store a notification whose signature fails with the known key', async () => {
    const h = await harness();
    try {
      const { n, der } = enableNotification(h, EID, 9, true);
      await assert.rejects(h.core.applyNotification(EID, n, der), ResultRejectedError);
      assert.equal(await h.store.getNotification(EID, 9), undefined);
    } finally {
      await h.close();
    }
  });
});
