/**
 * Errors of the crypto layer: certificate-chain failures (SGP.22 §4.5.2 checks, each with a machine-readable
 * `reason`), unusable keys, and malformed signatures. Messages never contain private key material.
 */
import { EimError } from '../errors.js';

/** Why an eUICC certificate chain was refused; one value per SGP.22 check. */
export type CertificateFailure =
  | 'malformed'
  | 'unknown-ci'
  | 'issuer-mismatch'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-role'
  | 'key-usage'
  | 'basic-constraints'
  | 'name-constraints'
  | 'eid-mismatch'
  | 'unsupported-algorithm';

/** A certificate (or chain) failed validation. `certificate` names which one: ci, eum or euicc. */
export class CertificateError extends EimError {
  readonly reason: CertificateFailure;
  readonly certificate: 'ci' | 'eum' | 'euicc' | undefined;

  constructor(reason: CertificateFailure, message: string, certificate?: 'ci' | 'eum' | 'euicc', options?: { cause?: unknown }) {
    super('EIM_ERR_CERTIFICATE', `${certificate !== undefined ? `${certificate} certificate: ` : ''}${message}`, options);
    this.reason = reason;
    this.certificate = certificate;
  }
}

/** A key could not be loaded, has the wrong type or curve, or does not match its certificate. */
export class KeyError extends EimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_KEY', message, options);
  }
}

/** A signature is not in a form we can use (neither 64-byte r||s nor a DER ECDSA-Sig-Value). */
export class SignatureError extends EimError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EIM_ERR_SIGNATURE', message, options);
  }
}
