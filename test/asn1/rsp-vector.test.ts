/**
 * The SGP.22 notification codecs against a real eUICC encoding (sysmoEUICC1-I2T notificationsList with a
 * ProfileInstallationResult, shared/vectors/README.md §2), plus the decoder's tolerance of unknown trailing
 * elements and its typed errors with byte offsets on malformed input.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { X509Certificate, verify } from 'node:crypto';
import { NotificationMetadata, PendingNotification, ProfileInstallationResult, ProfileInstallationResultData } from '../../src/asn1/rsp.js';
import { type DecodeWarning, RECEIVED, decode, encode, sequenceOf, signedBytes } from '../../src/asn1/schema.js';
import { DecodeError } from '../../src/asn1/errors.js';
import { fromHex, toHex } from '../../src/asn1/hex.js';

const vectors = new URL('../../../shared/vectors/', import.meta.url);
const haveVectors = existsSync(fileURLToPath(vectors));
const skip = haveVectors ? false : 'shared/vectors is not beside the repository';
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, vectors)));

const PendingNotificationList = sequenceOf('PendingNotificationList', 0xa0, PendingNotification);

describe('real PIR from a sysmoEUICC1-I2T', { skip }, () => {
  it('decodes the notificationsList with its errorResult fields by spec name', () => {
    const bytes = read('sysmoEUICC-I2T-notificationsList-PIR.der');
    const warnings: DecodeWarning[] = [];
    const list = decode(PendingNotificationList, bytes, warnings);
    assert.deepEqual(warnings, []);
    assert.equal(list.length, 1);
    const n = list[0]!;
    assert.ok('profileInstallationResult' in n);
    const data = n.profileInstallationResult.profileInstallationResultData;
    assert.equal(toHex(data.transactionId), 'e0f1356728a44720b219a3b70c9df57e');
    assert.deepEqual(data.notificationMetadata, {
      seqNumber: 2,
      profileManagementOperation: ['notificationInstall'],
      notificationAddress: 'testsmdpplus1.example.com',
      iccid: '8949449999999990031',
    });
    assert.equal(data.smdpOid, '2.999.10');
    assert.deepEqual(data.finalResult, { errorResult: { bppCommandId: 'storeMetadata', errorReason: 'installFailedDueToIccidAlreadyExistsOnEuicc' } });
    assert.equal(n.profileInstallationResult.euiccSignPIR.length, 64);
  });

  it('keeps exactly the received BF27 TLV as the signed part, and the eUICC signature verifies over it', () => {
    const bytes = read('sysmoEUICC-I2T-notificationsList-PIR.der');
    const [n] = decode(PendingNotificationList, bytes);
    assert.ok(n !== undefined && 'profileInstallationResult' in n);
    const data = n.profileInstallationResult.profileInstallationResultData;
    // A0 81 9C, BF37 81 98, then BF27 52 + 82 content bytes: offsets 7..92.
    const slice = bytes.subarray(7, 7 + 85);
    assert.equal(slice[0], 0xbf);
    assert.equal(toHex(data[RECEIVED]!), toHex(slice));
    assert.equal(toHex(signedBytes(ProfileInstallationResultData, data)), toHex(slice));
    const key = new X509Certificate(read('sysmoEUICC-I2T-test-CERT_EUICC.der')).publicKey;
    const sig = n.profileInstallationResult.euiccSignPIR;
    assert.equal(verify('sha256', data[RECEIVED]!, { key, dsaEncoding: 'ieee-p1363' }, sig), true);
    const tampered = Uint8Array.from(data[RECEIVED]!);
    tampered[tampered.length - 1]! ^= 1;
    assert.equal(verify('sha256', tampered, { key, dsaEncoding: 'ieee-p1363' }, sig), false);
  });

  it('re-encodes the notificationsList byte-exact', () => {
    const bytes = read('sysmoEUICC-I2T-notificationsList-PIR.der');
    assert.equal(toHex(encode(PendingNotificationList, decode(PendingNotificationList, bytes))), toHex(bytes));
  });

  it('turns every truncation and every bit flip of the vector into a value or a DecodeError, nothing else', () => {
    const bytes = read('sysmoEUICC-I2T-notificationsList-PIR.der');
    let errors = 0;
    for (let len = 0; len < bytes.length; len++) {
      assert.throws(() => decode(PendingNotificationList, bytes.subarray(0, len)), DecodeError);
      errors++;
    }
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = Uint8Array.from(bytes);
        m[i]! ^= 1 << bit;
        try {
          decode(PendingNotificationList, m, []);
        } catch (e) {
          assert.ok(e instanceof DecodeError, `byte ${i} bit ${bit}: ${String(e)}`);
          assert.ok(e.offset >= 0 && e.offset <= m.length, `offset ${e.offset} inside the message`);
          errors++;
        }
      }
    }
    assert.ok(errors > bytes.length, 'mutations were rejected');
  });
});

describe('tolerance and errors of the notification decoders', () => {
  // seqNumber 1, {notificationEnable}, address "a", then an element this version does not know: 85 01 00.
  const withExtension = fromHex('bf2f0d800101810206400c0161850100');

  it('decodes an unknown trailing element inside NotificationMetadata with a warning and keeps it in the received bytes', () => {
    const warnings: DecodeWarning[] = [];
    const v = decode(NotificationMetadata, withExtension, warnings);
    assert.deepEqual(v, { seqNumber: 1, profileManagementOperation: ['notificationEnable'], notificationAddress: 'a' });
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.offset, 13);
    assert.match(warnings[0]!.message, /unknown element 85/);
    // Within OtherSignedNotification the signature must cover the bytes as received, extension included.
    const other = fromHex(`301f${toHex(withExtension)}5f3702aabb30030201013003020102`);
    const n = decode(PendingNotification, other, []);
    assert.ok('otherSignedNotification' in n);
    assert.equal(toHex(signedBytes(NotificationMetadata, n.otherSignedNotification.tbsOtherNotification)), toHex(withExtension));
  });

  const pir = fromHex(
    'bf372ebf2724800101bf2f0a800101810207800c0161060388370aa20da00b4f05a00000055904029000' + '5f370401020304',
  );

  it('rejects a wrong tag where profileInstallationResultData is expected, at that tag', () => {
    const m = Uint8Array.from(pir);
    m[4] = 0x28; // BF27 -> BF28
    assert.throws(() => decode(ProfileInstallationResult, m), (e: unknown) => e instanceof DecodeError && e.offset === 3 && /BF28/.test(e.message));
  });

  it('rejects a wrong tag deep inside at its absolute offset with the field path', () => {
    const m = Uint8Array.from(pir);
    // BF37 2E (0..2), BF27 24 (3..5), 80 01 01 (6..8), BF2F 0A + 10 bytes (9..21): smdpOid 06 at 22.
    assert.equal(m[22], 0x06);
    m[22] = 0x04;
    assert.throws(
      () => decode(ProfileInstallationResult, m),
      (e: unknown) => e instanceof DecodeError && e.offset === 22 && e.path.join('.') === 'profileInstallationResultData' && /smdpOid/.test(e.message),
    );
  });

  it('rejects an unknown PendingNotification alternative and a wrong outer tag at offset 0', () => {
    assert.throws(() => decode(PendingNotification, fromHex('a200')), (e: unknown) => e instanceof DecodeError && e.offset === 0);
    assert.throws(() => decode(ProfileInstallationResult, fromHex('bf3800')), (e: unknown) => e instanceof DecodeError && e.offset === 0);
    assert.throws(() => decode(PendingNotificationList, fromHex('a003bf3800')), (e: unknown) => e instanceof DecodeError && e.offset === 2);
  });

  it('rejects a PIR whose required euiccSignPIR is missing', () => {
    const m = fromHex(`bf3727${toHex(pir.subarray(3, 3 + 39))}`);
    assert.throws(() => decode(ProfileInstallationResult, m), (e: unknown) => e instanceof DecodeError && /missing euiccSignPIR/.test(e.message) && e.offset === 0);
  });
});
