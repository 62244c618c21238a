/**
 * A Signer backed by a PKCS#8 PEM private key held in memory (the default eIM key, written by
 * `eim keys generate`). The key lives in a private field and is hidden from util.inspect, JSON and String(),
 * so it cannot reach logs or API output by accident.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { toHex, bytesEqual } from '../asn1/hex.js';
import { curveOfKey, type Curve } from './curves.js';
import { signEcdsa } from './ecdsa.js';
import { KeyError } from './errors.js';
import { loadPrivateKeyPem, spkiDer, subjectKeyIdentifier } from './keys.js';
import type { Signer } from './signer.js';

export class FileSigner implements Signer {
  readonly curve: Curve;
  readonly #key: KeyObject;
  readonly #spki: Uint8Array;
  readonly #certificate: Uint8Array | undefined;

  private constructor(key: KeyObject, certificate: Uint8Array | undefined) {
    this.#key = key;
    this.curve = curveOfKey(key);
    this.#spki = spkiDer(key);
    this.#certificate = certificate;
  }

  /**
   * From a PKCS#8 PEM private key and optionally the eIM certificate PEM, which must carry the same public
   * key (a mismatch is refused: the eUICC would verify against the wrong key).
   */
  static fromPem(privateKeyPem: string, certificatePem?: string): FileSigner {
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
    return new FileSigner(key, certDer);
  }

  /** Reads the key (and certificate) files; see fromPem. */
  static async fromFiles(privateKeyPath: string, certificatePath?: string): Promise<FileSigner> {
    const read = async (path: string, what: string): Promise<string> => {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        throw new KeyError(`cannot read ${what} ${path}`, { cause: err });
      }
    };
    const keyPem = await read(privateKeyPath, 'private key file');
    const certPem = certificatePath === undefined ? undefined : await read(certificatePath, 'certificate file');
    return FileSigner.fromPem(keyPem, certPem);
  }

  sign(data: Uint8Array): Promise<Uint8Array> {
    try {
      return Promise.resolve(signEcdsa(this.#key, data));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  signSync(data: Uint8Array): Uint8Array {
    return signEcdsa(this.#key, data);
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
