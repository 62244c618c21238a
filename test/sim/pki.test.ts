import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { parseCertificate, RSP_ROLE, KEY_USAGE } from '../../src/crypto/certificate.js';
import { CURVES } from '../../src/crypto/curves.js';
import { FileSigner } from '../../src/crypto/file-signer.js';
import { TrustedCis, validateEuiccChain } from '../../src/crypto/pki.js';
import { createTestPki, writeTestPki } from '../../src/sim/pki.js';
import { createSmdpCertificates, SMDP_ROLE } from '../../src/sim/smdp/smdp-pki.js';

const EIDS = [eidWithCheckDigits('890490321234512345123456789012'), eidWithCheckDigits('890490321234512345123456789013')];

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('test PKI', () => {
  for (const curve of CURVES) {
    it(`issues a CI, an EUM and one eUICC per EID with the SGP.22 profiles on ${curve}`, () => {
      const pki = createTestPki({ curve, eids: EIDS });
      const ci = parseCertificate(pki.ci.certificate, 'ci');
      const eum = parseCertificate(pki.eum.certificate, 'eum');
      assert.equal(ci.curve, curve);
      assert.deepEqual(ci.policies, [RSP_ROLE.ci]);
      assert.equal(ci.subjectKey, ci.issuerKey, 'the CI is self-issued');
      assert.deepEqual(eum.policies, [RSP_ROLE.eum]);
      assert.deepEqual(eum.basicConstraints, { cA: true, pathLenConstraint: 0 });
      assert.equal(eum.keyUsage, KEY_USAGE.keyCertSign);
      assert.deepEqual(eum.authorityKeyIdentifier, ci.subjectKeyIdentifier);
      assert.equal(pki.eum.serialPrefix, '89049032');
      assert.equal(pki.euiccs.size, 2);
      for (const eid of EIDS) {
        const euicc = parseCertificate(pki.euiccs.get(eid)!.certificate, 'euicc');
        assert.deepEqual(euicc.policies, [RSP_ROLE.euicc]);
        assert.equal(euicc.keyUsage, KEY_USAGE.digitalSignature);
        assert.equal(euicc.subject.find((a) => a.type === '2.5.4.5')?.value, eid);
        assert.deepEqual(euicc.authorityKeyIdentifier, eum.subjectKeyIdentifier);
        assert.equal(new X509Certificate(pki.euiccs.get(eid)!.certificate).verify(eum.publicKey), true);
        // The returned key belongs to the certificate (FileSigner refuses a mismatch).
        FileSigner.fromPem(pki.euiccs.get(eid)!.privateKeyPem, pki.euiccs.get(eid)!.certificatePem);
      }
      const trustedCis = new TrustedCis([pki.ci.certificate]);
      for (const eid of EIDS) {
        const r = validateEuiccChain({ euiccCertificate: pki.euiccs.get(eid)!.certificate, eumCertificate: pki.eum.certificate, trustedCis, eid, now: new Date() });
        assert.equal(r.eid, eid);
      }
    });
  }

  it('issues the SM-DP+ auth, pb and TLS certificates under the CI with their role, SM-DP+ OID and serverAuth', () => {
    const pki = createTestPki({ eids: EIDS });
    const certs = createSmdpCertificates({ ci: pki.ci, smdpOid: '2.999.10', tlsHosts: ['127.0.0.1', 'smdp.test'] });
    const ci = parseCertificate(pki.ci.certificate, 'ci');
    for (const [id, role] of [[certs.auth, SMDP_ROLE.auth], [certs.pb, SMDP_ROLE.pb], [certs.tls, SMDP_ROLE.tls]] as const) {
      const parsed = parseCertificate(id.certificate, 'euicc');
      assert.deepEqual(parsed.policies, [role]);
      assert.equal(parsed.keyUsage, KEY_USAGE.digitalSignature);
      assert.equal(parsed.basicConstraints, undefined);
      assert.deepEqual(parsed.authorityKeyIdentifier, ci.subjectKeyIdentifier);
      assert.deepEqual(parsed.subjectKeyIdentifier, id.subjectKeyIdentifier);
      const x509 = new X509Certificate(id.certificate);
      assert.equal(x509.verify(ci.publicKey), true);
      assert.equal(x509.checkPrivateKey(id.privateKey), true);
      assert.deepEqual(parsed.subject.map((a) => a.type), ['2.5.4.10', '2.5.4.3']);
    }
    for (const id of [certs.auth, certs.pb]) {
      assert.match(new X509Certificate(id.certificate).subjectAltName ?? '', /2\.999\.10/);
      assert.equal(new X509Certificate(id.certificate).keyUsage, undefined, 'no extKeyUsage on DPauth/DPpb');
    }
    const tls = new X509Certificate(certs.tls.certificate);
    assert.equal(tls.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(tls.checkHost('smdp.test'), 'smdp.test');
    assert.deepEqual(tls.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('refuses EIDs that are not 32 digits or outside the requested EUM prefix', () => {
    assert.throws(() => createTestPki({ eids: ['1234'] }), InvalidArgumentError);
    assert.throws(() => createTestPki({ eids: EIDS, eumSerialPrefix: '89044045' }), InvalidArgumentError);
  });

  it('honours validDays and now', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const pki = createTestPki({ eids: EIDS.slice(0, 1), now, validDays: 10 });
    const c = parseCertificate(pki.euiccs.get(EIDS[0]!)!.certificate, 'euicc');
    assert.ok(c.notBefore <= now);
    assert.equal(c.notAfter.getTime(), now.getTime() + 10 * 86_400_000);
  });

  it('writes certificates (DER and PEM) and keys (mode 0600) to a directory that OpenSSL can read', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-pki-'));
    try {
      const pki = createTestPki({ curve: 'brainpoolP256r1', eids: EIDS });
      const written = await writeTestPki(pki, dir);
      assert.equal(written.length, 3 * (2 + EIDS.length));
      assert.deepEqual(readdirSync(dir).sort(), written.map((p) => p.slice(dir.length + 1)).sort());
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'ci.der'))), pki.ci.certificate);
      for (const name of ['ci-key.pem', 'eum-key.pem', `euicc-${EIDS[0]}-key.pem`]) {
        assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
      }
      if (!hasOpenssl()) {
        t.diagnostic('openssl CLI absent: skipped the OpenSSL check');
        return;
      }
      // OpenSSL checks the CI -> EUM link by itself (RFC 5280 name-constraint semantics differ from
      // SGP.22's serialNumber prefix, so the eUICC level is checked by our validator instead).
      const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ci.pem'), join(dir, 'eum.pem')], { encoding: 'utf8' });
      assert.match(out, /OK/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
