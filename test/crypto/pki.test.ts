import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { CURVES } from '../../src/crypto/curves.js';
import { CertificateError, type CertificateFailure } from '../../src/crypto/errors.js';
import { signEcdsa, verifyEcdsa } from '../../src/crypto/ecdsa.js';
import { TrustedCis, validateEuiccChain, type ChainValidationOptions } from '../../src/crypto/pki.js';
import { createBrokenVariant, createTestCi, createTestPki, issueEuiccCertificate, type BrokenVariant } from '../../src/sim/pki.js';

const EID = eidWithCheckDigits('890490321234512345123456789012');
const EID2 = eidWithCheckDigits('890490321234512345123456789099');
const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

function rejects(options: ChainValidationOptions, reason: CertificateFailure, which?: 'ci' | 'eum' | 'euicc'): void {
  assert.throws(
    () => validateEuiccChain(options),
    (err: unknown) => {
      assert.ok(err instanceof CertificateError, `expected CertificateError, got ${String(err)}`);
      assert.equal(err.code, 'EIM_ERR_CERTIFICATE');
      assert.equal(err.reason, reason, err.message);
      if (which !== undefined) assert.equal(err.certificate, which);
      return true;
    },
  );
}

for (const curve of CURVES) {
  describe(`eUICC chain validation (${curve})`, () => {
    const pki = createTestPki({ curve, eids: [EID, EID2], now: NOW, validDays: 365 });
    const trustedCis = new TrustedCis([pki.ci.certificate]);
    const euicc = pki.euiccs.get(EID)!;
    const base: ChainValidationOptions = { euiccCertificate: euicc.certificate, eumCertificate: pki.eum.certificate, trustedCis, eid: EID, now: NOW };

    it('accepts a valid chain and returns the eUICC key, EID and CI SKI with no relaxations', () => {
      const result = validateEuiccChain(base);
      assert.equal(result.curve, curve);
      assert.equal(result.eid, EID);
      assert.deepEqual(result.ciSubjectKeyIdentifier, pki.ci.subjectKeyIdentifier);
      assert.deepEqual(result.eumSubjectKeyIdentifier, pki.eum.subjectKeyIdentifier);
      assert.deepEqual(result.relaxations, []);
      const sig = signEcdsa(euicc.privateKey, Uint8Array.of(1, 2, 3));
      assert.equal(verifyEcdsa(result.publicKey, Uint8Array.of(1, 2, 3), sig).valid, true);
    });

    it('learns the EID from the certificate when none is given', () => {
      assert.equal(validateEuiccChain({ ...base, eid: undefined }).eid, EID);
    });

    it('rejects a chain under a CI that is not trusted', () => {
      const other = new TrustedCis([createTestCi({ curve, notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + DAY) }).certificate]);
      rejects({ ...base, trustedCis: other }, 'unknown-ci', 'eum');
    });

    it('rejects a chain whose CI is trusted but not the one required', () => {
      rejects({ ...base, ciSubjectKeyIdentifier: new Uint8Array(20) }, 'unknown-ci', 'eum');
      assert.equal(validateEuiccChain({ ...base, ciSubjectKeyIdentifier: pki.ci.subjectKeyIdentifier }).eid, EID);
    });

    it('rejects the eUICC certificate of another EID when that EID is addressed', () => {
      rejects({ ...base, eid: EID2 }, 'eid-mismatch', 'euicc');
    });

    it('rejects an eUICC certificate paired with another EUM', () => {
      const other = createBrokenVariant(pki, 'other-ci', EID);
      rejects({ ...base, eumCertificate: other.eum.certificate, trustedCis: new TrustedCis([pki.ci.certificate]) }, 'unknown-ci');
    });

    it('rejects everything at a time outside the validity periods', () => {
      rejects({ ...base, now: new Date(NOW.getTime() + 400 * DAY) }, 'expired', 'ci');
      rejects({ ...base, now: new Date(NOW.getTime() - 2 * DAY) }, 'not-yet-valid', 'ci');
    });

    it('rejects a flipped byte in the eUICC certificate signature', () => {
      const cert = euicc.certificate.slice();
      cert[cert.length - 5] = cert[cert.length - 5]! ^ 0x01;
      rejects({ ...base, euiccCertificate: cert }, 'bad-signature', 'euicc');
    });

    it('rejects bytes that are not a certificate as malformed', () => {
      rejects({ ...base, euiccCertificate: Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00) }, 'malformed', 'euicc');
    });

    const broken: [BrokenVariant, CertificateFailure, 'eum' | 'euicc'][] = [
      ['wrong-role', 'wrong-role', 'euicc'],
      ['no-role', 'wrong-role', 'euicc'],
      ['expired', 'expired', 'euicc'],
      ['not-yet-valid', 'not-yet-valid', 'euicc'],
      ['eid-mismatch', 'eid-mismatch', 'euicc'],
      ['no-digital-signature', 'key-usage', 'euicc'],
      ['other-ci', 'unknown-ci', 'eum'],
      ['eum-wrong-role', 'wrong-role', 'eum'],
      ['eum-no-key-cert-sign', 'key-usage', 'eum'],
      ['eum-expired', 'expired', 'eum'],
    ];
    for (const [variant, reason, which] of broken) {
      it(`rejects the ${variant} variant (${reason}), also with the lab switch`, () => {
        const m = createBrokenVariant(pki, variant, EID);
        const opts = { ...base, euiccCertificate: m.euicc.certificate, eumCertificate: m.eum.certificate };
        rejects(opts, reason, which);
        rejects({ ...opts, lab: { relaxNameConstraints: true } }, reason, which);
      });
    }

    it('rejects an eUICC outside the EUM name constraints, and accepts it with the lab switch, reporting the relaxation', () => {
      const m = createBrokenVariant(pki, 'outside-name-constraints', EID);
      const opts = { ...base, euiccCertificate: m.euicc.certificate };
      rejects(opts, 'name-constraints', 'euicc');
      const result = validateEuiccChain({ ...opts, lab: { relaxNameConstraints: true } });
      assert.equal(result.eid, EID);
      assert.equal(result.relaxations.length, 1);
      assert.equal(result.relaxations[0]!.check, 'name-constraints');
      assert.match(result.relaxations[0]!.detail, /outside the permitted subtrees/);
    });

    it('rejects an eUICC whose EID lies outside the EUM serialNumber prefix, unless relaxed', () => {
      const foreign = eidWithCheckDigits('890440451184274848000000000116');
      const cert = issueEuiccCertificate(pki.eum, { curve, eid: foreign, notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + DAY) });
      const opts = { ...base, euiccCertificate: cert.certificate, eid: foreign };
      rejects(opts, 'name-constraints', 'euicc');
      assert.equal(validateEuiccChain({ ...opts, lab: { relaxNameConstraints: true } }).relaxations.length, 1);
    });
  });
}

describe('TrustedCis', () => {
  it('refuses a configured CI certificate without the CI role', () => {
    const notCi = createTestCi({ curve: 'P-256', notBefore: NOW, notAfter: new Date(NOW.getTime() + DAY), role: 'eum' });
    assert.throws(() => new TrustedCis([notCi.certificate]), (err: unknown) => err instanceof CertificateError && err.reason === 'wrong-role');
  });

  it('indexes CIs by subject key identifier', () => {
    const ci = createTestCi({ curve: 'brainpoolP256r1', notBefore: NOW, notAfter: new Date(NOW.getTime() + DAY) });
    const trusted = new TrustedCis([ci.certificate]);
    assert.equal(trusted.size, 1);
    assert.deepEqual(trusted.subjectKeyIdentifiers(), [ci.subjectKeyIdentifier]);
    assert.ok(trusted.get(ci.subjectKeyIdentifier) !== undefined);
    assert.equal(trusted.get(new Uint8Array(20)), undefined);
  });
});
