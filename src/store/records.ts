/**
 * Durable records of the eIM: plain data, no behaviour. Times are epoch milliseconds, bytes are Uint8Array,
 * free-form data is `Json`. Field names follow SGP.32 v1.2 (counterValue, eimTransactionId, associationToken,
 * seqNumber; §2.11 eIM packages, §5.9 ESipa) so they read the same in the store, the domain and the API.
 */

/** Free-form JSON data, stored as text. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** An eUICC managed by this eIM, keyed by its 32-digit EID. */
export interface EuiccRecord {
  eid: string;
  createdAt: number;
  updatedAt: number;
  lastContactAt?: number;
  /** LwM2M endpoint name of the device that hosts the eUICC; unique when set. */
  endpoint?: string;
  labels: string[];
  euiccCertificate?: Uint8Array;
  eumCertificate?: Uint8Array;
  ciPkId?: Uint8Array;
  ipaCapabilities?: Json;
  euiccInfo2?: Json;
  defaultSmdpAddress?: string;
  /** Set when the eUICC reported notifyStateChange: the next package re-reads the inventory. */
  resync?: { cause: string; since: number };
}

/**
 * The part of an eUICC record the package and result paths read on every exchange: what says whether its
 * results can be verified (the certificates) and whether the eIM has work of its own for it. Reading only
 * these columns skips the labels, capabilities and EUICCInfo2 a full record decodes.
 */
export type EuiccSummary = Pick<EuiccRecord, 'eid' | 'createdAt' | 'euiccCertificate' | 'eumCertificate' | 'resync'>;

export type AssociationState = 'active' | 'removed';

/** One eIM entry as listEim returned it (SGP.32 EimIdInfo). */
export interface EimEntry {
  eimId: string;
  eimIdType?: number;
}

/** The association of one eIM with one eUICC, keyed by (eimId, eid). */
export interface AssociationRecord {
  eimId: string;
  eid: string;
  /** The last counterValue used in a signed package; 0 when none has been used. */
  counterValue: number;
  associationToken?: number;
  eimEntries?: EimEntry[];
  state: AssociationState;
  updatedAt: number;
}

export type ProfileState = 'enabled' | 'disabled' | 'unknown';
export type ProfileClass = 'test' | 'provisioning' | 'operational';

/** One profile on an eUICC, keyed by (eid, iccid). */
export interface ProfileRecord {
  eid: string;
  iccid: string;
  /** ISD-P AID, lowercase hex. */
  aid?: string;
  state: ProfileState;
  profileClass?: ProfileClass;
  nickname?: string;
  serviceProviderName?: string;
  profileName?: string;
  fallbackAttribute: boolean;
  policyRules: string[];
  lastVerifiedAt?: number;
  updatedAt: number;
}

/** One append-only line of a profile's history. */
export interface ProfileHistoryEntry {
  id: number;
  eid: string;
  iccid: string;
  at: number;
  /** 'installed', 'enabled', 'disabled', 'deleted', 'fallback-set', 'fallback-unset', 'seen', 'missing', … */
  change: string;
  operationId?: string;
}

export type NewProfileHistoryEntry = Omit<ProfileHistoryEntry, 'id'>;

/** Every operation state, in lifecycle order: queued -> sent -> done | failed | expired | cancelled. */
export const OPERATION_STATES = ['queued', 'sent', 'done', 'failed', 'expired', 'cancelled'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

/** One unit of work towards an eUICC (usually one eIM package and its result). */
export interface OperationRecord {
  /** Caller-generated identifier. */
  id: string;
  eid: string;
  /** What the operation does, e.g. 'enable', 'list-profiles'. */
  kind: string;
  params: Json;
  state: OperationState;
  counterValue?: number;
  /** 16 bytes, unique per eid when set. */
  eimTransactionId?: Uint8Array;
  /** The exact signed package bytes, so a retransmission reuses them. */
  packageDer?: Uint8Array;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  sentAt?: number;
  completedAt?: number;
  notBefore?: number;
  expiresAt?: number;
  result?: Json;
  /** Spec code name, e.g. 'profileNotInDisabledState'. */
  errorCode?: string;
  errorMessage?: string;
  campaignId?: string;
  /** Unique when set. */
  idempotencyKey?: string;
}

export type NotificationKind = 'install' | 'enable' | 'disable' | 'delete' | 'package-result' | 'other';
export type ForwardState = 'pending' | 'forwarded' | 'not-required' | 'failed';
export type AckState = 'pending' | 'sent' | 'acknowledged';

/** A notification received from an eUICC, unique by (eid, seqNumber). */
export interface NotificationRecord {
  eid: string;
  seqNumber: number;
  kind: NotificationKind;
  iccid?: string;
  notificationAddress?: string;
  /** The DER as received. */
  payload: Uint8Array;
  receivedAt: number;
  forwardState: ForwardState;
  forwardAttempts: number;
  nextForwardAt?: number;
  ackState: AckState;
  /**
   * True when the eIM checked the stored bytes' eUICC signature with the validated eUICC key; absent when it
   * stored them unverified (no eUICC key known yet). Only a verified notification changes the inventory or ends
   * an operation.
   */
  verified?: boolean;
}

export type AuditOutcome = 'ok' | 'rejected' | 'error';

/** One append-only audit line: every package issued and every result received. */
export interface AuditEntry {
  id: number;
  at: number;
  /** 'eim', 'api:<token-name>', 'device:<eid>', … */
  actor: string;
  /** 'package-issued', 'result-accepted', 'result-rejected', … */
  action: string;
  eid?: string;
  operationId?: string;
  outcome: AuditOutcome;
  reason?: string;
  detail?: Json;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

/** How a device authenticates on the LwM2M/DTLS side, keyed by endpoint name. */
export interface DeviceCredentialRecord {
  endpoint: string;
  eid?: string;
  /** Unique when set. */
  pskIdentity?: string;
  psk?: Uint8Array;
  /** SHA-256 of the client certificate DER, lowercase hex; unique when set. */
  certificateFingerprint?: string;
}

/**
 * A partial update. A key that is absent leaves the field as it is; a key present with the value
 * `undefined` clears an optional field.
 */
export type Patch<T> = { [K in keyof T]?: T[K] | undefined };

export type EuiccPatch = Patch<Omit<EuiccRecord, 'eid' | 'createdAt'>>;
export type AssociationPatch = Patch<Omit<AssociationRecord, 'eimId' | 'eid' | 'counterValue'>>;
export type OperationPatch = Patch<Omit<OperationRecord, 'id' | 'eid' | 'createdAt'>>;
export type NotificationPatch = Patch<Omit<NotificationRecord, 'eid' | 'seqNumber' | 'payload' | 'receivedAt'>>;
