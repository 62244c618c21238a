import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AddInitialEimRequest,
  AddInitialEimResponse,
  EuiccMemoryResetRequest,
  EuiccMemoryResetResponse,
  GetCertsRequest,
  GetCertsResponse,
  GetEimConfigurationDataRequest,
  GetEimConfigurationDataResponse,
} from '../../src/asn1/eim-configuration.js';
import { EuiccPackageResult } from '../../src/asn1/euicc-package.js';
import { GetEimPackageRequest } from '../../src/asn1/esipa.js';
import { PendingNotification } from '../../src/asn1/rsp.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { decode } from '../../src/asn1/schema.js';
import { toHex } from '../../src/asn1/hex.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { parseActivationCode } from '../../src/sim/euicc/profile-download.js';
import { createSimFixture, FIXTURE_ICCIDS, verifyNotification, verifyPackageResult, type SimFixture } from '../../src/sim/euicc/test-eim.js';
import { Ipa } from '../../src/sim/ipa.js';
import { createTestPki, type TestPki } from '../../src/sim/pki.js';

const [ICCID1, ICCID2, ICCID3] = FIXTURE_ICCIDS;
const EID = eidWithCheckDigits('890490320000000000000000054321');
let pki: TestPki;

before(() => {
  pki = createTestPki({ eids: [EID] });
});

const fixture = (opts: Parameters<typeof createSimFixture>[0] = {}): SimFixture => createSimFixture({ pki, eid: EID, ...opts });

async function runOk(f: SimFixture, euiccPackage: Parameters<SimFixture['pkg']>[0]): Promise<EuiccPackageResult> {
  const r = decode(EuiccPackageResult, f.card.loadEuiccPackage(await f.pkg(euiccPackage)));
  assert.ok('euiccPackageResultSigned' in r);
  return r;
}

