/**
 * How an indirect download ends for the eIM (SGP.32 v1.2 §3.2.3.2): the download operation is failed with
 * the spec's reason at the first relay failure (ESipa error arm, SM-DP+ status, eUICC cancel reason), or
 * completed from the ProfileInstallationResult the core stored (done with ICCID/AID, or failed with
 * errorReason and bppCommandId). Each end is one store commit with its audit line and an
 * operation.changed event. Writes the operation directly because the core offers no "complete relayed
 * download" method yet (wanted: EimCore.completeDownload).
 */
import { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { bytesEqual, toHex } from '../asn1/hex.js';
import type { PendingNotification } from '../asn1/rsp.js';
import type { Received } from '../asn1/schema.js';
import { type EimEvent, type EventSink, recordEvent } from '../eim/events.js';
import { notificationBytes, notificationFacts, verifyNotification } from '../eim/notifications.js';
import type { Json, OperationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { pendingNotificationOf } from './download-notification-forwarder.js';
import type { DownloadSession, DownloadSessions } from './download-sessions.js';

export interface DownloadOutcomesOptions {
  readonly store: Store;
  readonly sessions: DownloadSessions;
  readonly now: () => number;
  readonly onEvent: EventSink;
  readonly logger: Logger;
}

export class DownloadOutcomes {
  readonly #store: Store;
  readonly #sessions: DownloadSessions;
  readonly #now: () => number;
  readonly #emit: EventSink;
  readonly #log: Logger;

  constructor(o: DownloadOutcomesOptions) {
    this.#store = o.store;
    this.#sessions = o.sessions;
    this.#now = o.now;
    this.#emit = o.onEvent;
    this.#log = o.logger;
  }

  /** Ends the session and fails its operation. */
  async failSession(s: DownloadSession, code: string, message: string): Promise<void> {
    this.#sessions.end(s);
    const op = await this.#store.getOperation(s.operationId);
    if (op !== undefined) await this.fail(op, code, message);
  }

  /** Ends a sent operation as failed with a spec reason; a no-op when it already ended. */
  async fail(op: OperationRecord, errorCode: string, errorMessage: string): Promise<void> {
    await this.finish(op, { state: 'failed', errorCode, errorMessage, result: { relay: 'failed', reason: errorCode } });
  }

  async finish(op: OperationRecord, outcome: { state: 'done' | 'failed'; errorCode?: string; errorMessage?: string; result: Json }): Promise<void> {
    if (op.state !== 'sent') return;
    const now = this.#now();
    const event: EimEvent = { type: 'operation.changed', operationId: op.id, eid: op.eid, kind: op.kind, state: outcome.state, ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}), at: now };
    try {
      await this.#store.commit((tx) => {
        recordEvent(tx, event);
        tx.updateOperation(
          op.id,
          {
            state: outcome.state,
            completedAt: now,
            updatedAt: now,
            result: outcome.result,
            ...(outcome.errorCode !== undefined ? { errorCode: outcome.errorCode } : {}),
            ...(outcome.errorMessage !== undefined ? { errorMessage: outcome.errorMessage } : {}),
          },
          { expectedState: 'sent' },
        );
        tx.appendAudit({ at: now, actor: 'eim', action: outcome.state === 'done' ? 'download-completed' : 'download-failed', eid: op.eid, operationId: op.id, outcome: outcome.state === 'done' ? 'ok' : 'error', detail: { ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}), ...(outcome.errorMessage ? { message: outcome.errorMessage } : {}) } });
      });
    } catch (e) {
      // Another path (a late ProvideEimPackageResult, the reaper) ended it first: that outcome stands.
      this.#log.info({ operationId: op.id, err: (e as Error).message }, 'operation already ended');
      return;
    }
    this.#emit(event);
  }

  async audit(op: OperationRecord | undefined, action: string, detail: Record<string, Json>): Promise<void> {
    if (op === undefined) return;
    const now = this.#now();
    await this.#store.commit((tx) => tx.appendAudit({ at: now, actor: 'eim', action, eid: op.eid, operationId: op.id, outcome: 'ok', detail }));
  }

  /** Ends the operation from the PIR the core stored (verified with the eUICC key when it knows it). */
  async completeFromPir(s: DownloadSession, n: Received<PendingNotification>): Promise<void> {
    const facts = notificationFacts(n);
    const bytes = notificationBytes(n);
    const stored = (await this.#store.listNotifications(s.eid)).find((r) => r.seqNumber === facts.seqNumber);
    const sameBytes = stored !== undefined && (bytesEqual(stored.payload, bytes) || bytesEqual(pendingNotificationOf(stored.payload) ?? new Uint8Array(), bytes));
    if (!sameBytes) {
      this.#log.warn({ eid: s.eid, seqNumber: facts.seqNumber }, 'ProfileInstallationResult not stored (refused): the operation is left to its timeout');
      return;
    }
    // The core stores a notification unverified when it has no eUICC key; an operation only ends on a verified PIR.
    const euicc = await this.#store.getEuicc(s.eid);
    if (euicc?.euiccCertificate === undefined || !verifiedWith(euicc.euiccCertificate, n)) {
      this.#log.warn({ eid: s.eid, seqNumber: facts.seqNumber }, 'ProfileInstallationResult not verifiable with a known eUICC key: the operation is left to its timeout');
      return;
    }
    this.#sessions.end(s);
    const op = await this.#store.getOperation(s.operationId);
    if (op === undefined) return;
    if (facts.installError !== undefined) {
      const reason = String(facts.installError.errorReason);
      await this.finish(op, {
        state: 'failed',
        errorCode: reason,
        errorMessage: `installation failed at bppCommandId ${String(facts.installError.bppCommandId)}`,
        result: { bppCommandId: String(facts.installError.bppCommandId), errorReason: reason, seqNumber: facts.seqNumber },
      });
      return;
    }
    await this.finish(op, { state: 'done', result: { iccid: facts.iccid ?? null, aid: facts.aid ?? null, seqNumber: facts.seqNumber, transactionId: toHex(s.transactionId).toUpperCase() } });
  }
}

/** The PIR's signature checked with the key of the stored eUICC certificate (its chain was validated when stored). */
function verifiedWith(euiccCertificate: Uint8Array, n: PendingNotification): boolean {
  try {
    return verifyNotification(n, new X509Certificate(euiccCertificate).publicKey);
  } catch {
    return false;
  }
}
