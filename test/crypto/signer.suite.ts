/**
 * Conformance suite every Signer implementation must pass (file key today, HSM/KMS later):
 * 64-byte r||s that verifies with its own public key, rejected by a wrong key and for tampered data,
 * and no private key material in String(), util.inspect or JSON output.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { publicKeyObject, verifyEcdsa } from '../../src/crypto/ecdsa.js';
import { curveOfKey } from '../../src/crypto/curves.js';
import { generateKeyPair, spkiDer } from '../../src/crypto/keys.js';
import type { Signer } from '../../src/crypto/signer.js';

export interface SignerUnderTest {
  readonly signer: Signer;
  /** Strings that must never appear in any rendering of the signer (e.g. the PEM body, the private scalar hex). */
  readonly secrets: readonly string[];
}

export function describeSignerConformance(name: string, factory: () => Promise<SignerUnderTest> | SignerUnderTest): void {
  describe(`Signer conformance: ${name}`, () => {
    const data = new TextEncoder().encode('EuiccPackageSigned || 84 01 00');

    it('signs as 64-byte r||s that its own public key verifies', async () => {
      const { signer } = await factory();
      const sig = await signer.sign(data);
      assert.ok(sig instanceof Uint8Array);
      assert.equal(sig.length, 64);
      assert.deepEqual(verifyEcdsa(signer.publicKeySpki(), data, sig), { valid: true, encoding: 'raw' });
    });

    it('declares the curve of its key', async () => {
      const { signer } = await factory();
      assert.equal(curveOfKey(publicKeyObject(signer.publicKeySpki())), signer.curve);
    });

    it('produces signatures that a different key rejects', async () => {
      const { signer } = await factory();
      const sig = await signer.sign(data);
      const other = generateKeyPair(signer.curve);
      assert.equal(verifyEcdsa(spkiDer(other.publicKey), data, sig).valid, false);
    });

    it('produces signatures that fail over tampered data', async () => {
      const { signer } = await factory();
      const sig = await signer.sign(data);
      const tampered = data.slice();
      tampered[5] = tampered[5]! ^ 0x80;
      assert.equal(verifyEcdsa(signer.publicKeySpki(), tampered, sig).valid, false);
    });

    it('signs synchronously to the same key when it offers signSync', async (t) => {
      const { signer } = await factory();
      if (signer.signSync === undefined) {
        t.skip('no signSync');
        return;
      }
      const sig = signer.signSync(data);
      assert.equal(sig.length, 64);
      assert.equal(verifyEcdsa(signer.publicKeySpki(), data, sig).valid, true);
    });

    it('never shows the private key in String(), util.inspect or JSON', async () => {
      const { signer, secrets } = await factory();
      assert.ok(secrets.length > 0, 'the factory must name the secrets to look for');
      const renderings = [
        String(signer),
        `${signer as unknown as string}`,
        inspect(signer, { depth: 10, showHidden: true }),
        JSON.stringify(signer),
        JSON.stringify({ nested: signer }),
        inspect({ nested: [signer] }, { depth: 10 }),
      ];
      for (const text of renderings) {
        for (const secret of secrets) assert.ok(!text.includes(secret), `secret leaked in: ${text.slice(0, 80)}`);
        assert.ok(!/PRIVATE KEY/.test(text), `PEM leaked in: ${text.slice(0, 80)}`);
      }
    });

    it('returns copies of its public key so callers cannot alter it', async () => {
      const { signer } = await factory();
      const spki = signer.publicKeySpki();
      spki[spki.length - 1] = spki[spki.length - 1]! ^ 0xff;
      assert.notDeepEqual(signer.publicKeySpki(), spki);
    });
  });
}
