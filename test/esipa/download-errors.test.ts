import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex } from '../../src/asn1/hex.js';
import { cancelReasonOf } from '../../src/esipa/download-errors.js';

/** BF41 A0 { signed, 5F37 sig } around an EuiccCancelSessionSigned given as hex. */
const response = (signedHex: string): Uint8Array => {
  const signed = fromHex(signedHex);
  const ok = [0xa0, signed.length + 5, ...signed, 0x5f, 0x37, 0x02, 0xee, 0xff];
  return Uint8Array.from([0xbf, 0x41, ok.length, ...ok]);
};

describe('the eUICC reason of a cancelled download session', () => {
  it('reads the reason from the standard form (80 txId, 81 oid, 82 reason)', () => {
    assert.equal(cancelReasonOf(response('300c8002010281032a0304820101')), 'postponed');
    assert.equal(cancelReasonOf(response('300c8002010281032a030482017f')), 'undefinedReason');
    assert.equal(cancelReasonOf(response('300c8002010281032a0304820105')), 'loadBppExecutionError');
  });

  it('reads the reason from a card that leaves the OID untagged (80 txId, 06 oid, 81 reason)', () => {
    assert.equal(cancelReasonOf(response('300c8002010206032a0304810100')), 'endUserRejection');
  });

  it('gives an unknown reason value as its number and anything malformed as undefinedReason', () => {
    assert.equal(cancelReasonOf(response('300c8002010281032a0304820109')), '9');
    assert.equal(cancelReasonOf(Uint8Array.from([0xbf, 0x41, 0x03, 0x81, 0x01, 0x05])), 'undefinedReason', 'the error arm carries no eUICC reason');
    assert.equal(cancelReasonOf(Uint8Array.from([0xbf, 0x41, 0x09])), 'undefinedReason');
    assert.equal(cancelReasonOf(new Uint8Array()), 'undefinedReason');
  });
});
