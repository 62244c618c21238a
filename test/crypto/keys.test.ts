import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/asn1/hex.js';
import { CURVES, curveOfKey, parseCurveName } from '../../src/crypto/curves.js';
import { KeyError } from '../../src/crypto/errors.js';
import {
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  generateKeyFiles,
  loadPrivateKeyFile,
  loadPublicKeyPem,
  rawPublicPoint,
  spkiDer,
  subjectKeyIdentifier,
} from '../../src/crypto/keys.js';

const VECTORS = new URL('../../../shared/vectors/', import.meta.url);

describe('keys', () => {
  it('parses the curve names operators type and refuses others', () => {
    assert.equal(parseCurveName('p256'), 'P-256');
    assert.equal(parseCurveName('prime256v1'), 'P-256');
    assert.equal(parseCurveName('brainpoolP256r1'), 'brainpoolP256r1');
    assert.equal(parseCurveName('secp384r1'), undefined);
  });

  for (const curve of CURVES) {
    it(`writes a ${curve} key pair as eim-key.pem (0600) and eim-pub.pem, and loads it back`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eim-keys-'));
      try {
        const written = await generateKeyFiles(join(dir, 'sub'), curve);
        assert.equal(written.privateKeyPath, join(dir, 'sub', PRIVATE_KEY_FILE));
        assert.equal(statSync(written.privateKeyPath).mode & 0o777, 0o600);
        assert.match(readFileSync(written.privateKeyPath, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
        const priv = await loadPrivateKeyFile(written.privateKeyPath);
        assert.equal(curveOfKey(priv), curve);
        const pub = loadPublicKeyPem(readFileSync(join(dir, 'sub', PUBLIC_KEY_FILE), 'utf8'));
        assert.deepEqual(spkiDer(pub), written.publicKeySpki);
        assert.deepEqual(spkiDer(priv), written.publicKeySpki);
        assert.equal(rawPublicPoint(pub).length, 65);
        assert.equal(rawPublicPoint(pub)[0], 0x04);
        assert.equal(written.subjectKeyIdentifier.length, 20);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('refuses to overwrite an existing key unless asked to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-keys-'));
    try {
      const first = await generateKeyFiles(dir, 'P-256');
      await assert.rejects(generateKeyFiles(dir, 'P-256'), (err: unknown) => err instanceof KeyError && /refusing/.test(err.message));
      assert.deepEqual(spkiDer(await loadPrivateKeyFile(first.privateKeyPath)), first.publicKeySpki);
      const second = await generateKeyFiles(dir, 'brainpoolP256r1', { overwrite: true });
      assert.notDeepEqual(second.publicKeySpki, first.publicKeySpki);
      assert.equal(statSync(second.privateKeyPath).mode & 0o777, 0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('computes the SubjectKeyIdentifier the SGP.26 test CI carries', (t) => {
    let der: Buffer;
    try {
      der = readFileSync(new URL('sgp26-test-CERT_CI_ECDSA_NIST.der', VECTORS));
    } catch {
      t.skip('vectors absent');
      return;
    }
    const cert = new X509Certificate(der);
    assert.equal(toHex(subjectKeyIdentifier(cert.publicKey)), 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
    assert.equal(toHex(subjectKeyIdentifier(spkiDer(cert.publicKey))), toHex(createHash('sha1').update(rawPublicPoint(cert.publicKey)).digest()));
  });

  it('rejects a missing key file and a non-key PEM with KeyError', async () => {
    await assert.rejects(loadPrivateKeyFile(join(tmpdir(), 'no-such-eim-key.pem')), KeyError);
    assert.throws(() => loadPublicKeyPem('not a pem'), KeyError);
  });
});
