import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { EuiccPackageResult, type EuiccResultData } from '../../src/asn1/euicc-package.js';
import { PendingNotification } from '../../src/asn1/rsp.js';
import { decode } from '../../src/asn1/schema.js';
import { FileSigner } from '../../src/crypto/file-signer.js';
import { generateKeyPair, privateKeyToPem } from '../../src/crypto/keys.js';
import { createTestCi, createTestPki, type TestPki } from '../../src/sim/pki.js';
import { createSimFixture, FIXTURE_ICCIDS, verifyNotification, verifyPackageResult, type SimFixture } from '../../src/sim/euicc/test-eim.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';

const [ICCID1, ICCID2, ICCID3] = FIXTURE_ICCIDS;
const UNKNOWN_ICCID = '8944476500009999990';
const EID = eidWithCheckDigits('890490320000000000000000012345');
let pki: TestPki;

before(() => {
  pki = createTestPki({ eids: [EID] });
});

const fixture = (opts: Parameters<typeof createSimFixture>[0] = {}): SimFixture => createSimFixture({ pki, eid: EID, ...opts });

/** Runs a package on the card, checks the result signature (over received bytes, with the token) and returns the decoded result. */
async function run(f: SimFixture, euiccPackage: Parameters<SimFixture['pkg']>[0], overrides: Parameters<SimFixture['pkg']>[1] = {}): Promise<EuiccPackageResult> {
  const der = f.card.loadEuiccPackage(await f.pkg(euiccPackage, overrides));
  const result = decode(EuiccPackageResult, der);
  const verified = verifyPackageResult(f.euiccKey, result, f.associationToken);
  if (verified !== undefined) assert.equal(verified, true, 'the eUICC signature verifies over the received bytes || token');
  return result;
}

function results(r: EuiccPackageResult): EuiccResultData[] {
  assert.ok('euiccPackageResultSigned' in r, `expected a signed result, got ${JSON.stringify(EuiccPackageResult.toJson(r))}`);
  return r.euiccPackageResultSigned.euiccPackageResultDataSigned.euiccResult;
}

function errorCode(r: EuiccPackageResult): unknown {
  assert.ok('euiccPackageErrorSigned' in r, `expected a signed error, got ${JSON.stringify(EuiccPackageResult.toJson(r))}`);
  return r.euiccPackageErrorSigned.euiccPackageErrorDataSigned.euiccPackageErrorCode;
}

const states = (f: SimFixture): string[] => f.card.state.profiles.map((p) => `${p.iccid}:${p.state}`);

