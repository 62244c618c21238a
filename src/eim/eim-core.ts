/**
 * The eIM core (SGP.32 v1.2 §2.11, §3): operations in, signed packages out, verified results applied, all
 * on the Store seam and with no transport in sight. The ESipa layer calls nextPackage / apply* for whatever
 * binding the device uses; the API layer calls registerEuicc / submit / cancel.
 *
 * Concurrency: work for one eUICC is serialised (one package handed out at a time, results applied in
 * arrival order); different eUICCs proceed in parallel and share group commits in the store.
 */
import { pino, type Logger } from 'pino';
import type { EimPackageResult } from '../asn1/esipa.js';
import type { EuiccPackageResult } from '../asn1/euicc-package.js';
import { assertEid } from '../asn1/identifiers.js';
import type { PendingNotification } from '../asn1/rsp.js';
import type { Received } from '../asn1/schema.js';
import type { CryptoPool } from '../crypto/crypto-pool.js';
import { verifyEcdsa } from '../crypto/ecdsa.js';
import type { TrustedCis } from '../crypto/pki.js';
import { ConflictError, NotFoundError } from '../store/errors.js';
import type { EuiccRecord, EuiccSummary, Json, NotificationRecord, OperationRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { CoreContext } from './context.js';
import { EuiccKeys } from './euicc-keys.js';
import { commitWithEvent, type EventSink, operationChanged } from './events.js';
import type { EimIdentity } from './identity.js';
import { failOperation, issueOperation, type IssuedPackage, reissueOperation } from './issue.js';
import { notificationBytes } from './notifications.js';
import { operationId } from './operation-id.js';
import { bufferedRandomBytes } from './random.js';
import { type EimEntryInput, type OperationRequest, parseOperationRequest } from './operation-request.js';
import { type Applied, applyDownloadResult, applyEuiccData, applyEuiccPackageResult, applyNotification, completeDownload, type DownloadCompletion } from './results.js';

export interface EimCoreOptions {
  readonly store: Store;
  readonly identity: EimIdentity;
  readonly trustedCis: TrustedCis;
  readonly now?: () => number;
  readonly randomBytes?: (n: number) => Uint8Array;
  readonly logger?: Logger;
  readonly onEvent?: EventSink;
  /** Deliveries of one package before its operation fails as undeliverable (default 3). */
  readonly maxAttempts?: number;
  /** Lab switch: accept eUICC chains that break the EUM name constraints (test eUICCs do); logged. */
  readonly relaxNameConstraints?: boolean;
  /**
   * Verify eUICC result signatures on these worker threads, so the thread running the core and its store is
   * free meanwhile (give the eIM's FileSigner the same pool to sign there too). The caller closes it.
   */
  readonly cryptoPool?: CryptoPool;
}

export interface RegisterEuiccInput {
  readonly eid: string;
  readonly endpoint?: string;
  readonly labels?: readonly string[];
  /** The counterValue the eUICC holds for this eIM (what AddInitialEim/addEim configured); default 0. */
  readonly counterValue?: number;
  readonly associationToken?: number;
  readonly euiccCertificate?: Uint8Array;
  readonly eumCertificate?: Uint8Array;
}

export interface SubmitOptions {
  readonly idempotencyKey?: string;
  readonly campaignId?: string;
  readonly notBefore?: number;
  readonly expiresAt?: number;
  /** Who asked, for the audit log (e.g. 'api:ops-token'). */
  readonly actor?: string;
}

export class EimCore {
  readonly #ctx: CoreContext;
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: EimCoreOptions) {
    const logger = (options.logger ?? pino({ level: 'silent' })).child({ component: 'eim' });
    const now = options.now ?? Date.now;
    const pool = options.cryptoPool;
    this.#ctx = {
      store: options.store,
      identity: options.identity,
      keys: new EuiccKeys({ trustedCis: options.trustedCis, relaxNameConstraints: options.relaxNameConstraints ?? false, now, logger }),
      now,
      randomBytes: options.randomBytes ?? bufferedRandomBytes(),
      logger,
      emit: options.onEvent ?? (() => undefined),
      maxAttempts: options.maxAttempts ?? 3,
      verify: pool !== undefined ? (k, d, sig) => pool.verifyEcdsa(k, d, sig) : async (k, d, sig) => verifyEcdsa(k, d, sig),
    };
    if (options.relaxNameConstraints === true) logger.warn('lab mode: EUM name constraints are not enforced on eUICC certificates');
  }

  get identity(): EimIdentity {
    return this.#ctx.identity;
  }

  /** Runs `fn` after every earlier task for the same eUICC (one ESipa exchange per eUICC at a time). */
  #serial<T>(eid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(eid) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#queues.set(eid, tail);
    void tail.then(() => {
      if (this.#queues.get(eid) === tail) this.#queues.delete(eid);
    });
    return next;
  }

  /**
   * Registers an eUICC (or updates one already known): its EID, endpoint, labels, the counter and token of
   * its association with this eIM, and its certificates, whose chain must validate.
   */
  async registerEuicc(input: RegisterEuiccInput): Promise<EuiccRecord> {
    assertEid(input.eid);
    const { store, identity, keys } = this.#ctx;
    const now = this.#ctx.now();
    if ((input.euiccCertificate === undefined) !== (input.eumCertificate === undefined)) {
      throw new ConflictError('give both the eUICC and the EUM certificate, or neither');
    }
    if (input.euiccCertificate !== undefined) keys.validate(input.eid, input.euiccCertificate, input.eumCertificate!);
    const existing = await store.getEuicc(input.eid);
    const assoc = await store.getAssociation(identity.eimId, input.eid);
    const record: EuiccRecord = {
      ...(existing ?? { eid: input.eid, createdAt: now, labels: [] }),
      updatedAt: now,
      ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}),
      ...(input.labels !== undefined ? { labels: [...input.labels] } : {}),
      ...(input.euiccCertificate !== undefined ? { euiccCertificate: input.euiccCertificate, eumCertificate: input.eumCertificate! } : {}),
    };
    await store.commit((tx) => {
      tx.putEuicc(record);
      if (assoc === undefined) {
        tx.putAssociation({
          eimId: identity.eimId,
          eid: input.eid,
          counterValue: input.counterValue ?? 0,
          ...(input.associationToken !== undefined ? { associationToken: input.associationToken } : {}),
          state: 'active',
          updatedAt: now,
        });
      } else {
        if (input.counterValue !== undefined && input.counterValue > assoc.counterValue) tx.setCounterValue(identity.eimId, input.eid, input.counterValue, { expected: assoc.counterValue });
        if (input.associationToken !== undefined) tx.patchAssociation(identity.eimId, input.eid, { associationToken: input.associationToken, updatedAt: now });
      }
      tx.appendAudit({ at: now, actor: 'eim', action: existing ? 'euicc-updated' : 'euicc-registered', eid: input.eid, outcome: 'ok' });
    });
    return record;
  }

  /** Queues an operation for an eUICC. With an idempotency key, a repeated call returns the first operation. */
  async submit(eid: string, request: OperationRequest | unknown, options: SubmitOptions = {}): Promise<OperationRecord> {
    const req = parseOperationRequest(request);
    const { store } = this.#ctx;
    if (options.idempotencyKey !== undefined) {
      const prior = await store.findOperationByIdempotencyKey(options.idempotencyKey);
      if (prior !== undefined) return prior;
    }
    if ((await store.getEuicc(eid)) === undefined) throw new NotFoundError(`eUICC ${eid} is not registered`);
    const now = this.#ctx.now();
    const op: OperationRecord = {
      id: operationId(now),
      eid,
      kind: req.kind,
      params: req as unknown as Json,
      state: 'queued',
      attempts: 0,
      createdAt: now,
      updatedAt: now,
      ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
      ...(options.campaignId !== undefined ? { campaignId: options.campaignId } : {}),
      ...(options.notBefore !== undefined ? { notBefore: options.notBefore } : {}),
      ...(options.expiresAt !== undefined ? { expiresAt: options.expiresAt } : {}),
    };
    try {
      await commitWithEvent(this.#ctx, operationChanged(op, 'queued', now), (tx) => {
        tx.insertOperation(op);
        tx.appendAudit({ at: now, actor: options.actor ?? 'eim', action: 'operation-submitted', eid, operationId: op.id, outcome: 'ok', detail: { kind: req.kind } });
      });
    } catch (e) {
      // Two identical requests racing on one idempotency key: the first one wins, the second returns it.
      if (e instanceof ConflictError && options.idempotencyKey !== undefined) {
        const prior = await store.findOperationByIdempotencyKey(options.idempotencyKey);
        if (prior !== undefined) return prior;
      }
      throw e;
    }
    return op;
  }

  /** Cancels an operation that has not been sent yet; ConflictError once it has left. */
  async cancel(operationId: string): Promise<OperationRecord> {
    const { store } = this.#ctx;
    const op = await store.getOperation(operationId);
    if (op === undefined) throw new NotFoundError(`operation ${operationId} does not exist`);
    if (op.state !== 'queued') throw new ConflictError(`operation ${operationId} is ${op.state}; only queued operations can be cancelled`);
    const now = this.#ctx.now();
    await commitWithEvent(this.#ctx, operationChanged(op, 'cancelled', now), (tx) => {
      tx.updateOperation(operationId, { state: 'cancelled', completedAt: now, updatedAt: now }, { expectedState: 'queued' });
    });
    return { ...op, state: 'cancelled', completedAt: now, updatedAt: now };
  }

  /**
   * The next package for an eUICC, or undefined when there is nothing to do. A package whose result has not
   * come back is handed out again (same bytes) before anything new. Before the first package, the eIM asks
   * for the eUICC's certificates if it does not know them (results cannot be verified without them); after a
   * reported state change it re-reads the profile list.
   */
  nextPackage(eid: string): Promise<IssuedPackage | undefined> {
    return this.#serial(eid, async () => {
      const { store } = this.#ctx;
      const [inFlight] = await store.sentOperations({ eid, limit: 1 });
      if (inFlight !== undefined) {
        const again = await reissueOperation(this.#ctx, inFlight);
        if (again !== undefined) return again;
      }
      // Read after a possible give-up above, which may have asked for a re-synchronisation.
      const euicc = await store.getEuiccSummary(eid);
      if (euicc === undefined) throw new NotFoundError(`eUICC ${eid} is not registered`);
      const now = this.#ctx.now();
      // Enough to skip a few expired operations at the head; the rest wait for the next call.
      let queued = await store.nextOperations(eid, { now, limit: 8 });
      for (const op of queued.filter((o) => o.expiresAt !== undefined && o.expiresAt <= now)) {
        await commitWithEvent(this.#ctx, operationChanged(op, 'expired', now), (tx) => {
          tx.updateOperation(op.id, { state: 'expired', completedAt: now, updatedAt: now }, { expectedState: 'queued' });
        });
      }
      queued = queued.filter((o) => o.expiresAt === undefined || o.expiresAt > now);
      const internal = await this.#internalWork(euicc, queued);
      const op = internal ?? queued[0];
      if (op === undefined) return undefined;
      return issueOperation(this.#ctx, op);
    });
  }

  /** Work the eIM itself needs before the operator's: certificates first, then a re-read of the inventory. */
  async #internalWork(euicc: EuiccSummary, queued: readonly OperationRecord[]): Promise<OperationRecord | undefined> {
    const pending = queued.find((o) => o.idempotencyKey?.startsWith(`eim:${euicc.eid}:`));
    if (pending !== undefined) return pending;
    if (euicc.euiccCertificate === undefined) {
      return this.submit(euicc.eid, { kind: 'euicc-data', tagList: 'a5a6a8bf22' }, { actor: 'eim', idempotencyKey: `eim:${euicc.eid}:certs:${euicc.createdAt}` });
    }
    if (euicc.resync !== undefined) {
      return this.submit(euicc.eid, { kind: 'list-profiles' }, { actor: 'eim', idempotencyKey: `eim:${euicc.eid}:resync:${euicc.resync.since}` });
    }
    return undefined;
  }

  /** A GetEimPackageRequest said the eUICC's state changed without us (fallback, reset...): re-read it next. */
  async reportStateChange(eid: string, cause: string): Promise<void> {
    const now = this.#ctx.now();
    await commitWithEvent(this.#ctx, { type: 'euicc.resync-requested', eid, cause, at: now }, (tx) => {
      tx.patchEuicc(eid, { resync: { cause, since: now }, lastContactAt: now, updatedAt: now });
      tx.appendAudit({ at: now, actor: `device:${eid}`, action: 'state-change-reported', eid, outcome: 'ok', detail: { cause } });
    });
  }

  applyEuiccPackageResult(eid: string, result: EuiccPackageResult): Promise<Applied> {
    return this.#serial(eid, () => applyEuiccPackageResult(this.#ctx, eid, result));
  }

  /**
   * Stores a pending notification (once per seqNumber) and returns it as stored: `verified` when its signature
   * was checked with the validated eUICC key, absent when it was stored unverified (no eUICC key known yet).
   * Throws ResultRejectedError when it is refused (a known key and a signature that does not verify, an unknown
   * eUICC).
   */
  applyNotification(eid: string, n: Received<PendingNotification>, payload: Uint8Array): Promise<NotificationRecord> {
    return this.#serial(eid, () => applyNotification(this.#ctx, eid, n, payload));
  }

  /**
   * Applies every part of an EimPackageResult (ProvideEimPackageResult or TransferEimPackageResponse content).
   * Rejected parts throw ResultRejectedError after being audited; notifications are applied even when the
   * package result beside them is refused.
   */
  applyEimPackageResult(eid: string, r: EimPackageResult): Promise<Applied | undefined> {
    return this.#serial(eid, async () => {
      if ('euiccPackageResult' in r) return applyEuiccPackageResult(this.#ctx, eid, r.euiccPackageResult);
      if ('ePRAndNotifications' in r) {
        // The result first: it records the inventory change with its operation, and the notifications of the
        // same change (enable X, disable Y) then find the inventory already in their state.
        const applied = await applyEuiccPackageResult(this.#ctx, eid, r.ePRAndNotifications.euiccPackageResult).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        for (const n of r.ePRAndNotifications.notificationList) {
          await applyNotification(this.#ctx, eid, n, notificationBytes(n)).catch((e: unknown) => this.#ctx.logger.warn({ eid, err: (e as Error).message }, 'notification refused'));
        }
        if ('error' in applied) throw applied.error;
        return applied.value;
      }
      if ('ipaEuiccDataResponse' in r) return applyEuiccData(this.#ctx, eid, r.ipaEuiccDataResponse);
      if ('profileDownloadTriggerResult' in r) return applyDownloadResult(this.#ctx, eid, r.profileDownloadTriggerResult);
      // The IPA could not process the package: the operation fails with the IPA's code.
      const err = r.eimPackageResultResponseError;
      // Without an eimTransactionId (a TransferEimPackageResponse error) it is the package in flight.
      const op =
        err.eimTransactionId !== undefined
          ? await this.#ctx.store.findOperationByTransactionId(eid, err.eimTransactionId)
          : (await this.#ctx.store.sentOperations({ eid, limit: 1 }))[0];
      if (op === undefined || op.state !== 'sent') return undefined;
      const code = String(err.eimPackageResultErrorCode);
      await failOperation(this.#ctx, op, code, 'the IPA could not process the package');
      return { operationId: op.id, state: 'failed', errorCode: code };
    });
  }

  /**
   * Ends a sent download operation the ESipa relay followed (indirect download, §3.2.3.2): failed with the
   * relay's spec reason, or done/failed from the verified ProfileInstallationResult. False when it had already
   * ended by another path, whose outcome stands.
   */
  completeDownload(op: OperationRecord, outcome: DownloadCompletion): Promise<boolean> {
    return this.#serial(op.eid, () => completeDownload(this.#ctx, op, outcome));
  }

  /**
   * The eUICC seqNumbers to acknowledge now (results and notifications safely stored), marked as sent.
   * A seqNumber seen again later is acknowledged again.
   */
  takeAcknowledgements(eid: string): Promise<number[]> {
    return this.#serial(eid, async () => {
      const pending = await this.#ctx.store.notificationsPendingAck(eid);
      if (pending.length === 0) return [];
      await this.#ctx.store.commit((tx) => {
        for (const n of pending) tx.patchNotification(eid, n.seqNumber, { ackState: 'sent' });
      });
      return pending.map((n) => n.seqNumber);
    });
  }

  /** Records that the device was heard from (any ESipa message). */
  async touch(eid: string): Promise<void> {
    const now = this.#ctx.now();
    await this.#ctx.store.commit((tx) => tx.patchEuicc(eid, { lastContactAt: now, updatedAt: now }));
  }

  /**
   * Moves an eUICC to another eIM: queues addEim for the new eIM and, when asked, deleteEim for this one
   * afterwards (in that order, so the eUICC is never left without an eIM).
   */
  async transferToEim(eid: string, newEim: EimEntryInput, options: { deleteOwnEntry?: boolean; actor?: string } = {}): Promise<OperationRecord[]> {
    const ops = [await this.submit(eid, { kind: 'add-eim', eim: newEim }, options.actor ? { actor: options.actor } : {})];
    if (options.deleteOwnEntry === true) ops.push(await this.submit(eid, { kind: 'delete-eim', eimId: this.#ctx.identity.eimId }, options.actor ? { actor: options.actor } : {}));
    return ops;
  }
}

