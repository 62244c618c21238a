/**
 * Key material of the eIM: generate a P-256 or brainpoolP256r1 key pair, write and load it as PEM
 * (PKCS#8 private key with mode 0600, SPKI public key), and derive what the specs need from a public key:
 * the SPKI DER (EimConfigurationData.eimPublicKeyData), the raw point, and the SubjectKeyIdentifier
 * (RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents, as SGP.22 uses for CI ids).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { curveInfo, curveOfKey, type Curve } from './curves.js';
import { KeyError } from './errors.js';
import { publicKeyObject, type PublicKeyInput } from './ecdsa.js';

export const PRIVATE_KEY_FILE = 'eim-key.pem';
export const PUBLIC_KEY_FILE = 'eim-pub.pem';

export interface KeyPair {
  readonly curve: Curve;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** A fresh EC key pair on the curve. */
export function generateKeyPair(curve: Curve): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curveInfo(curve).nodeName });
  return { curve, privateKey, publicKey };
}

/** PKCS#8 PEM of a private key. Callers must treat the string as a secret. */
export function privateKeyToPem(privateKey: KeyObject): string {
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

/** SPKI PEM of a public key (or of the public half of a private key). */
export function publicKeyToPem(key: KeyObject): string {
  return publicKeyObject(key).export({ format: 'pem', type: 'spki' }).toString();
}

/** SubjectPublicKeyInfo DER of a key (public half when given a private key). */
export function spkiDer(key: KeyObject): Uint8Array {
  const der = publicKeyObject(key).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.buffer, der.byteOffset, der.length);
}

/**
 * The 65-byte uncompressed point 04 || X || Y. Taken from the SPKI (JWK export does not support brainpool);
 * the prefix is checked so a key of another shape cannot be sliced silently.
 */
export function rawPublicPoint(key: PublicKeyInput): Uint8Array {
  const k = publicKeyObject(key);
  const spki = spkiDer(k);
  const prefix = curveInfo(curveOfKey(k)).spkiPrefix;
  if (spki.length !== prefix.length + 65 || spki[prefix.length] !== 0x04) throw new KeyError('unexpected SubjectPublicKeyInfo layout');
  return spki.slice(prefix.length);
}

/** SubjectKeyIdentifier: SHA-1 of the public key bit string contents (20 bytes). */
export function subjectKeyIdentifier(key: PublicKeyInput): Uint8Array {
  return new Uint8Array(createHash('sha1').update(rawPublicPoint(key)).digest());
}

/** Loads a PKCS#8 (or SEC1) PEM private key and checks it is on a supported curve. */
export function loadPrivateKeyPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // No cause: OpenSSL errors do not echo key bytes today, but we do not rely on that for a secret.
    throw new KeyError('not a PEM private key (expected PKCS#8 "BEGIN PRIVATE KEY")');
  }
  curveOfKey(key);
  return key;
}

/** Loads a public key from SPKI PEM, or from a certificate PEM (its subject key). */
export function loadPublicKeyPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new KeyError('not a PEM public key or certificate', { cause: err });
  }
  curveOfKey(key);
  return key;
}

/** Reads a private key file (PKCS#8 PEM). */
export async function loadPrivateKeyFile(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new KeyError(`cannot read private key file ${path}`, { cause: err });
  }
  return loadPrivateKeyPem(pem);
}

export interface WrittenKeyFiles {
  readonly curve: Curve;
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  /** SPKI DER of the new public key. */
  readonly publicKeySpki: Uint8Array;
  readonly subjectKeyIdentifier: Uint8Array;
}

/**
 * Generates a key pair and writes eim-key.pem (PKCS#8, mode 0600) and eim-pub.pem into `dir` (created if
 * missing). Refuses to overwrite an existing key unless `overwrite` is set: losing the eIM key means every
 * associated eUICC must be re-provisioned.
 */
export async function generateKeyFiles(dir: string, curve: Curve, options: { overwrite?: boolean } = {}): Promise<WrittenKeyFiles> {
  const pair = generateKeyPair(curve);
  await mkdir(dir, { recursive: true });
  const privateKeyPath = join(dir, PRIVATE_KEY_FILE);
  const publicKeyPath = join(dir, PUBLIC_KEY_FILE);
  const flag = options.overwrite === true ? 'w' : 'wx';
  try {
    await writeFile(privateKeyPath, privateKeyToPem(pair.privateKey), { mode: 0o600, flag });
    await chmod(privateKeyPath, 0o600); // `mode` applies only when the file is created
    await writeFile(publicKeyPath, publicKeyToPem(pair.publicKey), { mode: 0o644, flag });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyError(`a key already exists in ${dir}; refusing to overwrite it`);
    throw new KeyError(`cannot write key files to ${dir}`, { cause: err });
  }
  return {
    curve,
    privateKeyPath,
    publicKeyPath,
    publicKeySpki: spkiDer(pair.publicKey),
    subjectKeyIdentifier: subjectKeyIdentifier(pair.publicKey),
  };
}