describe('virtual eUICC: enable, disable, delete', () => {
  it('enables a disabled profile, disables the previous one, and signs disable and enable notifications', async () => {
    const f = fixture();
    const r = await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }] });
    assert.deepEqual(results(r), [{ enableResult: 'ok' }]);
    assert.deepEqual(states(f), [`${ICCID1}:disabled`, `${ICCID2}:enabled`, `${ICCID3}:disabled`]);
    const notes = f.card.retrieveNotificationsList();
    assert.deepEqual(notes.map((n) => [n.operation, n.iccid]), [['disable', ICCID1], ['enable', ICCID2]]);
    for (const n of notes) {
      const { valid, notification } = verifyNotification(f.euiccKey, n.der);
      assert.equal(valid, true);
      assert.ok('otherSignedNotification' in notification);
      assert.equal(notification.otherSignedNotification.tbsOtherNotification.seqNumber, n.seqNumber);
      assert.equal(notification.otherSignedNotification.tbsOtherNotification.notificationAddress, 'smdp.sim.test');
      // The certificates in the notification are the card's, and its key verifies it.
      const cert = new X509Certificate(Buffer.from(notification.otherSignedNotification.euiccCertificate));
      assert.equal(verifyNotification(cert.publicKey, n.der).valid, true);
    }
    assert.ok('euiccPackageResultSigned' in r);
    const seq = r.euiccPackageResultSigned.euiccPackageResultDataSigned.seqNumber;
    assert.ok(seq > notes[1]!.seqNumber, 'one counter numbers notifications and results');
    assert.deepEqual(f.card.storedPackageResults().map((x) => x.seqNumber), [seq]);
  });

  it('a notification signature does not verify with another key or altered bytes', () => {
    const f = fixture();
    f.card.notify('enable', f.card.profile(ICCID1)!);
    const [n] = f.card.retrieveNotificationsList();
    const other = generateKeyPair('P-256').publicKey;
    assert.equal(verifyNotification(other, n!.der).valid, false);
    const tampered = n!.der.slice();
    const at = Buffer.from(tampered).indexOf(Buffer.from('smdp.sim.test'));
    tampered[at] = 0x53; // 's' -> 'S' inside the signed BF2F
    assert.equal(verifyNotification(f.euiccKey, tampered).valid, false);
  });

  it('refuses enable with iccidOrAidNotFound, profileNotInDisabledState and (ppr1 on the enabled profile) disallowedByPolicy', async () => {
    const f = fixture();
    assert.deepEqual(results(await run(f, { psmoList: [{ enable: { iccid: UNKNOWN_ICCID } }] })), [{ enableResult: 'iccidOrAidNotFound' }]);
    assert.deepEqual(results(await run(f, { psmoList: [{ enable: { iccid: ICCID1 } }] })), [{ enableResult: 'profileNotInDisabledState' }]);
    f.card.profile(ICCID1)!.policyRules = ['ppr1'];
    assert.deepEqual(results(await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }] })), [{ enableResult: 'disallowedByPolicy' }]);
    assert.deepEqual(states(f), [`${ICCID1}:enabled`, `${ICCID2}:disabled`, `${ICCID3}:disabled`]);
    assert.deepEqual(f.card.retrieveNotificationsList(), [], 'refused operations produce no notifications');
  });

  it('disables an enabled profile and refuses with profileNotInEnabledState, iccidOrAidNotFound and ppr1 disallowedByPolicy', async () => {
    const f = fixture();
    assert.deepEqual(results(await run(f, { psmoList: [{ disable: { iccid: ICCID2 } }] })), [{ disableResult: 'profileNotInEnabledState' }]);
    assert.deepEqual(results(await run(f, { psmoList: [{ disable: { iccid: UNKNOWN_ICCID } }] })), [{ disableResult: 'iccidOrAidNotFound' }]);
    f.card.profile(ICCID1)!.policyRules = ['ppr1'];
    assert.deepEqual(results(await run(f, { psmoList: [{ disable: { iccid: ICCID1 } }] })), [{ disableResult: 'disallowedByPolicy' }]);
    f.card.profile(ICCID1)!.policyRules = [];
    assert.deepEqual(results(await run(f, { psmoList: [{ disable: { iccid: ICCID1 } }] })), [{ disableResult: 'ok' }]);
    assert.equal(f.card.enabledProfile(), undefined);
    assert.deepEqual(f.card.retrieveNotificationsList().map((n) => [n.operation, n.iccid]), [['disable', ICCID1]]);
  });

  it('deletes a disabled profile and refuses enabled (profileNotInDisabledState), ppr2, fallback (returnFallbackProfile) and unknown ones', async () => {
    const f = fixture();
    assert.deepEqual(results(await run(f, { psmoList: [{ delete: { iccid: ICCID1 } }] })), [{ deleteResult: 'profileNotInDisabledState' }]);
    assert.deepEqual(results(await run(f, { psmoList: [{ delete: { iccid: UNKNOWN_ICCID } }] })), [{ deleteResult: 'iccidOrAidNotFound' }]);
    f.card.profile(ICCID2)!.policyRules = ['ppr2'];
    assert.deepEqual(results(await run(f, { psmoList: [{ delete: { iccid: ICCID2 } }] })), [{ deleteResult: 'disallowedByPolicy' }]);
    f.card.profile(ICCID3)!.fallbackAttribute = true;
    assert.deepEqual(results(await run(f, { psmoList: [{ delete: { iccid: ICCID3 } }] })), [{ deleteResult: 'returnFallbackProfile' }]);
    f.card.profile(ICCID3)!.fallbackAttribute = false;
    assert.deepEqual(results(await run(f, { psmoList: [{ delete: { iccid: ICCID3 } }] })), [{ deleteResult: 'ok' }]);
    assert.equal(f.card.profile(ICCID3), undefined);
    assert.deepEqual(f.card.retrieveNotificationsList().map((n) => [n.operation, n.iccid]), [['delete', ICCID3]]);
  });

  it('runs "enable B, delete A" in one package: the switch applies at once', async () => {
    const f = fixture();
    const r = await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }, { delete: { iccid: ICCID1 } }] });
    assert.deepEqual(results(r), [{ enableResult: 'ok' }, { deleteResult: 'ok' }]);
    assert.deepEqual(states(f), [`${ICCID2}:enabled`, `${ICCID3}:disabled`]);
  });

  it('refuses a second enable or disable in the same package with processingTerminated and stops there', async () => {
    const f = fixture();
    const r = await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }, { disable: { iccid: ICCID2 } }, { setDefaultDpAddress: { defaultDpAddress: 'never.example' } }] });
    assert.deepEqual(results(r), [{ enableResult: 'ok' }, { processingTerminated: 'unknownOrDamagedCommand' }]);
    assert.equal(f.card.profile(ICCID2)!.state, 'enabled');
    assert.equal(f.card.state.defaultSmdpAddress, 'smdp.sim.test', 'nothing after the refusal ran');
  });
});

