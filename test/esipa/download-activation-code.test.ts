import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ActivationCodeError, parseActivationCode } from '../../src/eim/activation-code.js';

describe('activation codes (SGP.22 §4.1)', () => {
  it('parses the valid forms: minimal, empty matching ID, with OID, with the confirmation-code flag, LPA: prefix, port', () => {
    assert.deepEqual(parseActivationCode('1$smdp.example.com$ABC-123'), { smdpAddress: 'smdp.example.com', matchingId: 'ABC-123', confirmationCodeRequired: false });
    assert.deepEqual(parseActivationCode('1$smdp.example.com$'), { smdpAddress: 'smdp.example.com', matchingId: '', confirmationCodeRequired: false });
    assert.deepEqual(parseActivationCode('1$smdp.example.com$ABC$1.3.6.1.4.1.31746'), { smdpAddress: 'smdp.example.com', matchingId: 'ABC', smdpOid: '1.3.6.1.4.1.31746', confirmationCodeRequired: false });
    assert.deepEqual(parseActivationCode('1$smdp.example.com$ABC$1.3.6.1$1'), { smdpAddress: 'smdp.example.com', matchingId: 'ABC', smdpOid: '1.3.6.1', confirmationCodeRequired: true });
    assert.deepEqual(parseActivationCode('1$smdp.example.com$ABC$$1'), { smdpAddress: 'smdp.example.com', matchingId: 'ABC', confirmationCodeRequired: true });
    assert.equal(parseActivationCode('LPA:1$smdp.example.com$X').smdpAddress, 'smdp.example.com');
    assert.equal(parseActivationCode('1$127.0.0.1:8443$X').smdpAddress, '127.0.0.1:8443');
  });

  const malformed: [string, string, RegExp][] = [
    ['another format', '2$smdp.example.com$X', /unsupported format "2"/],
    ['too few parts', '1$smdp.example.com', /expected 1\$SMDP\.ADDRESS\$MATCHING-ID/],
    ['too many parts', '1$a.com$X$1.2$1$extra', /expected 1\$SMDP/],
    ['an address that is no FQDN', '1$smdp_example com$X', /is not an SM-DP\+ address/],
    ['an empty address', '1$$X', /is not an SM-DP\+ address/],
    ['a matching ID with other characters', '1$smdp.example.com$AB C', /matching ID/],
    ['an OID that is not one', '1$smdp.example.com$X$1.x.3', /is not an OID/],
    ['a confirmation flag other than 1', '1$smdp.example.com$X$1.2$2', /confirmation-code flag/],
    ['more than 255 characters', `1$smdp.example.com$${'A'.repeat(250)}`, /longer than 255/],
  ];
  for (const [what, text, message] of malformed) {
    it(`rejects ${what} with a clear ActivationCodeError`, () => {
      assert.throws(
        () => parseActivationCode(text),
        (e: unknown) => e instanceof ActivationCodeError && e.code === 'EIM_ERR_ACTIVATION_CODE' && message.test(e.message),
      );
    });
  }
});