describe('virtual eUICC: unsigned ES10b functions', () => {
  it('accepts AddInitialEim only while no eIM is associated, generating the token for -1', () => {
    const card = VirtualEuicc.fromPki(pki, EID);
    const config = { eimId: 'first', counterValue: 3, associationToken: -1, eimPublicKeyData: { eimPublicKey: Uint8Array.of(0x30, 0x00) } };
    const ok = decode(AddInitialEimResponse, card.addInitialEim(AddInitialEimRequest.encode({ eimConfigurationDataList: [config] })));
    assert.ok('addInitialEimOk' in ok);
    const item = ok.addInitialEimOk[0]!;
    assert.ok('associationToken' in item);
    assert.equal(card.associationTokenOf('first'), item.associationToken);
    assert.equal(card.findEim('first')?.counterValue, 3);
    const again = decode(AddInitialEimResponse, card.addInitialEim(AddInitialEimRequest.encode({ eimConfigurationDataList: [{ ...config, eimId: 'second' }] })));
    assert.deepEqual(again, { addInitialEimError: 'associatedEimAlreadyExists' });
    assert.deepEqual(card.eims.map((e) => e.eimId), ['first']);
  });

  it('refuses an AddInitialEim entry without a key (commandError) or with a counter out of range', () => {
    const card = VirtualEuicc.fromPki(pki, EID);
    const noKey = decode(AddInitialEimResponse, card.addInitialEim(AddInitialEimRequest.encode({ eimConfigurationDataList: [{ eimId: 'k' }] })));
    assert.deepEqual(noKey, { addInitialEimError: 'commandError' });
    const big = decode(
      AddInitialEimResponse,
      card.addInitialEim(AddInitialEimRequest.encode({ eimConfigurationDataList: [{ eimId: 'k', counterValue: 0x800000, eimPublicKeyData: { eimPublicKey: Uint8Array.of(0x30, 0) } }] })),
    );
    assert.deepEqual(big, { addInitialEimError: 'counterValueOutOfRange' });
    assert.equal(card.eims.length, 0);
  });

  it('returns eIM configuration data (all or by eimId) and the certificates for its CI only', () => {
    const f = fixture();
    const all = decode(GetEimConfigurationDataResponse, f.card.getEimConfigurationData());
    assert.deepEqual(all.eimConfigurationDataList.map((e) => [e.eimId, e.eimFqdn, e.associationToken]), [[f.eimId, 'eim.sim.test:5684', f.associationToken]]);
    const none = decode(GetEimConfigurationDataResponse, f.card.getEimConfigurationData(GetEimConfigurationDataRequest.encode({ searchCriteria: { eimId: 'other' } })));
    assert.deepEqual(none.eimConfigurationDataList, []);
    const certs = decode(GetCertsResponse, f.card.getCerts(GetCertsRequest.encode({ euiccCiPKId: pki.ci.subjectKeyIdentifier })));
    assert.ok('certs' in certs);
    assert.equal(toHex(certs.certs.euiccCertificate), toHex(pki.euiccs.get(EID)!.certificate));
    assert.equal(toHex(certs.certs.eumCertificate), toHex(pki.eum.certificate));
    assert.deepEqual(decode(GetCertsResponse, f.card.getCerts(GetCertsRequest.encode({ euiccCiPKId: new Uint8Array(20) }))), { getCertsError: 'invalidCiPKId' });
  });

  it('EuiccMemoryReset deletes the chosen profile classes and eIM data, and the next poll reports reset', () => {
    const f = fixture();
    const res = decode(EuiccMemoryResetResponse, f.card.euiccMemoryReset(EuiccMemoryResetRequest.encode({ resetOptions: ['deleteOperationalProfiles', 'resetEimConfigData'] })));
    assert.deepEqual(res, { resetResult: 'ok', resetEimResult: 'ok' });
    assert.deepEqual(f.card.state.profiles.map((p) => p.iccid), [ICCID3], 'the test profile stays');
    assert.equal(f.card.eims.length, 0);
    const poll = decode(GetEimPackageRequest, new Ipa(f.card).pollRequest());
    assert.equal(poll.stateChangeCause, 'reset');
    const nothing = decode(EuiccMemoryResetResponse, f.card.euiccMemoryReset(EuiccMemoryResetRequest.encode({ resetOptions: ['deleteOperationalProfiles'] })));
    assert.equal(nothing.resetResult, 'nothingToDelete');
  });
});