describe('virtual eUICC: other PSMOs', () => {
  it('lists profiles with ProfileInfo fields, honouring search criteria and tag lists', async () => {
    const f = fixture();
    f.card.profile(ICCID2)!.fallbackAttribute = true;
    f.card.profile(ICCID2)!.policyRules = ['ppr2'];
    const all = results(await run(f, { psmoList: [{ listProfileInfo: {} }] }));
    const list = (r: EuiccResultData[]) => {
      const x = r[0]!;
      assert.ok('listProfileInfoResult' in x && 'profileInfoListOk' in x.listProfileInfoResult);
      return x.listProfileInfoResult.profileInfoListOk;
    };
    const l = list(all);
    assert.deepEqual(l.map((p) => [p.iccid, p.profileState, p.profileClass]), [[ICCID1, 'enabled', 'operational'], [ICCID2, 'disabled', 'operational'], [ICCID3, 'disabled', 'test']]);
    assert.equal(l[0]!.profileNickname, 'one');
    assert.equal(l[0]!.serviceProviderName, 'Op One');
    assert.equal(l[1]!.fallbackAttribute, true);
    assert.deepEqual(l[1]!.profilePolicyRules, ['ppr2']);
    assert.equal(l[0]!.fallbackAttribute ?? false, false);
    assert.equal(l[0]!.isdpAid?.length, 16);

    const byIccid = list(results(await run(f, { psmoList: [{ listProfileInfo: { searchCriteria: { iccid: ICCID3 } } }] })));
    assert.deepEqual(byIccid.map((p) => p.iccid), [ICCID3]);
    const byClass = list(results(await run(f, { psmoList: [{ listProfileInfo: { searchCriteria: { profileClass: 'test' } } }] })));
    assert.deepEqual(byClass.map((p) => p.iccid), [ICCID3]);
    const byAid = list(results(await run(f, { psmoList: [{ listProfileInfo: { searchCriteria: { isdpAid: l[1]!.isdpAid! } } }] })));
    assert.deepEqual(byAid.map((p) => p.iccid), [ICCID2]);
    const tagged = list(results(await run(f, { psmoList: [{ listProfileInfo: { tagList: Uint8Array.of(0x5a, 0x9f, 0x70) } }] })));
    assert.deepEqual(tagged[0], { iccid: ICCID1, profileState: 'enabled' });
    const none = list(results(await run(f, { psmoList: [{ listProfileInfo: { searchCriteria: { iccid: UNKNOWN_ICCID } } }] })));
    assert.deepEqual(none, []);
  });

  it('answers listProfileInfo after a state change in the same package with profileChangeOngoing', async () => {
    const f = fixture();
    const r = results(await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }, { listProfileInfo: {} }] }));
    assert.deepEqual(r[1], { listProfileInfoResult: { profileInfoListError: 'profileChangeOngoing' } });
  });

  it('returns an empty RAT, stores immediate-enable configuration and the default SM-DP+ address', async () => {
    const f = fixture();
    const r = results(
      await run(f, {
        psmoList: [
          { getRAT: {} },
          { configureImmediateEnable: { immediateEnableFlag: true, defaultSmdpAddress: 'ie.smdp.test' } },
          { setDefaultDpAddress: { defaultDpAddress: 'new.smdp.test' } },
        ],
      }),
    );
    assert.deepEqual(r, [{ getRATResult: [] }, { configureImmediateEnableResult: 'ok' }, { setDefaultDpAddressResult: { setDefaultDpAddressResult: 'ok' } }]);
    assert.deepEqual(f.card.state.immediateEnable, { immediateEnableFlag: true, defaultSmdpAddress: 'ie.smdp.test' });
    assert.equal(f.card.state.defaultSmdpAddress, 'new.smdp.test');
  });

  it('sets and unsets the fallback attribute with iccidOrAidNotFound, fallbackNotAllowed, fallbackProfileEnabled and noFallbackAttribute', async () => {
    const f = fixture();
    const one = async (psmo: Parameters<SimFixture['pkg']>[0]) => results(await run(f, psmo))[0];
    assert.deepEqual(await one({ psmoList: [{ unsetFallbackAttribute: {} }] }), { unsetFallbackAttributeResult: 'noFallbackAttribute' });
    assert.deepEqual(await one({ psmoList: [{ setFallbackAttribute: { iccid: UNKNOWN_ICCID } }] }), { setFallbackAttributeResult: 'iccidOrAidNotFound' });
    f.card.profile(ICCID3)!.fallbackAllowed = false;
    assert.deepEqual(await one({ psmoList: [{ setFallbackAttribute: { iccid: ICCID3 } }] }), { setFallbackAttributeResult: 'fallbackNotAllowed' });
    assert.deepEqual(await one({ psmoList: [{ setFallbackAttribute: { iccid: ICCID1 } }] }), { setFallbackAttributeResult: 'ok' });
    assert.equal(f.card.fallbackProfile()?.iccid, ICCID1);
    // ICCID1 is the fallback profile and is enabled: the attribute can neither move nor go.
    assert.deepEqual(await one({ psmoList: [{ setFallbackAttribute: { iccid: ICCID2 } }] }), { setFallbackAttributeResult: 'fallbackProfileEnabled' });
    assert.deepEqual(await one({ psmoList: [{ unsetFallbackAttribute: {} }] }), { unsetFallbackAttributeResult: 'fallbackProfileEnabled' });
    await one({ psmoList: [{ enable: { iccid: ICCID2 } }] });
    assert.deepEqual(await one({ psmoList: [{ setFallbackAttribute: { iccid: ICCID2 } }] }), { setFallbackAttributeResult: 'ok' });
    assert.deepEqual(f.card.state.profiles.map((p) => p.fallbackAttribute), [false, true, false], 'only one profile carries the attribute');
    await one({ psmoList: [{ enable: { iccid: ICCID1 } }] });
    assert.deepEqual(await one({ psmoList: [{ unsetFallbackAttribute: {} }] }), { unsetFallbackAttributeResult: 'ok' });
    assert.equal(f.card.fallbackProfile(), undefined);
  });
});

