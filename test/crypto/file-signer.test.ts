import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { FileSigner } from '../../src/crypto/file-signer.js';
import { CURVES } from '../../src/crypto/curves.js';
import { KeyError } from '../../src/crypto/errors.js';
import { generateKeyPair, privateKeyToPem } from '../../src/crypto/keys.js';
import { createTestPki } from '../../src/sim/pki.js';
import { describeSignerConformance } from './signer.suite.js';

/** The PEM body lines and the private scalar (hex and base64url), which must never be rendered. */
function secretsOf(privateKey: KeyObject): string[] {
  const pem = privateKeyToPem(privateKey);
  const body = pem.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----'));
  const sec1 = privateKey.export({ format: 'der', type: 'sec1' }); // 30 77 02 01 01 04 20 <d> ...
  const d = sec1.subarray(7, 39);
  return [...body, d.toString('hex'), d.toString('base64url'), d.toString('base64')];
}

for (const curve of CURVES) {
  describeSignerConformance(`FileSigner ${curve}`, () => {
    const { privateKey } = generateKeyPair(curve);
    return { signer: FileSigner.fromPem(privateKeyToPem(privateKey)), secrets: secretsOf(privateKey) };
  });
}

describe('FileSigner', () => {
  const eid = '89049032123451234512345678901235';

  it('accepts a certificate whose key matches the private key and returns its DER', () => {
    const pki = createTestPki({ curve: 'P-256', eids: [eid] });
    const euicc = pki.euiccs.get(eid)!;
    const signer = FileSigner.fromPem(euicc.privateKeyPem, euicc.certificatePem);
    assert.deepEqual(signer.certificate(), euicc.certificate);
  });

  it('refuses a certificate for another key, without echoing the key', () => {
    const pki = createTestPki({ curve: 'P-256', eids: [eid] });
    const pem = privateKeyToPem(generateKeyPair('P-256').privateKey);
    assert.throws(
      () => FileSigner.fromPem(pem, pki.euiccs.get(eid)!.certificatePem),
      (err: unknown) => err instanceof KeyError && err.code === 'EIM_ERR_KEY' && !inspect(err).includes(pem.split('\n')[1]!),
    );
  });

  it('has no certificate when none is given', () => {
    assert.equal(FileSigner.fromPem(privateKeyToPem(generateKeyPair('brainpoolP256r1').privateKey)).certificate(), undefined);
  });

  it('refuses a PEM that is not a private key, and one on an unsupported curve, without the PEM in the error', () => {
    const garbage = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END PRIVATE KEY-----\n';
    assert.throws(() => FileSigner.fromPem(garbage), (err: unknown) => err instanceof KeyError && !inspect(err).includes('c2VjcmV0'));
    const p384 = privateKeyToPem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey);
    assert.throws(() => FileSigner.fromPem(p384), /unsupported curve secp384r1/);
  });

  it('loads key and certificate files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-signer-'));
    try {
      const pki = createTestPki({ curve: 'brainpoolP256r1', eids: [eid] });
      const euicc = pki.euiccs.get(eid)!;
      writeFileSync(join(dir, 'k.pem'), euicc.privateKeyPem);
      writeFileSync(join(dir, 'c.pem'), euicc.certificatePem);
      const signer = await FileSigner.fromFiles(join(dir, 'k.pem'), join(dir, 'c.pem'));
      assert.equal(signer.curve, 'brainpoolP256r1');
      await assert.rejects(FileSigner.fromFiles(join(dir, 'missing.pem')), KeyError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

