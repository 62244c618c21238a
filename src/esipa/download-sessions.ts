/**
 * Indirect-download sessions the eIM relays (SGP.32 v1.2 §3.2.3.2): each binds the SM-DP+ transactionId
 * to the eUICC, the download operation (by its eimTransactionId) and what the activation code said
 * (SM-DP+ address and OID, matching ID), so AuthenticateClient, GetBoundProfilePackage, CancelSession and
 * the final ProfileInstallationResult find their operation.
 *
 * Kept in memory on purpose: a session only lives for one awake window of the device (minutes), the
 * operation itself is durable in the store, and after an eIM restart the IPA's next relay call gets
 * invalidTransactionId and the operation fails or is re-issued by the core's timeouts. Ended sessions stay
 * `retainMs` so a late PIR still finds its operation.
 */
import { toHex } from '../asn1/hex.js';

export interface DownloadSession {
  readonly eid: string;
  readonly operationId: string;
  readonly eimTransactionId: Uint8Array;
  /** The SM-DP+ the eIM called (activation code, or the IPA's smdpAddress for a default SM-DP+). */
  readonly smdpAddress: string;
  readonly smdpOid?: string;
  readonly matchingId?: string;
  /** The SM-DP+ transactionId (from InitiateAuthentication). */
  readonly transactionId: Uint8Array;
  step: 'initiated' | 'authenticated' | 'bpp-sent' | 'ended';
  /** ICCID from profileMetaData, when the SM-DP+ sent it. */
  iccid?: string;
  readonly createdAt: number;
  updatedAt: number;
}

export class DownloadSessions {
  readonly #byTransactionId = new Map<string, DownloadSession>();
  readonly #retainMs: number;
  readonly #now: () => number;

  constructor(options: { retainMs?: number; now?: () => number } = {}) {
    this.#retainMs = options.retainMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  add(session: DownloadSession): void {
    this.#prune();
    this.#byTransactionId.set(toHex(session.transactionId), session);
  }

  /** The session of an SM-DP+ transactionId; with `eid`, only when it belongs to that eUICC. */
  get(transactionId: Uint8Array, eid?: string): DownloadSession | undefined {
    const s = this.#byTransactionId.get(toHex(transactionId));
    if (s === undefined || (eid !== undefined && s.eid !== eid)) return undefined;
    return s;
  }

  /** Marks a session ended (kept a while for a late PIR). */
  end(session: DownloadSession): void {
    session.step = 'ended';
    session.updatedAt = this.#now();
  }

  #prune(): void {
    const limit = this.#now() - this.#retainMs;
    for (const [k, s] of this.#byTransactionId) if (s.updatedAt < limit) this.#byTransactionId.delete(k);
  }
}