describe('virtual eUICC: eCOs', () => {
  it('adds an eIM with a generated association token, and that eIM can then sign packages with it', async () => {
    const f = fixture();
    const other = FileSigner.fromPem(privateKeyToPem(generateKeyPair('P-256').privateKey));
    const r = results(await run(f, { ecoList: [{ addEim: { eimId: 'eim-2', counterValue: 10, associationToken: -1, eimPublicKeyData: { eimPublicKey: other.publicKeySpki() } } }] }));
    const arm = r[0]!;
    assert.ok('addEimResult' in arm && 'associationToken' in arm.addEimResult);
    const token2 = arm.addEimResult.associationToken;
    assert.notEqual(token2, f.associationToken);
    assert.equal(f.card.associationTokenOf('eim-2'), token2);
    const pkgFor2 = (counterValue: number, associationToken: number | undefined) =>
      f.pkg({ psmoList: [{ getRAT: {} }] }, { eimId: 'eim-2', signer: other, counterValue, associationToken });
    // counter 10 was the initial value: 10 is a replay, 11 is fresh.
    assert.equal(errorCode(decode(EuiccPackageResult, f.card.loadEuiccPackage(await pkgFor2(10, token2)))), 'replayError');
    const ok = decode(EuiccPackageResult, f.card.loadEuiccPackage(await pkgFor2(11, token2)));
    assert.deepEqual(results(ok), [{ getRATResult: [] }]);
    assert.equal(verifyPackageResult(f.euiccKey, ok, token2), true, 'the result is signed with eim-2 token');
    assert.equal(verifyPackageResult(f.euiccKey, ok, f.associationToken), false, 'and not with eim-1 token');
    // Signed without the token (84 01 00) it does not verify: an unsigned error naming the token.
    const noToken = decode(EuiccPackageResult, f.card.loadEuiccPackage(await pkgFor2(12, undefined)));
    assert.deepEqual(EuiccPackageResult.toJson(noToken), { euiccPackageErrorUnsigned: { eimId: 'eim-2', associationToken: token2 } });
  });

  it('refuses addEim with associatedEimAlreadyExists, ciPKUnknown, counterValueOutOfRange and commandError (no key)', async () => {
    const f = fixture();
    const key = { eimPublicKey: f.signer.publicKeySpki() };
    const r = results(
      await run(f, {
        ecoList: [
          { addEim: { eimId: f.eimId, eimPublicKeyData: key } },
          { addEim: { eimId: 'x1', eimPublicKeyData: key, euiccCiPKId: new Uint8Array(20) } },
          { addEim: { eimId: 'x2', eimPublicKeyData: key, counterValue: 0x800000 } },
          { addEim: { eimId: 'x3' } },
          { addEim: { eimId: 'x4', eimPublicKeyData: key, associationToken: 77 } },
        ],
      }),
    );
    assert.deepEqual(r, [
      { addEimResult: { addEimResultCode: 'associatedEimAlreadyExists' } },
      { addEimResult: { addEimResultCode: 'ciPKUnknown' } },
      { addEimResult: { addEimResultCode: 'counterValueOutOfRange' } },
      { addEimResult: { addEimResultCode: 'commandError' } },
      { addEimResult: { addEimResultCode: 'ok' } },
    ]);
    assert.equal(f.card.associationTokenOf('x4'), 77);
  });

  it('updates, lists and deletes eIMs with eimNotFound and lastEimDeleted (the last entry stays)', async () => {
    const f = fixture();
    const key = { eimPublicKey: f.signer.publicKeySpki() };
    const r = results(
      await run(f, {
        ecoList: [
          { updateEim: { eimId: 'nope', eimFqdn: 'x' } },
          { updateEim: { eimId: f.eimId, eimFqdn: 'new.eim.test' } },
          { updateEim: { eimId: f.eimId, counterValue: 0x800000 } },
          { deleteEim: { eimId: 'nope' } },
          { deleteEim: { eimId: f.eimId } },
          { addEim: { eimId: 'eim-b', eimIdType: 'eimIdTypeOid', eimPublicKeyData: key } },
          { listEim: {} },
          { deleteEim: { eimId: 'eim-b' } },
        ],
      }),
    );
    assert.deepEqual(r, [
      { updateEimResult: 'eimNotFound' },
      { updateEimResult: 'ok' },
      { updateEimResult: 'counterValueOutOfRange' },
      { deleteEimResult: 'eimNotFound' },
      { deleteEimResult: 'lastEimDeleted' },
      { addEimResult: { addEimResultCode: 'ok' } },
      { listEimResult: { eimIdList: [{ eimId: f.eimId, eimIdType: 'eimIdTypeFqdn' }, { eimId: 'eim-b', eimIdType: 'eimIdTypeOid' }] } },
      { deleteEimResult: 'ok' },
    ]);
    assert.equal(f.card.findEim(f.eimId)?.eimFqdn, 'new.eim.test');
    assert.deepEqual(f.card.eims.map((e) => e.eimId), [f.eimId]);
  });

  it('accepts packages signed by an eIM configured with a certificate instead of a public key', async () => {
    const now = Date.now();
    const eimIdentity = createTestCi({ curve: 'P-256', notBefore: new Date(now - 86_400_000), notAfter: new Date(now + 86_400_000), commonName: 'eIM' });
    const eimSigner = FileSigner.fromPem(eimIdentity.privateKeyPem);
    const f = fixture();
    results(await run(f, { ecoList: [{ addEim: { eimId: 'cert-eim', counterValue: 0, eimPublicKeyData: { eimCertificate: eimIdentity.certificate } } }] }));
    const ok = decode(EuiccPackageResult, f.card.loadEuiccPackage(await f.pkg({ psmoList: [{ getRAT: {} }] }, { eimId: 'cert-eim', signer: eimSigner, counterValue: 1, associationToken: undefined })));
    assert.deepEqual(results(ok), [{ getRATResult: [] }]);
  });
});

