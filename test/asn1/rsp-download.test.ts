/**
 * Known answers for the SGP.22 v2.5 download objects the simulated SM-DP+ and eUICC decode
 * (src/asn1/rsp-download.ts): the hex listings are written from RSPDefinitions, so a codec that drifts
 * from the module fails here. Each one encodes, decodes, re-encodes byte-exact and round-trips JSON.
 * No public vector of these messages exists in shared/vectors; the real sysmoEUICC1-I2T certificates are
 * used for the certificate fields of AuthenticateResponseOk when that folder is present.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  AuthenticateServerResponseBody,
  BoundProfilePackageBody,
  CancelSessionResponseBody,
  EuiccCancelSessionSigned,
  EuiccSigned1,
  EuiccSigned2,
  InitialiseSecureChannelRequest,
  PrepareDownloadResponseBody,
  otpk5f49,
  sig5f37,
  smdpSignInput,
  wrap,
} from '../../src/asn1/rsp-download.js';
import { AuthenticateServerResponse, CancelSessionResponse, PrepareDownloadResponse } from '../../src/asn1/rsp.js';
import { type DecodeWarning, decode, encode, signedBytes } from '../../src/asn1/schema.js';
import { EncodeError } from '../../src/asn1/errors.js';
import { readSingle } from '../../src/asn1/tlv.js';
import { fromHex, toHex } from '../../src/asn1/hex.js';
import { hex, knownAnswer } from './rsp-helpers.js';

const b = fromHex;

const vectors = new URL('../../../shared/vectors/', import.meta.url);
const skip = existsSync(fileURLToPath(vectors)) ? false : 'shared/vectors is not beside the repository';
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, vectors)));

const ctxParams1 = { ctxParamsForCommonAuthentication: { matchingId: 'MID', deviceInfo: { tac: b('35290611'), deviceCapabilities: {} } } };
const ctxParams1Hex = hex('a0 0f  80 03 4d4944  a1 08 80 04 35290611 a1 00');
const challenge = b('000102030405060708090a0b0c0d0e0f');

const euiccSigned1 = {
  transactionId: b('0102'),
  serverAddress: 'dp.test',
  serverChallenge: challenge,
  euiccInfo2: b('bf22058103020500'),
  ctxParams1,
};
const euiccSigned1Hex = hex(`
  30 38                                  -- EuiccSigned1
    80 02 0102                           -- transactionId [0]
    83 07 64702e74657374                 -- serverAddress [3] "dp.test"
    84 10 000102030405060708090a0b0c0d0e0f -- serverChallenge [4]
    bf22 05 8103020500                   -- euiccInfo2 [34], carried as received
    ${ctxParams1Hex}                     -- ctxParams1
`);

describe('AuthenticateServerResponse (BF38)', () => {
  it('encodes the ok arm as A0 { EuiccSigned1, 5F37 euiccSignature1, 30 euiccCertificate, 30 eumCertificate }', () => {
    const value = {
      authenticateResponseOk: { euiccSigned1, euiccSignature1: b('01020304'), euiccCertificate: b('3000'), eumCertificate: b('3000') },
    };
    knownAnswer(AuthenticateServerResponseBody, value, hex(`a0 45 ${euiccSigned1Hex} 5f37 04 01020304  3000  3000`));
  });

  it('encodes the error arm with a universal INTEGER code, since AuthenticateResponseError carries a written tag', () => {
    const decoded = knownAnswer(
      AuthenticateServerResponseBody,
      { authenticateResponseError: { transactionId: b('0102'), authenticateErrorCode: 'euiccChallengeMismatch' } },
      hex('a1 07  80 02 0102  02 01 06'),
    );
    assert.ok('authenticateResponseError' in decoded);
  });

  it('wraps the body in BF38 so the opaque relay codec of the eIM accepts the same bytes', () => {
    const body = encode(AuthenticateServerResponseBody, { authenticateResponseError: { transactionId: b('0102'), authenticateErrorCode: 'undefinedError' } });
    const full = wrap(0xbf38, body);
    assert.equal(toHex(full), 'bf3809a1078002010202017f');
    assert.equal(toHex(decode(AuthenticateServerResponse, full)), toHex(full));
    assert.equal(toHex(readSingle(full).value), toHex(body));
  });

  it('keeps the received EuiccSigned1 bytes for the signature, unknown trailing element included', () => {
    // EuiccSigned1 with an extension element 85 01 ff after ctxParams1 (EXTENSIBILITY IMPLIED).
    const signedHex = `303b${euiccSigned1Hex.slice(4)}8501ff`;
    const okHex = hex(`a0 48 ${signedHex}  5f37 04 01020304  3000  3000`);
    const warnings: DecodeWarning[] = [];
    const v = decode(AuthenticateServerResponseBody, b(okHex), warnings);
    assert.ok('authenticateResponseOk' in v);
    assert.equal(warnings.length, 1);
    assert.equal(toHex(signedBytes(EuiccSigned1, v.authenticateResponseOk.euiccSigned1)), signedHex);
    assert.equal(toHex(EuiccSigned1.encode(v.authenticateResponseOk.euiccSigned1)), euiccSigned1Hex, 're-encoding drops the unknown element');
  });

  it('carries the real sysmoEUICC1-I2T eUICC and EUM certificates byte-exact', { skip }, () => {
    const euiccCertificate = read('sysmoEUICC-I2T-test-CERT_EUICC.der');
    const eumCertificate = read('sysmoEUICC-I2T-test-CERT_EUM.der');
    const value = { authenticateResponseOk: { euiccSigned1, euiccSignature1: b('01020304'), euiccCertificate, eumCertificate } };
    const bytes = encode(AuthenticateServerResponseBody, value);
    const warnings: DecodeWarning[] = [];
    const decoded = decode(AuthenticateServerResponseBody, bytes, warnings);
    assert.deepEqual(warnings, []);
    assert.ok('authenticateResponseOk' in decoded);
    assert.equal(toHex(decoded.authenticateResponseOk.euiccCertificate), toHex(euiccCertificate));
    assert.equal(toHex(decoded.authenticateResponseOk.eumCertificate), toHex(eumCertificate));
    assert.equal(toHex(encode(AuthenticateServerResponseBody, decoded)), toHex(bytes));
  });
});

describe('PrepareDownloadResponse (BF21)', () => {
  const hashCc = b('aa'.repeat(32));

  it('encodes the ok arm with EUICCSigned2 { 80 transactionId, 5F49 euiccOtpk, 04 hashCc } and 5F37 euiccSignature2', () => {
    knownAnswer(
      PrepareDownloadResponseBody,
      { downloadResponseOk: { euiccSigned2: { transactionId: b('0102'), euiccOtpk: b('04aabb'), hashCc }, euiccSignature2: b('ccdd') } },
      hex(`
        a0 33
          30 2c
            80 02 0102
            5f49 03 04aabb
            04 20 ${'aa'.repeat(32)}
          5f37 02 ccdd
      `),
    );
  });

  it('omits hashCc when no confirmation code is required', () => {
    knownAnswer(EuiccSigned2, { transactionId: b('0102'), euiccOtpk: b('04aabb') }, hex('30 0a  80 02 0102  5f49 03 04aabb'));
  });

  it('rejects a hashCc that is not 32 octets (Octet32)', () => {
    assert.throws(() => encode(EuiccSigned2, { transactionId: b('0102'), euiccOtpk: b('04'), hashCc: b('aa') }), EncodeError);
  });

  it('encodes the error arm as A1 { 80 transactionId, 02 downloadErrorCode } inside BF21', () => {
    knownAnswer(
      PrepareDownloadResponseBody,
      { downloadResponseError: { transactionId: b('0102'), downloadErrorCode: 'invalidTransactionId' } },
      hex('a1 07  80 02 0102  02 01 05'),
    );
    const full = wrap(0xbf21, encode(PrepareDownloadResponseBody, { downloadResponseError: { transactionId: b('0102'), downloadErrorCode: 'invalidTransactionId' } }));
    assert.equal(toHex(decode(PrepareDownloadResponse, full)), 'bf2109a10780020102020105');
  });
});

describe('BoundProfilePackage (BF36)', () => {
  const isc = {
    remoteOpId: 1,
    transactionId: b('0102'),
    controlRefTemplate: { keyType: b('88'), keyLen: b('10'), hostId: b('01') },
    smdpOtpk: b('04aabb'),
    smdpSign: b('ccdd'),
  };
  const iscHex = hex(`
    bf23 1d                              -- InitialiseSecureChannelRequest [35]
      82 01 01                           -- remoteOpId [2] installBoundProfilePackage
      80 02 0102                         -- transactionId [0]
      a6 09 800188 810110 840101         -- controlRefTemplate [6] IMPLICIT { keyType, keyLen, hostId }
      5f49 03 04aabb                     -- smdpOtpk
      5f37 02 ccdd                       -- smdpSign
  `);

  it('encodes InitialiseSecureChannelRequest with its written tags', () => {
    knownAnswer(InitialiseSecureChannelRequest, isc, iscHex);
  });

  it('encodes all four segment lists, secondSequenceOf87 included', () => {
    knownAnswer(
      BoundProfilePackageBody,
      { initialiseSecureChannelRequest: isc, firstSequenceOf87: [b('11')], sequenceOf88: [b('22'), b('23')], secondSequenceOf87: [b('33')], sequenceOf86: [b('44')] },
      hex(`bf36 37 ${iscHex}  a0 03 870111  a1 06 880122 880123  a2 03 870133  a3 03 860144`),
    );
  });

  it('encodes a package without secondSequenceOf87 (no replaceSessionKeys)', () => {
    knownAnswer(
      BoundProfilePackageBody,
      { initialiseSecureChannelRequest: isc, firstSequenceOf87: [b('11')], sequenceOf88: [b('22')], sequenceOf86: [b('44'), b('45')] },
      hex(`bf36 32 ${iscHex}  a0 03 870111  a1 03 880122  a3 06 860144 860145`),
    );
  });

  it('builds the smdpSign input from the BF23 data objects before smdpSign, then the eUICC one-time key as 5F49', () => {
    const input = smdpSignInput(isc, b('04ccdd'));
    const bf23Value = readSingle(b(iscHex)).value;
    const beforeSign = bf23Value.subarray(0, bf23Value.length - 5); // drop 5F37 02 ccdd
    assert.equal(toHex(input), toHex(beforeSign) + '5f490304ccdd');
    assert.equal(toHex(otpk5f49(b('04ccdd'))), '5f490304ccdd');
    assert.equal(toHex(sig5f37(b('ccdd'))), '5f3702ccdd');
  });
});

describe('CancelSessionResponse (BF41)', () => {
  const signed = { transactionId: b('0102'), smdpOid: '1.2.3.4', reason: 'postponed' as const };

  it('encodes the ok arm and keeps the received EuiccCancelSessionSigned bytes for the signature', () => {
    const signedHex = hex('30 0c  80 02 0102  81 03 2a0304  82 01 01');
    const decoded = knownAnswer(
      CancelSessionResponseBody,
      { cancelSessionResponseOk: { euiccCancelSessionSigned: signed, euiccCancelSessionSignature: b('eeff') } },
      hex(`a0 13 ${signedHex} 5f37 02 eeff`),
    );
    assert.ok('cancelSessionResponseOk' in decoded);
    assert.equal(toHex(signedBytes(EuiccCancelSessionSigned, decoded.cancelSessionResponseOk.euiccCancelSessionSigned)), signedHex);
  });

  it('encodes the error arm as a bare [1] INTEGER', () => {
    knownAnswer(CancelSessionResponseBody, { cancelSessionResponseError: 'invalidTransactionId' }, '810105');
  });

  it('wraps the body in BF41 so the opaque relay codec accepts it', () => {
    const full = wrap(0xbf41, encode(CancelSessionResponseBody, { cancelSessionResponseError: 'undefinedError' }));
    assert.equal(toHex(decode(CancelSessionResponse, full)), 'bf410381017f');
  });
});
