/**
 * Pending notifications from the eUICC (SGP.22 v2.5 §3.5, SGP.32 v1.2 §3.7, notes §(f)):
 * ProfileInstallationResult (BF37, signed over its BF27 data) and OtherSignedNotification (signed over its
 * BF2F tbsOtherNotification). The eIM stores each once by seqNumber, learns profile changes from verified
 * ones, forwards them to their notificationAddress, and acknowledges their seqNumbers.
 */
import { NotificationMetadata, PendingNotification, ProfileInstallationResultData } from '../asn1/rsp.js';
import { toHex } from '../asn1/hex.js';
import { type Received, RECEIVED, signedBytes } from '../asn1/schema.js';
import type { AsyncVerifier, PublicKeyInput } from '../crypto/ecdsa.js';
import type { NotificationKind, NotificationRecord } from '../store/records.js';

export interface NotificationFacts {
  readonly seqNumber: number;
  readonly kind: NotificationKind;
  readonly iccid?: string;
  readonly notificationAddress?: string;
  /** For a successful installation, the ISD-P AID (hex). */
  readonly aid?: string;
  /** For a failed installation: bppCommandId and errorReason by spec name. */
  readonly installError?: { bppCommandId: string | number; errorReason: string | number };
}

const KIND_OF_EVENT: Record<string, NotificationKind> = {
  notificationInstall: 'install',
  notificationEnable: 'enable',
  notificationDisable: 'disable',
  notificationDelete: 'delete',
};

function kindOf(events: readonly string[]): NotificationKind {
  return events.length === 1 ? (KIND_OF_EVENT[events[0]!] ?? 'other') : 'other';
}

/** Reads what a notification says, without trusting it yet. */
export function notificationFacts(n: PendingNotification): NotificationFacts {
  if ('profileInstallationResult' in n) {
    const d = n.profileInstallationResult.profileInstallationResultData;
    const m = d.notificationMetadata;
    const base = { seqNumber: m.seqNumber, kind: 'install' as const, notificationAddress: m.notificationAddress, ...(m.iccid !== undefined ? { iccid: m.iccid } : {}) };
    if ('successResult' in d.finalResult) return { ...base, aid: toHex(d.finalResult.successResult.aid) };
    return { ...base, installError: { bppCommandId: d.finalResult.errorResult.bppCommandId, errorReason: d.finalResult.errorResult.errorReason } };
  }
  if ('otherSignedNotification' in n) {
    const m = n.otherSignedNotification.tbsOtherNotification;
    return { seqNumber: m.seqNumber, kind: kindOf(m.profileManagementOperation), notificationAddress: m.notificationAddress, ...(m.iccid !== undefined ? { iccid: m.iccid } : {}) };
  }
  if ('compactProfileInstallationResult' in n) {
    return { seqNumber: n.compactProfileInstallationResult.compactProfileInstallationResultData.seqNumber, kind: 'install' };
  }
  const m = n.compactOtherSignedNotification.tbsOtherNotification;
  return { seqNumber: m.seqNumber, kind: kindOf(m.profileManagementOperation), notificationAddress: m.notificationAddress, ...(m.iccid !== undefined ? { iccid: m.iccid } : {}) };
}

/**
 * The signed part of a notification as received and its signature. Compact forms are signed over data the
 * eIM must first rebuild from the session: undefined (they are not verified here).
 */
function signedPart(n: PendingNotification): { data: Uint8Array; signature: Uint8Array } | undefined {
  if ('profileInstallationResult' in n) {
    const pir = n.profileInstallationResult;
    return { data: signedBytes(ProfileInstallationResultData, pir.profileInstallationResultData), signature: pir.euiccSignPIR };
  }
  if ('otherSignedNotification' in n) {
    const o = n.otherSignedNotification;
    return { data: signedBytes(NotificationMetadata, o.tbsOtherNotification), signature: o.euiccNotificationSignature };
  }
  return undefined;
}

/** Verifies the eUICC's signature over the received signed part with `verify` (the core's; false for compact forms). */
export async function verifyNotificationWith(verify: AsyncVerifier, n: PendingNotification, euiccKey: PublicKeyInput): Promise<boolean> {
  const part = signedPart(n);
  return part !== undefined && (await verify(euiccKey, part.data, part.signature)).valid;
}

/** The record to store for a notification received as `payload` (its TLV as received). */
export function notificationRecord(eid: string, facts: NotificationFacts, payload: Uint8Array, now: number): NotificationRecord {
  return {
    eid,
    seqNumber: facts.seqNumber,
    kind: facts.kind,
    ...(facts.iccid !== undefined ? { iccid: facts.iccid } : {}),
    ...(facts.notificationAddress !== undefined ? { notificationAddress: facts.notificationAddress } : {}),
    payload,
    receivedAt: now,
    forwardState: facts.notificationAddress !== undefined && facts.notificationAddress !== '' ? 'pending' : 'not-required',
    forwardAttempts: 0,
    ackState: 'pending',
  };
}

/** The notification's TLV as received (re-encoded only for one built locally), for storage and forwarding. */
export function notificationBytes(n: Received<PendingNotification>): Uint8Array {
  return n[RECEIVED] ?? PendingNotification.encode(n);
}
