/**
 * The signing seam of the eIM (SGP.32 §2.11.1.1 eimSignature). The core signs only through a Signer, so a
 * file key today and an HSM or cloud KMS later fit without touching it. Signatures are always the 64-byte
 * r||s the eUICC expects; a backend that produces DER must convert (see ecdsa.ts derToRaw).
 */
import type { Curve } from './curves.js';

export interface Signer {
  readonly curve: Curve;
  /** ECDSA with SHA-256 over `data`; resolves to 64-byte r||s. */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /**
   * Optional synchronous signing, offered only by local-key signers. Why it exists: better-sqlite3
   * transactions are synchronous, so a signer that can sign inside one lets the core increment the counter,
   * sign and store the package in a single transaction (no await in between). Remote signers (HSM, KMS)
   * omit it; the core then commits the counter first and signs afterwards, which is equally safe because a
   * counter value is never reused, only possibly skipped.
   */
  signSync?(data: Uint8Array): Uint8Array;
  /** SubjectPublicKeyInfo DER of the signing key (what EimConfigurationData.eimPublicKeyData carries). */
  publicKeySpki(): Uint8Array;
  /** The eIM certificate (DER) when one is configured. */
  certificate(): Uint8Array | undefined;
}
