import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EsipaMessageFromIpaToEim, GetEimPackageResponse } from '../../src/asn1/esipa.js';
import { bytesEqual } from '../../src/asn1/hex.js';
import { decode } from '../../src/asn1/schema.js';
import { EsipaHandler } from '../../src/esipa/esipa-handler.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { Ipa } from '../../src/sim/ipa.js';
import { EID, harness } from '../eim/harness.js';
import { downloadFixture } from './download-fixture.js';

describe('download: certificate capture and direct download', () => {
  it('captures the eUICC and EUM certificates from AuthenticateClient when the eIM did not know them', async () => {
    const f = await downloadFixture({ register: false });
    try {
      await f.h.core.registerEuicc({ eid: EID });
      const op = await f.h.core.submit(EID, { kind: 'download', activationCode: `1$${f.smdp.address}$MATCH-2` });
      // The core would first fetch the certificates itself; put the download in flight directly to test the relay alone.
      const eimTransactionId = new Uint8Array(randomBytes(16));
      await f.h.store.commit((tx) => tx.updateOperation(op.id, { state: 'sent', eimTransactionId, sentAt: f.h.clock.now, attempts: 1 }, { expectedState: 'queued' }));
      const r = await f.download({ profileDownloadData: { activationCode: `1$${f.smdp.address}$MATCH-2` }, eimTransactionId });
      assert.equal(r.outcome, 'installed');
      const euicc = await f.h.store.getEuicc(EID);
      assert.ok(euicc?.euiccCertificate !== undefined && bytesEqual(euicc.euiccCertificate, f.card.euiccCertificate));
      assert.ok(euicc?.eumCertificate !== undefined && bytesEqual(euicc.eumCertificate, f.card.eumCertificate));
      assert.equal((await f.h.store.getOperation(op.id))?.state, 'done');
      assert.ok((await f.h.store.listProfiles(EID)).some((p) => p.iccid === '8944000000000000029'), 'the PIR verified with the captured key updated the inventory');
    } finally {
      await f.close();
    }
  });

  it('completes a direct download from a ProfileInstallationResult verified with the eUICC key, and refuses a forged one', async () => {
    const h = await harness();
    try {
      const esipa = new EsipaHandler({ core: h.core });
      const ipa = new Ipa(VirtualEuicc.fromPki(h.pki, EID));
      const poll = async () => {
        const o = await esipa.handle(ipa.pollRequest(), { eid: EID });
        assert.equal(o.kind, 'response');
        return (o as { der: Uint8Array }).der;
      };
      const forged = await h.core.submit(EID, { kind: 'download', activationCode: '1$smdp.example.com$FORGED' });
      const pkg1 = await poll();
      assert.ok('profileDownloadTriggerRequest' in decode(GetEimPackageResponse, pkg1));
      const result1 = ipa.handleEimMessage(pkg1)!;
      const msg = decode(EsipaMessageFromIpaToEim, result1.slice()); // decoded values are views: work on a copy
      assert.ok('provideEimPackageResult' in msg && 'profileDownloadTriggerResult' in msg.provideEimPackageResult.eimPackageResult);
      const data = msg.provideEimPackageResult.eimPackageResult.profileDownloadTriggerResult.profileDownloadTriggerResultData;
      assert.ok('profileInstallationResult' in data);
      const sig = data.profileInstallationResult.euiccSignPIR;
      sig[5] = sig[5]! ^ 0x01;
      await esipa.handle(EsipaMessageFromIpaToEim.encode(msg), { eid: EID });
      assert.equal((await h.store.getOperation(forged.id))?.state, 'sent', 'a PIR that does not verify changes nothing');
      assert.deepEqual(await h.store.listProfiles(EID), []);
      // the genuine result for the same operation is then accepted
      await esipa.handle(result1, { eid: EID });
      const op = await h.store.getOperation(forged.id);
      assert.equal(op?.state, 'done');
      const profiles = await h.store.listProfiles(EID);
      assert.equal(profiles.length, 1);
      assert.ok(profiles[0]!.aid !== undefined);
    } finally {
      await h.close();
    }
  });
});
