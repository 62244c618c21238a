/**
 * The store seams of the eIM: asynchronous reads, one atomic write entry point (`commit`), and a synchronous
 * read-only `SecurityStore` for the DTLS handshake. The eIM must commit a new counterValue and
 * eimTransactionId before a package leaves (SGP.32 v1.2 §2.11.1, §3.6), and must apply each
 * EuiccPackageResult exactly once; the compare-and-set intents below are how it does both.
 *
 * Ownership: every record returned is a fresh copy owned by the caller; every record given to `Changes` is
 * copied when recorded, so mutating it afterwards changes nothing stored.
 */
import type {
  AckState,
  AssociationPatch,
  AssociationRecord,
  AuditEntry,
  AuditOutcome,
  DeviceCredentialRecord,
  EuiccPatch,
  EuiccRecord,
  EuiccSummary,
  Json,
  NewAuditEntry,
  NewProfileHistoryEntry,
  NotificationPatch,
  NotificationRecord,
  OperationPatch,
  OperationRecord,
  OperationState,
  ProfileHistoryEntry,
  ProfileRecord,
  ProfileState,
} from './records.js';

/** One page of a listing. `nextCursor` is absent on the last page; pass it back as `cursor` for the next. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Common pagination options: `limit` defaults to 100 and is capped at 1000. */
export interface PageOptions {
  cursor?: string;
  limit?: number;
}

/** eUICC listing filters; all given filters must match. Ordered by eid. */
export interface EuiccFilter extends PageOptions {
  label?: string;
  /** eUICCs having a profile with this ICCID (and, when given, in this state). */
  profile?: { iccid: string; state?: ProfileState };
  /** lastContactAt < this (eUICCs never contacted are not included). */
  lastContactBefore?: number;
  /** lastContactAt >= this. */
  lastContactAfter?: number;
  endpoint?: string;
}

/** Operation listing filters. Ordered by (createdAt, id). */
export interface OperationFilter extends PageOptions {
  eid?: string;
  state?: OperationState | readonly OperationState[];
  kind?: string;
  campaignId?: string;
}

/** Audit listing filters. Ordered by id (insertion order), ascending unless `order` is 'desc'. */
export interface AuditFilter extends PageOptions {
  eid?: string;
  operationId?: string;
  actor?: string;
  action?: string;
  outcome?: AuditOutcome;
  /** at >= this. */
  from?: number;
  /** at < this. */
  until?: number;
  order?: 'asc' | 'desc';
}

/**
 * A synchronous recorder of write intents, given to the `commit` callback. It performs no reads and no I/O:
 * each call validates its arguments (throwing InvalidArgumentError, which aborts the commit), copies them,
 * and records the intent. Intents are applied in call order when the commit is applied.
 */
export interface Changes {
  /** Inserts or replaces the eUICC (its labels included). Its profiles and associations are untouched. */
  putEuicc(record: EuiccRecord): void;
  /** Changes some fields; NotFoundError when the eUICC does not exist. `updatedAt` defaults to now. */
  patchEuicc(eid: string, patch: EuiccPatch): void;
  /**
   * Deletes the eUICC with its profiles, profile history, associations and device credentials. Its operations,
   * notifications and audit lines stay. Deleting a missing eUICC does nothing.
   */
  deleteEuicc(eid: string): void;
  /**
   * Inserts or replaces an association; NotFoundError when the eUICC does not exist. On an existing row the
   * counterValue can not go down (ConflictError): to restart a counter, delete the association first.
   */
  putAssociation(record: AssociationRecord): void;
  /** Changes fields other than counterValue; NotFoundError when the association does not exist. */
  patchAssociation(eimId: string, eid: string, patch: AssociationPatch): void;
  /** Deletes an association; deleting a missing one does nothing. */
  deleteAssociation(eimId: string, eid: string): void;
  /**
   * Compare-and-set of the counterValue: ConflictError unless the stored value equals `expected` and
   * `value` is greater than it (a counterValue is never reused); NotFoundError when the association does
   * not exist. Of several concurrent commits with the same `expected`, exactly one succeeds.
   */
  setCounterValue(eimId: string, eid: string, value: number, options: { expected: number }): void;
  /** Inserts or replaces a profile; NotFoundError when the eUICC does not exist. */
  putProfile(record: ProfileRecord): void;
  /** Deletes a profile; deleting a missing one does nothing. History lines stay. */
  deleteProfile(eid: string, iccid: string): void;
  /**
   * Makes `profiles` the full inventory of the eUICC (as listProfileInfo returned it): profiles not in the
   * list are deleted, the others inserted or replaced. NotFoundError when the eUICC does not exist.
   */
  replaceProfiles(eid: string, profiles: readonly ProfileRecord[]): void;
  /** Appends a history line (its id is assigned by the store). */
  addProfileHistory(entry: NewProfileHistoryEntry): void;
  /** Inserts an operation; ConflictError when its id, (eid, eimTransactionId) or idempotencyKey exists. */
  insertOperation(record: OperationRecord): void;
  /**
   * Changes an operation; NotFoundError when it does not exist. With `expectedState`, ConflictError unless
   * the stored state is (one of) it: this is how a result is applied exactly once under concurrency.
   * `updatedAt` defaults to now.
   */
  updateOperation(id: string, patch: OperationPatch, options?: { expectedState?: OperationState | readonly OperationState[] }): void;
  /** Inserts a notification; when (eid, seqNumber) exists, the stored one is kept unchanged and no error. */
  insertNotification(record: NotificationRecord): void;
  /** Changes a notification's forwarding/ack fields; NotFoundError when it does not exist. */
  patchNotification(eid: string, seqNumber: number, patch: NotificationPatch): void;
  /** Appends an audit line (its id is assigned by the store). */
  appendAudit(entry: NewAuditEntry): void;
  /**
   * Appends an event to the durable outbox in the same transaction as the change it describes, so an event is
   * delivered (by webhooks, SSE) if and only if its change was committed. Sequence numbers are assigned by the
   * store, increasing in commit order.
   */
  appendEvent(event: { type: string; at: number; data: Json }): void;
  /** Inserts or replaces a device credential; ConflictError when its pskIdentity or fingerprint is taken. */
  putCredential(record: DeviceCredentialRecord): void;
  /** Deletes a device credential; deleting a missing one does nothing. */
  deleteCredential(endpoint: string): void;
}

