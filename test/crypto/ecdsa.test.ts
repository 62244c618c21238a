import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from 'node:crypto';
import { fromHex } from '../../src/asn1/hex.js';
import { derToRaw, isHighS, publicKeyObject, rawToDer, signEcdsa, tryDerToRaw, verifyEcdsa } from '../../src/crypto/ecdsa.js';
import { generateKeyPair, rawPublicPoint, spkiDer } from '../../src/crypto/keys.js';
import { CURVES } from '../../src/crypto/curves.js';
import { SignatureError } from '../../src/crypto/errors.js';

const MESSAGE = new TextEncoder().encode('eIM high-S test message');

// Made with `openssl dgst -sha256 -sign` (OpenSSL 3.0.19); both have S above n/2.
const OPENSSL_HIGH_S = [
  {
    curve: 'P-256' as const,
    spki: '3059301306072a8648ce3d020106082a8648ce3d03010703420004d17edd9b944df3944b6850dbf3a970e5daad502b63b07c95de43c153b066c75838c63889477be017a6bc677c94a014f62a7f9756930dc101f93314839b98c9c8',
    der: '3045022053927d972acf90573a06b4d302bb77a4f03ba7d376582b9a2989158e3271545c022100ce95d013212bc2cae049521fc633846bae37539eb57c08413d81b5cf04afc7f3',
  },
  {
    curve: 'brainpoolP256r1' as const,
    spki: '305a301406072a8648ce3d020106092b2403030208010107034200049614fb496e0330b51628bc6bc691d6cea3245686ebce6f0c18f6fc75ab1223d73d9d7235d39f1e897f7f23c0b1303c49c1606bd5727b563c9d205f8903205cb0',
    der: '304502204ce87cbda31b1899b02617f22d055ea353ac7a3cf55f2d0a3d1f52ccbc5e84e802210082b8419901cc9133e2c393adca4592c4b24d59a1653fd3fa9fa3245b497c9da6',
  },
];

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

describe('ecdsa', () => {
  it('converts r||s to DER and back, padding short integers on both sides', () => {
    const raw = new Uint8Array(64);
    raw[31] = 0x05; // r = 5
    raw.fill(0xff, 32); // s with the high bit set needs a 00 pad in DER
    const der = rawToDer(raw);
    assert.deepEqual([...der.subarray(0, 5)], [0x30, der.length - 2, 0x02, 0x01, 0x05]);
    assert.deepEqual([...der.subarray(5, 8)], [0x02, 0x21, 0x00]);
    assert.deepEqual(derToRaw(der), raw);
  });

  it('refuses DER that is not a minimal ECDSA-Sig-Value', () => {
    const ok = tryDerToRaw(fromHex('3006020105020106'));
    assert.equal(ok?.[31], 5);
    assert.equal(ok?.[63], 6);
    assert.equal(tryDerToRaw(fromHex('300702020005020105')), undefined, 'non-minimal INTEGER');
    assert.equal(tryDerToRaw(fromHex('3006020185020105')), undefined, 'negative INTEGER');
    assert.equal(tryDerToRaw(fromHex('300602010502010500')), undefined, 'trailing byte');
    assert.throws(() => derToRaw(fromHex('04020105')), SignatureError);
  });

  for (const curve of CURVES) {
    describe(curve, () => {
      const pair = generateKeyPair(curve);
      const other = generateKeyPair(curve);

      it('signs as 64-byte r||s that verifies as raw', () => {
        const sig = signEcdsa(pair.privateKey, MESSAGE);
        assert.equal(sig.length, 64);
        assert.deepEqual(verifyEcdsa(pair.publicKey, MESSAGE, sig), { valid: true, encoding: 'raw' });
      });

      it('accepts the same signature in DER and reports that it was DER', () => {
        const der = rawToDer(signEcdsa(pair.privateKey, MESSAGE));
        assert.deepEqual(verifyEcdsa(spkiDer(pair.publicKey), MESSAGE, der), { valid: true, encoding: 'der' });
      });

      it('rejects a tampered message, a tampered signature and a wrong key', () => {
        const sig = signEcdsa(pair.privateKey, MESSAGE);
        assert.equal(verifyEcdsa(pair.publicKey, flip(MESSAGE, 3), sig).valid, false);
        assert.equal(verifyEcdsa(pair.publicKey, MESSAGE, flip(sig, 40)).valid, false);
        assert.equal(verifyEcdsa(other.publicKey, MESSAGE, sig).valid, false);
        assert.equal(verifyEcdsa(pair.publicKey, MESSAGE, rawToDer(flip(sig, 10))).valid, false);
      });

      it('reports garbage signatures as malformed instead of throwing', () => {
        assert.deepEqual(verifyEcdsa(pair.publicKey, MESSAGE, new Uint8Array(10)), { valid: false, encoding: 'malformed' });
      });

      it('takes the key as a raw point with its curve, and caches the KeyObject', () => {
        const sig = signEcdsa(pair.privateKey, MESSAGE);
        const input = { point: rawPublicPoint(pair.publicKey), curve };
        assert.equal(verifyEcdsa(input, MESSAGE, sig).valid, true);
        assert.equal(publicKeyObject(input), publicKeyObject(spkiDer(pair.publicKey)));
      });

      it('verifies high-S signatures made by OpenSSL through node:crypto', () => {
        let highS = 0;
        for (let i = 0; i < 40; i++) {
          const der = sign('sha256', MESSAGE, { key: pair.privateKey, dsaEncoding: 'der' });
          const raw = derToRaw(der);
          if (!isHighS(raw, curve)) continue;
          highS++;
          assert.equal(verifyEcdsa(pair.publicKey, MESSAGE, raw).valid, true);
        }
        assert.ok(highS > 0, 'expected some of 40 signatures to be high-S');
      });
    });
  }

  for (const v of OPENSSL_HIGH_S) {
    it(`verifies a stored high-S signature from the openssl CLI on ${v.curve}, raw and DER`, () => {
      const raw = derToRaw(fromHex(v.der));
      assert.equal(isHighS(raw, v.curve), true);
      assert.deepEqual(verifyEcdsa(fromHex(v.spki), MESSAGE, raw), { valid: true, encoding: 'raw' });
      assert.deepEqual(verifyEcdsa(fromHex(v.spki), MESSAGE, fromHex(v.der)), { valid: true, encoding: 'der' });
      assert.equal(verifyEcdsa(fromHex(v.spki), flip(MESSAGE, 0), raw).valid, false);
    });
  }

  it('verifies signatures freshly made by the openssl CLI on both curves', (t) => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      t.skip('openssl CLI not installed');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'eim-ecdsa-'));
    try {
      for (const name of ['prime256v1', 'brainpoolP256r1']) {
        const key = join(dir, `${name}.pem`);
        const msg = join(dir, 'msg.bin');
        execFileSync('openssl', ['ecparam', '-name', name, '-genkey', '-noout', '-out', key]);
        writeFileSync(msg, MESSAGE);
        const pub = execFileSync('openssl', ['ec', '-in', key, '-pubout', '-outform', 'der'], { stdio: ['ignore', 'pipe', 'ignore'] });
        for (let i = 0; i < 8; i++) {
          const der = execFileSync('openssl', ['dgst', '-sha256', '-sign', key, msg]);
          const spki = new Uint8Array(pub);
          assert.equal(verifyEcdsa(spki, MESSAGE, derToRaw(new Uint8Array(der))).valid, true);
          assert.equal(verifyEcdsa(spki, flip(MESSAGE, 1), derToRaw(new Uint8Array(der))).valid, false);
        }
        assert.ok(readFileSync(key).length > 0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