describe('virtual eUICC: persistence', () => {
  it('keeps profiles, counters, tokens, notifications and results across save and load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'euicc-'));
    try {
      const f = fixture();
      const first = await f.pkg({ psmoList: [{ enable: { iccid: ICCID2 } }] });
      f.card.loadEuiccPackage(first);
      const file = join(dir, 'card.json');
      await f.card.save(file);
      assert.equal(JSON.parse(readFileSync(file, 'utf8')).eid, EID);
      const rebooted = await VirtualEuicc.load(file);
      assert.deepEqual(rebooted.toState(), f.card.toState());
      assert.equal(rebooted.enabledProfile()?.iccid, ICCID2);
      assert.equal(rebooted.retrieveNotificationsList().length, 2);
      // The stored counter survived: the same package is a replay after the reboot.
      const again = decode(EuiccPackageResult, rebooted.loadEuiccPackage(first));
      assert.ok('euiccPackageErrorSigned' in again);
      assert.equal(again.euiccPackageErrorSigned.euiccPackageErrorDataSigned.euiccPackageErrorCode, 'replayError');
      // And the rebooted card still signs with the same key.
      const next = decode(EuiccPackageResult, rebooted.loadEuiccPackage(await f.pkg({ psmoList: [{ getRAT: {} }] })));
      assert.equal(verifyPackageResult(f.euiccKey, next, f.associationToken), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to load a file that is not an eUICC state', () => {
    assert.throws(() => VirtualEuicc.fromState({ version: 2 } as never), /not a version 1/);
  });
});

describe('virtual eUICC: rollback and fallback', () => {
  it('rolls back an enable marked with rollbackFlag when connectivity is lost, replacing its result with one carrying rollbackResult', async () => {
    const f = fixture();
    const r = await runOk(f, { psmoList: [{ enable: { iccid: ICCID2, rollbackFlag: true } }] });
    assert.ok('euiccPackageResultSigned' in r);
    const firstSeq = r.euiccPackageResultSigned.euiccPackageResultDataSigned.seqNumber;
    assert.equal(f.card.rollbackPending, true);
    assert.equal(f.card.loseConnectivity(), 'rollback');
    assert.equal(f.card.enabledProfile()?.iccid, ICCID1);
    const stored = f.card.storedPackageResults();
    assert.equal(stored.length, 1);
    assert.notEqual(stored[0]!.seqNumber, firstSeq, 'the enable result was replaced');
    const rb = decode(EuiccPackageResult, stored[0]!.der);
    assert.ok('euiccPackageResultSigned' in rb);
    const d = rb.euiccPackageResultSigned.euiccPackageResultDataSigned;
    assert.deepEqual(d.euiccResult, [{ enableResult: 'ok' }, { rollbackResult: 'ok' }]);
    assert.equal(d.counterValue, 1, 'the rollback result answers the same package');
    assert.equal(verifyPackageResult(f.euiccKey, rb, f.associationToken), true);
    assert.deepEqual(f.card.retrieveNotificationsList().map((n) => [n.operation, n.iccid]), [['disable', ICCID1], ['enable', ICCID2], ['disable', ICCID2], ['enable', ICCID1]]);
    assert.equal(f.card.loseConnectivity(), 'none', 'nothing left to roll back and no fallback profile');
  });

  it('does not roll back once connectivity is confirmed, nor an enable without rollbackFlag', async () => {
    const f = fixture();
    await runOk(f, { psmoList: [{ enable: { iccid: ICCID2, rollbackFlag: true } }] });
    f.card.confirmConnectivity();
    assert.equal(f.card.loseConnectivity(), 'none');
    assert.equal(f.card.enabledProfile()?.iccid, ICCID2);
    await runOk(f, { psmoList: [{ enable: { iccid: ICCID1 } }] });
    assert.equal(f.card.loseConnectivity(), 'none');
    assert.equal(f.card.enabledProfile()?.iccid, ICCID1);
  });

  it('enables the fallback profile on connectivity loss and the next poll (only) carries notifyStateChange fallback', async () => {
    const f = fixture();
    await runOk(f, { psmoList: [{ setFallbackAttribute: { iccid: ICCID3 } }] });
    const ipa = new Ipa(f.card);
    assert.equal(decode(GetEimPackageRequest, ipa.pollRequest()).notifyStateChange, undefined);
    assert.equal(f.card.loseConnectivity(), 'fallback');
    assert.equal(f.card.enabledProfile()?.iccid, ICCID3);
    const poll = decode(GetEimPackageRequest, ipa.pollRequest());
    assert.equal(poll.notifyStateChange, true);
    assert.equal(poll.stateChangeCause, 'fallback');
    assert.equal(poll.eidValue, EID);
    assert.equal(decode(GetEimPackageRequest, ipa.pollRequest()).notifyStateChange, undefined);
    const notes = f.card.retrieveNotificationsList();
    assert.deepEqual(notes.map((n) => [n.operation, n.iccid]), [['disable', ICCID1], ['enable', ICCID3]]);
    for (const n of notes) assert.equal(verifyNotification(f.euiccKey, n.der).valid, true);
    assert.equal(f.card.loseConnectivity(), 'none', 'already on the fallback profile');
  });
});

describe('virtual eUICC: direct profile download', () => {
  it('installs a profile and reports a PIR signed by the eUICC with the SM-DP+ of the activation code', () => {
    const f = fixture();
    const tx = Uint8Array.of(0xaa, 0xbb);
    const { result, profile } = f.card.profileDownload({ profileDownloadData: { activationCode: '1$smdp.plus.test$MATCH-1$2.999.77' }, eimTransactionId: tx });
    assert.ok(profile !== undefined);
    assert.equal(f.card.profile(profile.iccid)?.state, 'disabled');
    assert.deepEqual(result.eimTransactionId, tx);
    const arm = result.profileDownloadTriggerResultData;
    assert.ok('profileInstallationResult' in arm);
    const data = arm.profileInstallationResult.profileInstallationResultData;
    assert.equal(data.notificationMetadata.notificationAddress, 'smdp.plus.test');
    assert.deepEqual(data.notificationMetadata.profileManagementOperation, ['notificationInstall']);
    assert.equal(data.notificationMetadata.iccid, profile.iccid);
    assert.equal(data.smdpOid, '2.999.77');
    assert.ok('successResult' in data.finalResult);
    assert.equal(toHex(data.finalResult.successResult.aid), profile.aid.toLowerCase());
    const pirDer = PendingNotification.encode({ profileInstallationResult: arm.profileInstallationResult });
    assert.equal(verifyNotification(f.euiccKey, pirDer).valid, true, 'the PIR verifies with the eUICC key over its BF27 bytes');
    const second = f.card.profileDownload({ profileDownloadData: { activationCode: '1$smdp.plus.test$MATCH-2' } });
    assert.notEqual(second.profile?.iccid, profile.iccid, 'each download installs a new ICCID');
  });

  it('reports profileDownloadError for a malformed activation code, a missing default SM-DP+, SM-DS and an injected failure', () => {
    const f = fixture();
    const count = f.card.state.profiles.length;
    for (const req of [
      { profileDownloadData: { activationCode: '2$x$y' } },
      { profileDownloadData: { contactSmds: {} } },
      {},
    ]) {
      const { result } = f.card.profileDownload(req);
      assert.ok('profileDownloadError' in result.profileDownloadTriggerResultData, JSON.stringify(req));
    }
    assert.ok('profileDownloadError' in f.card.profileDownload({ profileDownloadData: { activationCode: '1$a.test$m' } }, { fail: true }).result.profileDownloadTriggerResultData);
    assert.ok('profileInstallationResult' in f.card.profileDownload({ profileDownloadData: { contactDefaultSmdp: true } }).result.profileDownloadTriggerResultData);
    delete f.card.state.defaultSmdpAddress;
    assert.ok('profileDownloadError' in f.card.profileDownload({ profileDownloadData: { contactDefaultSmdp: true } }).result.profileDownloadTriggerResultData);
    assert.equal(f.card.state.profiles.length, count + 1);
  });

  it('enables the downloaded profile at once when immediate enable is configured, and the next poll says so', async () => {
    const f = fixture();
    await runOk(f, { psmoList: [{ configureImmediateEnable: { immediateEnableFlag: true } }] });
    const { profile } = f.card.profileDownload({ profileDownloadData: { activationCode: '1$smdp.plus.test$IE' } });
    assert.equal(f.card.enabledProfile()?.iccid, profile?.iccid);
    assert.deepEqual(f.card.retrieveNotificationsList().map((n) => [n.operation, n.iccid]), [['disable', ICCID1], ['enable', profile!.iccid]]);
    assert.equal(decode(GetEimPackageRequest, new Ipa(f.card).pollRequest()).stateChangeCause, 'immediateEnableProfile');
    const plain = fixture();
    plain.card.profileDownload({ profileDownloadData: { activationCode: '1$smdp.plus.test$NOIE' } });
    assert.equal(plain.card.enabledProfile()?.iccid, ICCID1, 'without the flag the new profile stays disabled');
  });

  it('parses activation codes strictly', () => {
    assert.deepEqual(parseActivationCode('1$smdp.test$ABC'), { smdpAddress: 'smdp.test', matchingId: 'ABC', confirmationCodeRequired: false });
    assert.deepEqual(parseActivationCode('1$smdp.test:8443$$2.999.1$1'), { smdpAddress: 'smdp.test:8443', matchingId: '', smdpOid: '2.999.1', confirmationCodeRequired: true });
    for (const bad of ['', '1$', '2$smdp.test$x', '1$bad host$x', '1$smdp.test$x$notanoid']) assert.equal(parseActivationCode(bad), undefined, bad);
  });
});
