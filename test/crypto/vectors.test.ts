import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { X509Certificate } from 'node:crypto';
import { childrenOf, readSingle } from '../../src/asn1/tlv.js';
import { toHex } from '../../src/asn1/hex.js';
import { verifyEcdsa, rawToDer } from '../../src/crypto/ecdsa.js';
import { CertificateError } from '../../src/crypto/errors.js';
import { TrustedCis, validateEuiccChain } from '../../src/crypto/pki.js';

const VECTORS = new URL('../../../shared/vectors/', import.meta.url);
const skip = existsSync(fileURLToPath(VECTORS)) ? false : 'shared vectors absent';
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, VECTORS)));

// Inside every certificate's validity (CI from 2020, eUICC from 2024-05-01).
const NOW = new Date('2025-06-01T00:00:00Z');
const SYSMO_EID = '89044045118427484800000000011628';

describe('real vectors: SGP.26 test CI, sysmo EUM and eUICC', { skip }, () => {
  const load = () => ({
    trustedCis: new TrustedCis([read('sgp26-test-CERT_CI_ECDSA_NIST.der')]),
    eumCertificate: read('sysmoEUICC-I2T-test-CERT_EUM.der'),
    euiccCertificate: read('sysmoEUICC-I2T-test-CERT_EUICC.der'),
  });

  it('trusts the SGP.26 NIST test CI under its published SKI', () => {
    const { trustedCis } = load();
    assert.deepEqual(trustedCis.subjectKeyIdentifiers().map(toHex), ['f54172bdf98a95d65cbeb88a38a1c11d800a85c3']);
  });

  it('refuses the sysmo eUICC only for name constraints', () => {
    assert.throws(
      () => validateEuiccChain({ ...load(), eid: SYSMO_EID, now: NOW }),
      (err: unknown) => err instanceof CertificateError && err.reason === 'name-constraints' && /sysmocom RSP Test EUM/.test(err.message),
    );
  });

  it('accepts the CI -> EUM -> eUICC chain with the lab switch and reports the relaxation', () => {
    const result = validateEuiccChain({ ...load(), eid: SYSMO_EID, now: NOW, lab: { relaxNameConstraints: true } });
    assert.equal(result.eid, SYSMO_EID);
    assert.equal(result.curve, 'P-256');
    assert.equal(toHex(result.ciSubjectKeyIdentifier), 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
    assert.equal(toHex(result.eumSubjectKeyIdentifier), 'dd3da24d350c1cc5d0af0965f40ec34c5ee409f1');
    assert.deepEqual(result.relaxations.map((r) => r.check), ['name-constraints']);
  });

  it('still refuses the sysmo chain for another EID, at a time before the eUICC certificate, and under an untrusted CI', () => {
    const lab = { relaxNameConstraints: true };
    assert.throws(() => validateEuiccChain({ ...load(), eid: '89049032123451234512345678901235', now: NOW, lab }), (e: unknown) => e instanceof CertificateError && e.reason === 'eid-mismatch');
    assert.throws(() => validateEuiccChain({ ...load(), now: new Date('2023-01-01T00:00:00Z'), lab }), (e: unknown) => e instanceof CertificateError && e.reason === 'not-yet-valid' && e.certificate === 'euicc');
    const { eumCertificate, euiccCertificate } = load();
    const selfSignedEum = new TrustedCis([]);
    assert.throws(() => validateEuiccChain({ eumCertificate, euiccCertificate, trustedCis: selfSignedEum, now: NOW, lab }), (e: unknown) => e instanceof CertificateError && e.reason === 'unknown-ci');
  });

  it('verifies the ProfileInstallationResult signature over the complete BF27 TLV with the eUICC key', () => {
    const pir = read('sysmoEUICC-I2T-notificationsList-PIR.der');
    const [bf37] = childrenOf(readSingle(pir)); // A0 { BF37 { BF27 data, 5F37 signature } }
    assert.equal(bf37?.tag, 0xbf37);
    const [data, sig] = childrenOf(bf37!);
    assert.equal(data?.tag, 0xbf27);
    assert.equal(sig?.tag, 0x5f37);
    assert.equal(data!.bytes.length, 85);
    assert.equal(sig!.value.length, 64);
    const key = new X509Certificate(read('sysmoEUICC-I2T-test-CERT_EUICC.der')).publicKey;
    assert.deepEqual(verifyEcdsa(key, data!.bytes, sig!.value), { valid: true, encoding: 'raw' });
    assert.deepEqual(verifyEcdsa(key, data!.bytes, rawToDer(sig!.value)), { valid: true, encoding: 'der' });
  });

  it('rejects the ProfileInstallationResult with one byte changed in the data or the signature', () => {
    const pir = read('sysmoEUICC-I2T-notificationsList-PIR.der');
    const [data, sig] = childrenOf(childrenOf(readSingle(pir))[0]!);
    const key = new X509Certificate(read('sysmoEUICC-I2T-test-CERT_EUICC.der')).publicKey;
    const tampered = data!.bytes.slice();
    tampered[20] = tampered[20]! ^ 0x01;
    assert.equal(verifyEcdsa(key, tampered, sig!.value).valid, false);
    const badSig = sig!.value.slice();
    badSig[63] = badSig[63]! ^ 0x01;
    assert.equal(verifyEcdsa(key, data!.bytes, badSig).valid, false);
    // The EUM key (a wrong key) does not verify it either.
    const eumKey = new X509Certificate(read('sysmoEUICC-I2T-test-CERT_EUM.der')).publicKey;
    assert.equal(verifyEcdsa(eumKey, data!.bytes, sig!.value).valid, false);
  });
});