/**
 * Synchronous, read-only lookups for the DTLS handshake (its PSK callback can not await). Each returns a
 * fresh copy, or undefined when nothing matches.
 */
export interface SecurityStore {
  getByPskIdentity(pskIdentity: string): DeviceCredentialRecord | undefined;
  getByEndpoint(endpoint: string): DeviceCredentialRecord | undefined;
  /** `fingerprint` is the lowercase hex SHA-256 of the client certificate DER. */
  getByCertificateFingerprint(fingerprint: string): DeviceCredentialRecord | undefined;
}

/**
 * The durable state of the eIM. Reads see every commit whose promise has resolved; they never see part of a
 * commit. Lookups return undefined when nothing is found; listings return empty pages.
 */
export interface Store {
  /**
   * Applies the intents recorded by `build` atomically: all of them or none. Resolves once they are durable
   * (committed); rejects with ConflictError or NotFoundError when a precondition fails, with
   * InvalidArgumentError when `build` throws it, and with StoreError when the engine fails. Commits
   * issued concurrently are applied one after another in call order, so a compare-and-set in one sees the
   * effect of the previous one. A rejected commit leaves nothing behind and does not affect the others.
   */
  commit(build: (tx: Changes) => void): Promise<void>;

  /** The eUICC, or undefined. */
  getEuicc(eid: string): Promise<EuiccRecord | undefined>;
  /** The certificates and re-synchronisation mark of an eUICC (see EuiccSummary), or undefined. */
  getEuiccSummary(eid: string): Promise<EuiccSummary | undefined>;
  /** eUICCs matching all filters, ordered by eid. */
  listEuiccs(filter?: EuiccFilter): Promise<Page<EuiccRecord>>;
  /** The association of an eIM with an eUICC, or undefined. */
  getAssociation(eimId: string, eid: string): Promise<AssociationRecord | undefined>;
  /** All associations of an eUICC (any state), ordered by eimId; empty when none. */
  listAssociations(eid: string): Promise<AssociationRecord[]>;
  /** Profiles of an eUICC ordered by iccid; empty when none (or when the eUICC is unknown). */
  listProfiles(eid: string): Promise<ProfileRecord[]>;
  /** History of an eUICC's profiles (of one ICCID when given), oldest first; empty when none. */
  listProfileHistory(eid: string, iccid?: string): Promise<ProfileHistoryEntry[]>;
  /** The operation, or undefined. */
  getOperation(id: string): Promise<OperationRecord | undefined>;
  /** Operations matching all filters, ordered by (createdAt, id). */
  listOperations(filter?: OperationFilter): Promise<Page<OperationRecord>>;
  /** The operation of this eUICC with this 16-byte eimTransactionId, or undefined. */
  findOperationByTransactionId(eid: string, eimTransactionId: Uint8Array): Promise<OperationRecord | undefined>;
  /** The operation with this idempotency key, or undefined. */
  findOperationByIdempotencyKey(key: string): Promise<OperationRecord | undefined>;
  /**
   * Queued operations of an eUICC in FIFO order (createdAt, then insertion order). With `now`, those whose
   * notBefore is later are left out. Reading claims nothing: claim with updateOperation + expectedState.
   */
  nextOperations(eid: string, options?: { now?: number; limit?: number }): Promise<OperationRecord[]>;
  /**
   * Operations in state 'sent' (of one eUICC, and sent before `sentBefore`, when given), oldest sentAt first:
   * the package in flight of an eUICC, and stale ones for reconciliation.
   */
  sentOperations(options?: { eid?: string; sentBefore?: number; limit?: number }): Promise<OperationRecord[]>;
  /** The notification of an eUICC with this seqNumber, or undefined. */
  getNotification(eid: string, seqNumber: number): Promise<NotificationRecord | undefined>;
  /** Notifications of an eUICC ordered by seqNumber; empty when none. */
  listNotifications(eid: string): Promise<NotificationRecord[]>;
  /** Notifications of an eUICC whose ackState is in `states` (default ['pending']), ordered by seqNumber. */
  notificationsPendingAck(eid: string, options?: { states?: readonly AckState[] }): Promise<NotificationRecord[]>;
  /**
   * Notifications with forwardState 'pending' whose nextForwardAt is unset or <= `dueBefore`, in the order
   * they fell due (nextForwardAt, else receivedAt).
   */
  notificationsPendingForward(dueBefore: number, options?: { limit?: number }): Promise<NotificationRecord[]>;
  /** Audit lines matching all filters. */
  listAudit(filter?: AuditFilter): Promise<Page<AuditEntry>>;
  /** Waits for the commits already issued, then releases the store. Later calls reject with StoreError. */
  close(): Promise<void>;
}
