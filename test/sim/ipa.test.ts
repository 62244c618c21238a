import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { EuiccPackageResult } from '../../src/asn1/euicc-package.js';
import {
  GetEimPackageRequest,
  GetEimPackageResponse,
  ProvideEimPackageResult,
  ProvideEimPackageResultResponse,
  TransferEimPackageRequest,
  TransferEimPackageResponse,
} from '../../src/asn1/esipa.js';
import { IpaEuiccDataRequest } from '../../src/asn1/ipa-euicc-data.js';
import { eidCheckDigitsValid, eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { PendingNotification } from '../../src/asn1/rsp.js';
import { decode, RECEIVED } from '../../src/asn1/schema.js';
import { encodeTlv } from '../../src/asn1/tlv.js';
import { toHex } from '../../src/asn1/hex.js';
import { createSimFixture, FIXTURE_ICCIDS, verifyNotification, verifyPackageResult, type SimFixture } from '../../src/sim/euicc/test-eim.js';
import { corruptOneByte, FaultPlan, otherEid } from '../../src/sim/faults.js';
import { Ipa, type IpaOptions } from '../../src/sim/ipa.js';
import { createTestPki, type TestPki } from '../../src/sim/pki.js';

const [ICCID1, ICCID2] = FIXTURE_ICCIDS;
const EID = eidWithCheckDigits('890490320000000000000000067890');
let pki: TestPki;

before(() => {
  pki = createTestPki({ eids: [EID] });
});

function setup(options: IpaOptions = {}): { f: SimFixture; ipa: Ipa } {
  const f = createSimFixture({ pki, eid: EID });
  return { f, ipa: new Ipa(f.card, options) };
}

/** The eIM's GetEimPackageResponse / TransferEimPackageRequest carrying a package, built around the package bytes. */
const getResponse = (inner: Uint8Array): Uint8Array => encodeTlv(0xbf4f, inner);
const transfer = (inner: Uint8Array): Uint8Array => encodeTlv(0xbf4e, inner);
const enableB = (f: SimFixture, rollbackFlag = false) => f.pkg({ psmoList: [{ enable: rollbackFlag ? { iccid: ICCID2, rollbackFlag: true } : { iccid: ICCID2 } }] });

function provided(der: Uint8Array | undefined): ProvideEimPackageResult {
  assert.ok(der !== undefined, 'the IPA answers');
  assert.equal(toHex(der.subarray(0, 2)), 'bf50');
  return decode(ProvideEimPackageResult, der);
}

/** The EuiccPackageResult inside a ProvideEimPackageResult / TransferEimPackageResponse, with its notifications. */
function eprOf(r: ProvideEimPackageResult['eimPackageResult'] | TransferEimPackageResponse): { epr: EuiccPackageResult; notifications: PendingNotification[] } {
  if ('euiccPackageResult' in r) return { epr: r.euiccPackageResult, notifications: [] };
  assert.ok('ePRAndNotifications' in r, `expected a package result, got ${Object.keys(r).join()}`);
  return { epr: r.ePRAndNotifications.euiccPackageResult, notifications: r.ePRAndNotifications.notificationList };
}

const resultJson = (r: ProvideEimPackageResult): unknown => (ProvideEimPackageResult.toJson(r) as { eimPackageResult: unknown }).eimPackageResult;

function seqOf(epr: EuiccPackageResult): number {
  assert.ok('euiccPackageResultSigned' in epr);
  return epr.euiccPackageResultSigned.euiccPackageResultDataSigned.seqNumber;
}

describe('IPA retrieval mode', () => {
  it('polls with its EID, runs the package and provides the signed result with the notifications it generated', async () => {
    const { f, ipa } = setup();
    const poll = decode(GetEimPackageRequest, ipa.pollRequest());
    assert.deepEqual(poll, { eidValue: EID });
    assert.equal(toHex(ipa.pollRequest().subarray(0, 4)), `bf4f125a`, 'BF4F 12 5A 10 <EID> as in notes appendix A');
    const withPlmn = new Ipa(f.card, { rPLMN: Uint8Array.of(0x62, 0xf2, 0x20) });
    assert.deepEqual(decode(GetEimPackageRequest, withPlmn.pollRequest()).rPLMN, Uint8Array.of(0x62, 0xf2, 0x20));
    const ipaBytes = ipa.handleEimMessage(getResponse(await enableB(f)))!;
    const res = provided(ipaBytes);
    assert.equal(res.eidValue, EID);
    const { epr, notifications } = eprOf(res.eimPackageResult);
    assert.equal(verifyPackageResult(f.euiccKey, epr, f.associationToken), true);
    assert.equal(notifications.length, 2);
    for (const n of notifications) {
      assert.ok('otherSignedNotification' in n);
      assert.ok(n.otherSignedNotification.tbsOtherNotification[RECEIVED] !== undefined, 'decoded from the wire');
      assert.equal(verifyNotification(f.euiccKey, n).valid, true);
    }
    // The notifications travel byte-exact as the card stored them.
    const wire = toHex(ipaBytes);
    for (const n of f.card.retrieveNotificationsList()) assert.ok(wire.includes(toHex(n.der)));
    assert.equal(f.card.enabledProfile()?.iccid, ICCID2);
  });

  it('removes exactly the acknowledged notifications and results, and keeps the others for later delivery', async () => {
    const { f, ipa } = setup();
    const res = provided(ipa.handleEimMessage(getResponse(await enableB(f))));
    const { epr, notifications } = eprOf(res.eimPackageResult);
    const noteSeqs = notifications.map((n) => ('otherSignedNotification' in n ? n.otherSignedNotification.tbsOtherNotification.seqNumber : -1));
    const ack = ProvideEimPackageResultResponse.encode({ eimAcknowledgements: [noteSeqs[0]!, seqOf(epr), 9999] });
    assert.equal(ipa.handleEimMessage(ack), undefined);
    assert.deepEqual(f.card.retrieveNotificationsList().map((n) => n.seqNumber), [noteSeqs[1]]);
    assert.deepEqual(f.card.storedPackageResults(), []);
    ipa.handleEimMessage(ProvideEimPackageResultResponse.encode({ emptyResponse: {} }));
    assert.equal(f.card.retrieveNotificationsList().length, 1, 'an empty response acknowledges nothing');
    assert.equal(ipa.handleEimMessage(Uint8Array.of(0xbf, 0x50, 0x02, 0x04, 0x00)), undefined, 'a broken response is ignored');
    assert.equal(f.card.retrieveNotificationsList().length, 1);
    // notes appendix A: BF50 06 BF53 03 80 01 <seq>
    ipa.handleEimMessage(Uint8Array.of(0xbf, 0x50, 0x06, 0xbf, 0x53, 0x03, 0x80, 0x01, noteSeqs[1]!));
    assert.deepEqual(f.card.retrieveNotificationsList(), []);
  });

  it('provides a bare euiccPackageResult when the package generated no notification', async () => {
    const { f, ipa } = setup();
    const res = provided(ipa.handleEimMessage(getResponse(await f.pkg({ psmoList: [{ listProfileInfo: {} }] }))));
    assert.ok('euiccPackageResult' in res.eimPackageResult);
  });

  it('answers nothing to eimPackageError and invalidPackageFormat to an undecodable package', () => {
    const { ipa } = setup();
    assert.equal(ipa.handleEimMessage(GetEimPackageResponse.encode({ eimPackageError: 'noEimPackageAvailable' })), undefined);
    const bad = provided(ipa.handleEimMessage(Uint8Array.of(0xbf, 0x4f, 0x03, 0xbf, 0x51, 0x00)));
    assert.deepEqual(resultJson(bad), { eimPackageResultResponseError: { eimPackageResultErrorCode: 'invalidPackageFormat' } });
    assert.throws(() => ipa.handleEimMessage(Uint8Array.of(0x30, 0x00)), /not an eIM -> IPA/);
  });

  it('answers an IpaEuiccDataRequest with the requested members', async () => {
    const { f, ipa } = setup();
    provided(ipa.handleEimMessage(getResponse(await enableB(f))));
    const tx = Uint8Array.of(7, 7);
    const tagList = Uint8Array.from(Buffer.from('a081a2bf20bf228384a5a6a8a9', 'hex'));
    const res = provided(ipa.handleEimMessage(getResponse(IpaEuiccDataRequest.encode({ tagList, eimTransactionId: tx }))));
    const arm = res.eimPackageResult;
    assert.ok('ipaEuiccDataResponse' in arm && 'ipaEuiccData' in arm.ipaEuiccDataResponse);
    const d = arm.ipaEuiccDataResponse.ipaEuiccData;
    assert.equal(d.notificationsList?.length, 2);
    assert.equal(d.euiccPackageResultList?.length, 1);
    assert.equal(d.defaultSmdpAddress, 'smdp.sim.test');
    assert.equal(d.associationToken, f.associationToken);
    assert.equal(toHex(d.euiccCertificate!), toHex(pki.euiccs.get(EID)!.certificate));
    assert.equal(toHex(d.eumCertificate!), toHex(pki.eum.certificate));
    assert.deepEqual(d.euiccInfo2?.iotSpecificInfo?.fallbackSupported, true);
    assert.deepEqual(d.euiccInfo1?.euiccCiPKIdListForSigning, [pki.ci.subjectKeyIdentifier]);
    assert.equal(d.rootSmdsAddress, 'lpa.ds.gsma.com');
    assert.deepEqual(d.ipaCapabilities?.ipaFeatures, ['directRspServerCommunication']);
    assert.ok(d.deviceInfo?.tac.length === 4);
    assert.deepEqual(d.eimTransactionId, tx);
    const onlyEnable = provided(
      ipa.handleEimMessage(getResponse(IpaEuiccDataRequest.encode({ tagList: Uint8Array.of(0xa0), searchCriteriaNotification: { profileManagementOperation: ['notificationEnable'] } }))),
    ).eimPackageResult;
    assert.ok('ipaEuiccDataResponse' in onlyEnable && 'ipaEuiccData' in onlyEnable.ipaEuiccDataResponse);
    assert.deepEqual(onlyEnable.ipaEuiccDataResponse.ipaEuiccData, { notificationsList: onlyEnable.ipaEuiccDataResponse.ipaEuiccData.notificationsList });
    assert.equal(onlyEnable.ipaEuiccDataResponse.ipaEuiccData.notificationsList?.length, 1);
  });

  it('refuses a tag list with a non-member tag (incorrectTagList) and an unknown CI (euiccCiPKIdNotFound)', () => {
    const { ipa } = setup();
    const tx = Uint8Array.of(1);
    const r1 = provided(ipa.handleEimMessage(getResponse(IpaEuiccDataRequest.encode({ tagList: Uint8Array.of(0x5a, 0x81), eimTransactionId: tx }))));
    assert.deepEqual(resultJson(r1), { ipaEuiccDataResponse: { ipaEuiccDataResponseError: { eimTransactionId: '01', ipaEuiccDataErrorCode: 'incorrectTagList' } } });
    const r2 = provided(ipa.handleEimMessage(getResponse(IpaEuiccDataRequest.encode({ tagList: Uint8Array.of(0xa6), euiccCiPKIdentifierToBeUsed: new Uint8Array(20) }))));
    assert.deepEqual(resultJson(r2), { ipaEuiccDataResponse: { ipaEuiccDataResponseError: { ipaEuiccDataErrorCode: 'euiccCiPKIdNotFound' } } });
  });

  it('reports a direct profile download as profileDownloadTriggerResult', () => {
    const { f, ipa } = setup();
    const trigger = encodeTlv(0xbf54, [encodeTlv(0xa0, encodeTlv(0x80, Buffer.from('1$smdp.plus.test$XYZ'))), encodeTlv(0x82, Uint8Array.of(5))]);
    const res = provided(ipa.handleEimMessage(getResponse(trigger)));
    const arm = res.eimPackageResult;
    assert.ok('profileDownloadTriggerResult' in arm);
    assert.deepEqual(arm.profileDownloadTriggerResult.eimTransactionId, Uint8Array.of(5));
    const data = arm.profileDownloadTriggerResult.profileDownloadTriggerResultData;
    assert.ok('profileInstallationResult' in data);
    assert.equal(verifyNotification(f.euiccKey, { profileInstallationResult: data.profileInstallationResult }).valid, true);
    assert.equal(data.profileInstallationResult.profileInstallationResultData.notificationMetadata.notificationAddress, 'smdp.plus.test');
    assert.equal(f.card.state.profiles.length, 4);
    const failing = new Ipa(f.card, { failDownloads: true });
    const err = provided(failing.handleEimMessage(getResponse(trigger))).eimPackageResult;
    assert.ok('profileDownloadTriggerResult' in err && 'profileDownloadError' in err.profileDownloadTriggerResult.profileDownloadTriggerResultData);
  });

  it('sends the rollback result on its own after the enable lost connectivity, and nothing once the eIM answered', async () => {
    const { f, ipa } = setup();
    provided(ipa.handleEimMessage(getResponse(await enableB(f, true))));
    assert.equal(ipa.loseConnectivity(), 'rollback');
    const [msg, ...rest] = ipa.takeOutbox();
    assert.equal(rest.length, 0);
    const { epr } = eprOf(provided(msg).eimPackageResult);
    assert.ok('euiccPackageResultSigned' in epr);
    assert.deepEqual(epr.euiccPackageResultSigned.euiccPackageResultDataSigned.euiccResult.at(-1), { rollbackResult: 'ok' });
    assert.equal(verifyPackageResult(f.euiccKey, epr, f.associationToken), true);
    assert.equal(f.card.enabledProfile()?.iccid, ICCID1);

    const second = setup();
    provided(second.ipa.handleEimMessage(getResponse(await enableB(second.f, true))));
    second.ipa.handleEimMessage(ProvideEimPackageResultResponse.encode({ emptyResponse: {} }));
    assert.equal(second.ipa.loseConnectivity(), 'none', 'the eIM answered over the new profile: no rollback');
    assert.deepEqual(second.ipa.takeOutbox(), []);
  });
});

describe('IPA injection mode', () => {
  it('answers a TransferEimPackageRequest directly with the result and applies injected acknowledgements', async () => {
    const { f, ipa } = setup();
    const der = ipa.handleEimMessage(transfer(await enableB(f)));
    assert.ok(der !== undefined);
    assert.equal(toHex(der.subarray(0, 2)), 'bf4e');
    const { epr, notifications } = eprOf(decode(TransferEimPackageResponse, der));
    assert.equal(verifyPackageResult(f.euiccKey, epr, f.associationToken), true);
    const all = [seqOf(epr), ...notifications.map((n) => ('otherSignedNotification' in n ? n.otherSignedNotification.tbsOtherNotification.seqNumber : -1))];
    const ackReply = ipa.handleEimMessage(TransferEimPackageRequest.encode({ eimAcknowledgements: all }));
    assert.deepEqual(decode(TransferEimPackageResponse, ackReply!), { eimPackageReceived: true });
    assert.deepEqual(f.card.retrieveNotificationsList(), []);
    assert.deepEqual(f.card.storedPackageResults(), []);
  });

  it('in deferred mode answers eimPackageReceived and queues the ProvideEimPackageResult', async () => {
    const { f, ipa } = setup({ injectionReply: 'deferred' });
    assert.deepEqual(decode(TransferEimPackageResponse, ipa.handleEimMessage(transfer(await enableB(f)))!), { eimPackageReceived: true });
    const [msg] = ipa.takeOutbox();
    assert.equal(verifyPackageResult(f.euiccKey, eprOf(provided(msg).eimPackageResult).epr, f.associationToken), true);
    assert.deepEqual(ipa.takeOutbox(), [], 'the outbox empties');
  });

  it('answers a profile download trigger with eimPackageReceived and queues the result, and a broken request with invalidPackageFormat', () => {
    const { ipa } = setup();
    const trigger = encodeTlv(0xbf54, [encodeTlv(0xa0, encodeTlv(0x80, Buffer.from('1$smdp.plus.test$XYZ')))]);
    assert.deepEqual(decode(TransferEimPackageResponse, ipa.handleEimMessage(transfer(trigger))!), { eimPackageReceived: true });
    assert.ok('profileDownloadTriggerResult' in provided(ipa.takeOutbox()[0]).eimPackageResult);
    assert.deepEqual(decode(TransferEimPackageResponse, ipa.handleEimMessage(Uint8Array.of(0xbf, 0x4e, 0x02, 0x30, 0x00))!), { eimPackageError: 'invalidPackageFormat' });
  });
});

describe('IPA injected faults', () => {
  it('dropResult loses the result in transit while the card keeps it', async () => {
    const { f, ipa } = setup({ faults: new FaultPlan().arm('dropResult') });
    assert.equal(ipa.handleEimMessage(getResponse(await enableB(f))), undefined);
    assert.equal(f.card.storedPackageResults().length, 1);
    assert.deepEqual(ipa.takeOutbox(), []);
    assert.ok(provided(ipa.handleEimMessage(getResponse(await f.pkg({ psmoList: [{ getRAT: {} }] })))), 'only one result was affected');
  });

  it('duplicateResult delivers the same bytes twice', async () => {
    const { f, ipa } = setup();
    ipa.faults.arm('duplicateResult');
    const first = ipa.handleEimMessage(getResponse(await enableB(f)));
    const [again] = ipa.takeOutbox();
    assert.ok(first !== undefined && again !== undefined);
    assert.equal(toHex(again), toHex(first));
  });

  it('delayResult holds the result until released', async () => {
    const { f, ipa } = setup({ faults: new FaultPlan().arm('delayResult') });
    assert.equal(ipa.handleEimMessage(getResponse(await enableB(f))), undefined);
    assert.deepEqual(ipa.takeOutbox(), []);
    assert.equal(ipa.releaseDelayed(), 1);
    const [late] = ipa.takeOutbox();
    assert.equal(verifyPackageResult(f.euiccKey, eprOf(provided(late).eimPackageResult).epr, f.associationToken), true);
  });

  it('corruptByte breaks the eUICC signature of an otherwise well-formed result', async () => {
    const { f, ipa } = setup({ faults: new FaultPlan().arm('corruptByte') });
    const res = provided(ipa.handleEimMessage(getResponse(await enableB(f))));
    assert.equal(verifyPackageResult(f.euiccKey, eprOf(res.eimPackageResult).epr, f.associationToken), false);
    assert.deepEqual(toHex(corruptOneByte(Uint8Array.of(1, 2, 3), 1)), '01fd03');
  });

  it('wrongCounter answers with counterValue + 1, validly signed', async () => {
    const { f, ipa } = setup({ faults: new FaultPlan().arm('wrongCounter') });
    const res = provided(ipa.handleEimMessage(getResponse(await enableB(f))));
    const { epr } = eprOf(res.eimPackageResult);
    assert.ok('euiccPackageResultSigned' in epr);
    assert.equal(epr.euiccPackageResultSigned.euiccPackageResultDataSigned.counterValue, 2, 'the package had counter 1');
    assert.equal(verifyPackageResult(f.euiccKey, epr, f.associationToken), true);
  });

  it('wrongEid names another well-formed EID', async () => {
    const { f, ipa } = setup({ faults: new FaultPlan().arm('wrongEid') });
    const res = provided(ipa.handleEimMessage(getResponse(await enableB(f))));
    assert.notEqual(res.eidValue, EID);
    assert.equal(res.eidValue, otherEid(EID));
    assert.equal(eidCheckDigitsValid(res.eidValue!), true);
    assert.equal(verifyPackageResult(f.euiccKey, eprOf(res.eimPackageResult).epr, f.associationToken), true);
  });

  it('resetCard loses the answer, reports reset on the next poll, and the stored result can be fetched', async () => {
    const { f, ipa } = setup({ faults: new FaultPlan().arm('resetCard') });
    assert.equal(ipa.handleEimMessage(getResponse(await enableB(f))), undefined);
    const poll = decode(GetEimPackageRequest, ipa.pollRequest());
    assert.equal(poll.stateChangeCause, 'reset');
    const data = provided(ipa.handleEimMessage(getResponse(IpaEuiccDataRequest.encode({ tagList: Uint8Array.of(0xa2) })))).eimPackageResult;
    assert.ok('ipaEuiccDataResponse' in data && 'ipaEuiccData' in data.ipaEuiccDataResponse);
    const [stored] = data.ipaEuiccDataResponse.ipaEuiccData.euiccPackageResultList ?? [];
    assert.ok(stored !== undefined);
    assert.equal(verifyPackageResult(f.euiccKey, stored, f.associationToken), true);
    assert.deepEqual(EuiccPackageResult.toJson(stored), EuiccPackageResult.toJson(decode(EuiccPackageResult, f.card.storedPackageResults()[0]!.der)));
  });

  it('refuses an unknown fault kind', () => {
    assert.throws(() => new FaultPlan().arm('explode' as never), /unknown fault/);
  });
});
