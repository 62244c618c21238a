import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EsipaMessageFromEimToIpa, EsipaMessageFromIpaToEim, GetEimPackageResponse } from '../../src/asn1/esipa.js';
import { toHex } from '../../src/asn1/hex.js';
import { decode } from '../../src/asn1/schema.js';
import { EsipaHandler } from '../../src/esipa/esipa-handler.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { decodeResult, EID, EIDS, euiccAnswer, harness } from '../eim/harness.js';

const poll = (eid: string) => EsipaMessageFromIpaToEim.encode({ getEimPackageRequest: { eidValue: eid } });

function responseOf(o: Awaited<ReturnType<EsipaHandler['handle']>>): Uint8Array {
  assert.equal(o.kind, 'response');
  return (o as { der: Uint8Array }).der;
}

describe('ESipa handler (transport-free)', () => {
  it('answers a poll with no package as BF4F 03 02 01 01 and an unknown EID with eidNotFound', async () => {
    const h = await harness();
    try {
      const esipa = new EsipaHandler({ core: h.core });
      assert.equal(toHex(responseOf(await esipa.handle(poll(EID)))), 'bf4f03020101');
      const unknown = eidWithCheckDigits('890490329999999999999999999999');
      assert.deepEqual(decode(GetEimPackageResponse, responseOf(await esipa.handle(poll(unknown)))), { eimPackageError: 'eidNotFound' });
      const badCheck = '89049032123451234512345678901299';
      assert.deepEqual(decode(GetEimPackageResponse, responseOf(await esipa.handle(poll(badCheck)))), { eimPackageError: 'invalidEid' });
    } finally {
      await h.close();
    }
  });

  it('runs the retrieval loop: package out byte-exact, result in, acknowledgement back', async () => {
    const h = await harness();
    try {
      const esipa = new EsipaHandler({ core: h.core });
      const op = await h.core.submit(EID, { kind: 'set-fallback', iccid: '8944000000000000001' });
      const answer = decode(EsipaMessageFromEimToIpa, responseOf(await esipa.handle(poll(EID))));
      assert.ok('getEimPackageResponse' in answer && 'euiccPackageRequest' in answer.getEimPackageResponse);
      const stored = await h.store.getOperation(op.id);
      const pkgDer = stored!.packageDer!;
      // the device executes and reports (without eidValue: the transport knows it)
      const result = decodeResult(euiccAnswer(h.pki, EID, pkgDer, [{ setFallbackAttributeResult: 'ok' }], { seqNumber: 21 }));
      const provide = EsipaMessageFromIpaToEim.encode({ provideEimPackageResult: { eimPackageResult: { euiccPackageResult: result } } });
      const ack = responseOf(await esipa.handle(provide, { eid: EID }));
      assert.equal(toHex(ack), 'bf5006bf5303800115');
      assert.equal((await h.store.getOperation(op.id))?.state, 'done');
      // a second delivery of the same result is refused but still acknowledged
      assert.equal(toHex(responseOf(await esipa.handle(provide, { eid: EID }))), 'bf5006bf5303800115');
      assert.equal(toHex(responseOf(await esipa.handle(poll(EID)))), 'bf4f03020101');
    } finally {
      await h.close();
    }
  });

  it('refuses a result that claims another EID than the transport bound, and one without any EID', async () => {
    const h = await harness();
    try {
      const esipa = new EsipaHandler({ core: h.core });
      const msg = EsipaMessageFromIpaToEim.encode({ provideEimPackageResult: { eidValue: EIDS[1]!, eimPackageResult: { eimPackageResultResponseError: { eimPackageResultErrorCode: 'unknownPackage' } } } });
      assert.equal(toHex(responseOf(await esipa.handle(msg, { eid: EID }))), 'bf5003020103');
      const noEid = EsipaMessageFromIpaToEim.encode({ provideEimPackageResult: { eimPackageResult: { eimPackageResultResponseError: { eimPackageResultErrorCode: 'unknownPackage' } } } });
      assert.equal(toHex(responseOf(await esipa.handle(noEid))), 'bf5003020104');
    } finally {
      await h.close();
    }
  });

  it('marks a notifyStateChange for re-synchronisation and answers with a listProfileInfo', async () => {
    const h = await harness();
    try {
      const esipa = new EsipaHandler({ core: h.core });
      const msg = EsipaMessageFromIpaToEim.encode({ getEimPackageRequest: { eidValue: EID, notifyStateChange: true, stateChangeCause: 'fallback' } });
      const answer = decode(EsipaMessageFromEimToIpa, responseOf(await esipa.handle(msg)));
      assert.ok('getEimPackageResponse' in answer && 'euiccPackageRequest' in answer.getEimPackageResponse);
      const psmo = (answer.getEimPackageResponse.euiccPackageRequest.euiccPackageSigned.euiccPackage as { psmoList: object[] }).psmoList[0]!;
      assert.ok('listProfileInfo' in psmo);
      assert.ok(h.events.some((e) => e.type === 'euicc.resync-requested'));
    } finally {
      await h.close();
    }
  });

  it('injection mode: acknowledgements first, then the next package, as TransferEimPackageRequest', async () => {
    const h = await harness();
    try {
      const esipa = new EsipaHandler({ core: h.core });
      await h.core.submit(EID, { kind: 'get-rat' });
      const first = await esipa.nextTransfer(EID);
      assert.ok(first !== undefined && toHex(first).startsWith('bf4e') && first[first[2]! >= 0x80 ? 4 : 3] === 0xbf);
      const req = decode(EsipaMessageFromEimToIpa, first);
      assert.ok('transferEimPackageRequest' in req && 'euiccPackageRequest' in req.transferEimPackageRequest);
      const pkgDer = (await h.store.listOperations({ eid: EID, state: 'sent' })).items[0]!.packageDer!;
      const response = EsipaMessageFromIpaToEim.encode({ transferEimPackageResponse: { euiccPackageResult: decodeResult(euiccAnswer(h.pki, EID, pkgDer, [{ getRATResult: [] }], { seqNumber: 4 })) } });
      assert.equal((await esipa.handle(response, { eid: EID })).kind, 'empty');
      assert.equal(toHex((await esipa.nextTransfer(EID))!), 'bf4e06bf5303800104');
      assert.equal(await esipa.nextTransfer(EID), undefined);
    } finally {
      await h.close();
    }
  });

  it('drops undecodable input with a reason and keeps serving', async () => {
    const h = await harness();
    try {
      const esipa = new EsipaHandler({ core: h.core });
      for (const bad of ['', '00', 'bf4f', 'bf4f125a10', 'bf5184ffffffff', 'bf9999020101']) {
        const o = await esipa.handle(Buffer.from(bad, 'hex'));
        assert.equal(o.kind, 'rejected', bad);
      }
      assert.equal(toHex(responseOf(await esipa.handle(poll(EID)))), 'bf4f03020101');
    } finally {
      await h.close();
    }
  });

  it('answers relay functions with their undefinedError arm when no download relay is configured', async () => {
    const h = await harness();
    try {
      const esipa = new EsipaHandler({ core: h.core });
      const init = EsipaMessageFromIpaToEim.encode({ initiateAuthenticationRequestEsipa: { euiccChallenge: new Uint8Array(16) } });
      assert.equal(toHex(responseOf(await esipa.handle(init))), 'bf390381017f');
    } finally {
      await h.close();
    }
  });
});
