import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { CryptoPool } from '../../src/crypto/crypto-pool.js';
import { rawToDer, verifyEcdsa } from '../../src/crypto/ecdsa.js';
import { FileSigner } from '../../src/crypto/file-signer.js';
import { privateKeyToPem } from '../../src/crypto/keys.js';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const brainpool = () => generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' }).privateKey;

describe('CryptoPool', () => {
  it('signs on a worker with 64-byte r||s that verify with the public key, for several keys at once', async () => {
    const pool = new CryptoPool({ threads: 2 });
    try {
      const keys = [p256(), p256(), brainpool()];
      const jobs = Array.from({ length: 60 }, (_, i) => ({ key: keys[i % keys.length]!, data: new Uint8Array(100).fill(i) }));
      const sigs = await Promise.all(jobs.map((j) => pool.sign(j.key, j.data)));
      jobs.forEach((j, i) => {
        assert.equal(sigs[i]!.length, 64);
        assert.deepEqual(verifyEcdsa(createPublicKey(j.key), j.data, sigs[i]!), { valid: true, encoding: 'raw' });
      });
    } finally {
      await pool.close();
    }
  });

  it('answers a lone request on the calling thread (no worker hop) and a burst on the workers, with the same results', async () => {
    const pool = new CryptoPool({ threads: 1 });
    try {
      const key = p256();
      const pub = createPublicKey(key);
      const data = new Uint8Array(64).fill(3);
      // A worker's answer needs an event-loop turn; a lone request is settled within a few microtasks.
      let lone: Uint8Array | undefined;
      void pool.sign(key, data).then((s) => (lone = s));
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.ok(lone instanceof Uint8Array && !Buffer.isBuffer(lone), 'lone signature settled in the same turn, as a plain Uint8Array');
      assert.deepEqual(verifyEcdsa(pub, data, lone), { valid: true, encoding: 'raw' });
      let verified: boolean | undefined;
      void pool.verifyEcdsa(pub, data, lone).then((r) => (verified = r.valid));
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.equal(verified, true);
      // Two at once go to the worker: not settled within microtasks, right once they are.
      let burst: Uint8Array[] | undefined;
      const both = Promise.all([pool.sign(key, data), pool.sign(key, data)]).then((s) => (burst = s));
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.equal(burst, undefined);
      await both;
      for (const s of burst!) assert.deepEqual(verifyEcdsa(pub, data, s), { valid: true, encoding: 'raw' });
    } finally {
      await pool.close();
    }
  });

  it('verifies as verifyEcdsa does: r||s, DER, a wrong message and a malformed signature', async () => {
    const pool = new CryptoPool({ threads: 1 });
    try {
      const key = p256();
      const pub = createPublicKey(key);
      const data = new Uint8Array(200).fill(7);
      const sig = await pool.sign(key, data);
      const cases: [Uint8Array, Uint8Array][] = [
        [data, sig],
        [data, rawToDer(sig)],
        [data.subarray(1), sig],
        [data, new Uint8Array(10)],
      ];
      for (const [d, s] of cases) assert.deepEqual(await pool.verifyEcdsa(pub, d, s), verifyEcdsa(pub, d, s));
      assert.deepEqual(await pool.verifyEcdsa(pub, data, rawToDer(sig)), { valid: true, encoding: 'der' });
      assert.equal((await pool.verifyEcdsa(pub, data.subarray(1), sig)).valid, false);
    } finally {
      await pool.close();
    }
  });

  it('refuses a public key for signing and any request after close', async () => {
    const pool = new CryptoPool({ threads: 1 });
    const key = p256();
    await assert.rejects(pool.sign(createPublicKey(key), new Uint8Array(1)), { name: 'KeyError' });
    await pool.close();
    await assert.rejects(pool.sign(key, new Uint8Array(1)), /closed/);
  });

  it('gives a FileSigner that signs on the pool and offers no signSync', async () => {
    const pool = new CryptoPool({ threads: 1 });
    try {
      const key = p256();
      const signer = FileSigner.fromPem(privateKeyToPem(key), undefined, { pool });
      assert.equal(signer.signSync, undefined);
      const data = new Uint8Array([1, 2, 3]);
      const sig = await signer.sign(data);
      assert.equal(verifyEcdsa(signer.publicKeySpki(), data, sig).valid, true);
      assert.notEqual(FileSigner.fromPem(privateKeyToPem(key)).signSync, undefined);
    } finally {
      await pool.close();
    }
  });
});
