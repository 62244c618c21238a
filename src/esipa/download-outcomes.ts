/**
 * How an indirect download ends for the eIM (SGP.32 v1.2 §3.2.3.2): the download operation is failed with
 * the spec's reason at the first relay failure (ESipa error arm, SM-DP+ status, eUICC cancel reason), or
 * completed from the ProfileInstallationResult the core stored (done with ICCID/AID, or failed with
 * errorReason and bppCommandId). The core records whether it stored that PIR verified (NotificationRecord.verified)
 * and ends the operation (EimCore.completeDownload: one commit with its audit line and operation.changed event);
 * relay steps are audited here.
 */
import type { Logger } from 'pino';
import { bytesEqual, toHex } from '../asn1/hex.js';
import type { PendingNotification } from '../asn1/rsp.js';
import type { Received } from '../asn1/schema.js';
import type { EimCore } from '../eim/eim-core.js';
import type { DownloadCompletion } from '../eim/results.js';
import { notificationBytes, notificationFacts } from '../eim/notifications.js';
import type { Json, NotificationRecord, OperationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { pendingNotificationOf } from './download-notification-forwarder.js';
import type { DownloadSession, DownloadSessions } from './download-sessions.js';

export interface DownloadOutcomesOptions {
  readonly core: EimCore;
  readonly store: Store;
  readonly sessions: DownloadSessions;
  readonly now: () => number;
  readonly logger: Logger;
}

export class DownloadOutcomes {
  readonly #core: EimCore;
  readonly #store: Store;
  readonly #sessions: DownloadSessions;
  readonly #now: () => number;
  readonly #log: Logger;

  constructor(o: DownloadOutcomesOptions) {
    this.#core = o.core;
    this.#store = o.store;
    this.#sessions = o.sessions;
    this.#now = o.now;
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

  async finish(op: OperationRecord, outcome: DownloadCompletion): Promise<void> {
    // False: another path (a late ProvideEimPackageResult, the reaper) ended it first, and that outcome stands.
    if (!(await this.#core.completeDownload(op, outcome))) this.#log.info({ operationId: op.id }, 'operation already ended');
  }

  async audit(op: OperationRecord | undefined, action: string, detail: Record<string, Json>): Promise<void> {
    if (op === undefined) return;
    const now = this.#now();
    await this.#store.commit((tx) => tx.appendAudit({ at: now, actor: 'eim', action, eid: op.eid, operationId: op.id, outcome: 'ok', detail }));
  }

  /**
   * Ends the operation from the PIR the core stored, on the core's stored verdict: only a PIR it verified with
   * the validated eUICC key ends it; one it refused or stored unverified (no eUICC key known) leaves the
   * operation to its timeout.
   */
  async completeFromPir(s: DownloadSession, n: Received<PendingNotification>, record: NotificationRecord | undefined): Promise<void> {
    const facts = notificationFacts(n);
    const bytes = notificationBytes(n);
    const stored = record?.payload;
    // The stored copy must be this PIR (as received, or inside the ProfileDownloadTriggerResult of a direct download).
    const sameBytes = stored !== undefined && (bytesEqual(stored, bytes) || bytesEqual(pendingNotificationOf(stored) ?? new Uint8Array(), bytes));
    if (!sameBytes) {
      this.#log.warn({ eid: s.eid, seqNumber: facts.seqNumber }, 'ProfileInstallationResult not stored (refused): the operation is left to its timeout');
      return;
    }
    if (record?.verified !== true) {
      this.#log.warn({ eid: s.eid, seqNumber: facts.seqNumber }, 'ProfileInstallationResult stored unverified (no validated eUICC key): the operation is left to its timeout');
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
