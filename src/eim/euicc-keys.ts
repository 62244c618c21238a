/**
 * The validated eUICC public keys the eIM verifies results with (SGP.22 §4.5.2 chain rules via
 * src/crypto/pki.ts). A key is trusted only after its chain CI -> EUM -> eUICC validated and the certificate's
 * EID equals the eUICC's; validated keys are cached per EID (and dropped when the certificate changes).
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { bytesEqual } from '../asn1/hex.js';
import { type TrustedCis, validateEuiccChain } from '../crypto/pki.js';

export interface EuiccKeyOptions {
  readonly trustedCis: TrustedCis;
  readonly relaxNameConstraints: boolean;
  readonly now: () => number;
  readonly logger: Logger;
}

export class EuiccKeys {
  readonly #cache = new Map<string, { cert: Uint8Array; key: KeyObject }>();
  readonly #options: EuiccKeyOptions;

  constructor(options: EuiccKeyOptions) {
    this.#options = options;
  }

  /**
   * Validates the chain of an eUICC certificate for `eid` and returns its public key. Throws the
   * CertificateError of src/crypto when the chain does not hold.
   */
  validate(eid: string, euiccCertificate: Uint8Array, eumCertificate: Uint8Array): KeyObject {
    const cached = this.#cache.get(eid);
    if (cached !== undefined && bytesEqual(cached.cert, euiccCertificate)) return cached.key;
    const v = validateEuiccChain({
      euiccCertificate,
      eumCertificate,
      trustedCis: this.#options.trustedCis,
      eid,
      now: new Date(this.#options.now()),
      ...(this.#options.relaxNameConstraints ? { lab: { relaxNameConstraints: true } } : {}),
    });
    for (const r of v.relaxations) this.#options.logger.warn({ eid, relaxation: r }, 'lab mode: eUICC chain accepted despite a relaxed check');
    this.#cache.set(eid, { cert: euiccCertificate, key: v.publicKey });
    return v.publicKey;
  }

  forget(eid: string): void {
    this.#cache.delete(eid);
  }
}
