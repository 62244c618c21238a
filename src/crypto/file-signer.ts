/**
 * A Signer backed by a PKCS#8 PEM private key held in memory (the default eIM key, written by
 * `eim keys generate`). The key lives in a private field and is hidden from util.inspect, JSON and String(),
 * so it cannot reach logs or API output by accident. Given a CryptoPool, it signs on the pool's worker threads
 * (the key object is posted to them, never serialised) and then offers no signSync, like a remote signer.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { toHex, bytesEqual } from '../asn1/hex.js';
import { curveOfKey, type Curve } from './curves.js';
import type { CryptoPool } from './crypto-pool.js';
import { signEcdsa } from './ecdsa.js';
import { KeyError } from './errors.js';
import { loadPrivateKeyPem, spkiDer, subjectKeyIdentifier } from './keys.js';
import type { Signer } from './signer.js';

export interface FileSignerOptions {
  /** Sign on these worker threads instead of the calling one. */
  readonly pool?: CryptoPool;
}

export class FileSigner implements Signer {
  readonly curve: Curve;
  readonly #key: KeyObject;
  readonly #spki: Uint8Array;
  readonly #certificate: Uint8Array | undefined;
  readonly #pool: CryptoPool | undefined;
  /** Synchronous signing on this thread; absent when signing goes to a CryptoPool. */
  readonly signSync?: (data: Uint8Array) => Uint8Array;

  private constructor(key: KeyObject, certificate: Uint8Array | undefined, pool: CryptoPool | undefined) {
    this.#key = key;
    this.curve = curveOfKey(key);
    this.#spki = spkiDer(key);
    this.#certificate = certificate;
    this.#pool = pool;
    if (pool === undefined) this.signSync = (data) => signEcdsa(this.#key, data);
  }

  /**
   * From a PKCS#8 PEM private key and optionally the eIM certificate PEM, which must carry the same public
   * key (a mismatch is refused: the eUICC would verify against the wrong key).
   */
  static fromPem(privateKeyPem: string, certificatePem?: string, options: FileSignerOptions = {}): FileSigner {
    const key = loadPrivateKeyPem(privateKeyPem);
    let certDer: Uint8Array | undefined;
    if (certificatePem !== undefined) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(certificatePem);
      } catch (err) {
        throw new KeyError('the eIM certificate is not a PEM X.509 certificate', { cause: err });
      }
      if (!bytesEqual(spkiDer(cert.publicKey), spkiDer(key))) {
        throw new KeyError('the eIM certificate does not match the private key');
      }
      certDer = new Uint8Array(cert.raw);
    }
    return new FileSigner(key, certDer, options.pool);
  }

  /** Reads the key (and certificate) files; see fromPem. */
  static async fromFiles(privateKeyPath: string, certificatePath?: string, options: FileSignerOptions = {}): Promise<FileSigner> {
    const read = async (path: string, what: string): Promise<string> => {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        throw new KeyError(`cannot read ${what} ${path}`, { cause: err });
      }
    };
    const keyPem = await read(privateKeyPath, 'private key file');
    const certPem = certificatePath === undefined ? undefined : await read(certificatePath, 'certificate file');
    return FileSigner.fromPem(keyPem, certPem, options);
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    if (this.#pool !== undefined) return this.#pool.sign(this.#key, data);
    try {
      return Promise.resolve(signEcdsa(this.#key, data));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  publicKeySpki(): Uint8Array {
    return this.#spki.slice();
  }

  certificate(): Uint8Array | undefined {
    return this.#certificate?.slice();
  }

  /** What logs and API output may show: the curve and the public key identifier. */
  describe(): { type: 'file'; curve: Curve; subjectKeyIdentifier: string } {
    return { type: 'file', curve: this.curve, subjectKeyIdentifier: toHex(subjectKeyIdentifier(this.#spki)) };
  }

  toJSON(): { type: 'file'; curve: Curve; subjectKeyIdentifier: string } {
    return this.describe();
  }

  toString(): string {
    const d = this.describe();
    return `FileSigner(${d.curve}, ski=${d.subjectKeyIdentifier})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