describe('virtual eUICC: package security checks', () => {
  it('refuses the same counter twice and a lower one with replayError, without moving the stored counter', async () => {
    const f = fixture();
    const der = await f.pkg({ psmoList: [{ getRAT: {} }] }, { counterValue: 5 });
    assert.ok('euiccPackageResultSigned' in decode(EuiccPackageResult, f.card.loadEuiccPackage(der)));
    const again = decode(EuiccPackageResult, f.card.loadEuiccPackage(der));
    assert.equal(errorCode(again), 'replayError');
    assert.equal(verifyPackageResult(f.euiccKey, again, f.associationToken), true, 'the error is signed');
    assert.equal(errorCode(await run(f, { psmoList: [{ getRAT: {} }] }, { counterValue: 4 })), 'replayError');
    assert.equal(f.card.findEim(f.eimId)?.counterValue, 5);
    assert.ok('euiccPackageResultSigned' in (await run(f, { psmoList: [{ getRAT: {} }] }, { counterValue: 9 })), 'gaps are allowed');
  });

  it('refuses a counter above 0x7FFFFF with counterValueOutOfRange and accepts 0x7FFFFF', async () => {
    const f = fixture();
    const r = await run(f, { psmoList: [{ getRAT: {} }] }, { counterValue: 0x800000 });
    assert.equal(errorCode(r), 'counterValueOutOfRange');
    assert.ok('euiccPackageErrorSigned' in r);
    assert.equal(r.euiccPackageErrorSigned.euiccPackageErrorDataSigned.counterValue, 0x800000);
    assert.ok('euiccPackageResultSigned' in (await run(f, { psmoList: [{ getRAT: {} }] }, { counterValue: 0x7fffff })));
  });

  it('refuses another EID with the signed error invalidEid, echoing eimId, counter and eimTransactionId', async () => {
    const f = fixture();
    const tx = Uint8Array.of(1, 2, 3, 4);
    const r = await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }] }, { eid: eidWithCheckDigits('890490320000000000000000099999'), eimTransactionId: tx });
    assert.equal(errorCode(r), 'invalidEid');
    assert.deepEqual((EuiccPackageResult.toJson(r) as { euiccPackageErrorSigned: { euiccPackageErrorDataSigned: unknown } }).euiccPackageErrorSigned.euiccPackageErrorDataSigned, {
      eimId: f.eimId,
      counterValue: 1,
      eimTransactionId: '01020304',
      euiccPackageErrorCode: 'invalidEid',
    });
    assert.equal(f.card.profile(ICCID2)!.state, 'disabled');
  });

  it('answers an unknown eimId with the unsigned error without a token', async () => {
    const f = fixture();
    const r = await run(f, { psmoList: [{ getRAT: {} }] }, { eimId: 'stranger', eimTransactionId: Uint8Array.of(9) });
    assert.deepEqual(EuiccPackageResult.toJson(r), { euiccPackageErrorUnsigned: { eimId: 'stranger', eimTransactionId: '09' } });
  });

  it('answers a forged signature or a wrong association token with the unsigned error carrying the token, and runs nothing', async () => {
    const f = fixture();
    const forger = FileSigner.fromPem(privateKeyToPem(generateKeyPair('P-256').privateKey));
    const forged = await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }] }, { signer: forger });
    assert.deepEqual(EuiccPackageResult.toJson(forged), { euiccPackageErrorUnsigned: { eimId: f.eimId, associationToken: f.associationToken! } });
    const wrongToken = await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }] }, { associationToken: (f.associationToken ?? 0) + 1 });
    assert.ok('euiccPackageErrorUnsigned' in wrongToken);
    // A bit flipped inside the signed part after signing (the signature covers the received bytes).
    const der = await f.pkg({ psmoList: [{ enable: { iccid: ICCID2 } }] });
    const sigAt = Buffer.from(der).lastIndexOf(Buffer.from('5f3740', 'hex'));
    der[sigAt - 1] = der[sigAt - 1]! ^ 0x01; // last ICCID byte of the enable, inside the signed part
    const tampered = decode(EuiccPackageResult, f.card.loadEuiccPackage(der));
    assert.deepEqual(EuiccPackageResult.toJson(tampered), { euiccPackageErrorUnsigned: { eimId: f.eimId, associationToken: f.associationToken! } });
    assert.equal(f.card.profile(ICCID2)!.state, 'disabled');
    assert.equal(f.card.findEim(f.eimId)?.counterValue, 0);
  });

  it('without a configured association token both sides use 84 01 00', async () => {
    const f = fixture({ associationToken: null });
    assert.equal(f.associationToken, undefined);
    const r = await run(f, { psmoList: [{ getRAT: {} }] });
    assert.equal(verifyPackageResult(f.euiccKey, r, undefined), true);
    assert.equal(verifyPackageResult(f.euiccKey, r, 1), false);
    const wrong = await run(f, { psmoList: [{ getRAT: {} }] }, { associationToken: 1 });
    assert.ok('euiccPackageErrorUnsigned' in wrong);
  });

  it('works end to end on brainpoolP256r1 (eUICC and eIM keys)', async () => {
    const eid = eidWithCheckDigits('890490320000000000000000077777');
    const f = createSimFixture({ curve: 'brainpoolP256r1', eid });
    assert.equal(f.signer.curve, 'brainpoolP256r1');
    const r = await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }] });
    assert.deepEqual(results(r), [{ enableResult: 'ok' }]);
    for (const n of f.card.retrieveNotificationsList()) assert.equal(verifyNotification(f.euiccKey, n.der).valid, true);
    const forger = FileSigner.fromPem(privateKeyToPem(generateKeyPair('brainpoolP256r1').privateKey));
    assert.ok('euiccPackageErrorUnsigned' in (await run(f, { psmoList: [{ getRAT: {} }] }, { signer: forger })));
  });

  it('the pending notifications decode as SGP.32 PendingNotification', async () => {
    const f = fixture();
    await run(f, { psmoList: [{ enable: { iccid: ICCID2 } }] });
    for (const n of f.card.retrieveNotificationsList()) assert.ok('otherSignedNotification' in decode(PendingNotification, n.der));
  });
});
