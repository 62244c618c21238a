/**
 * Records as the API shows them: times as ISO 8601 strings, bytes as lowercase hex, internal fields
 * (package bytes, idempotency keys, secrets, token hashes) left out. Shapes match src/api/schemas/records.ts.
 */
import { toHex } from '../asn1/hex.js';
import type { ApiTokenRecord, WebhookRecord } from '../store/api-store.js';
import type { AssociationRecord, EuiccRecord, OperationRecord, ProfileHistoryEntry, ProfileRecord } from '../store/records.js';
import type { DeviceView } from './device-directory.js';

type View = Record<string, unknown>;

/** ISO 8601 of epoch ms; undefined stays undefined. */
export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Drops undefined fields so optional properties are simply absent. */
function compact(v: View): View {
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined));
}

export function euiccView(e: EuiccRecord, association?: AssociationRecord): View {
  return compact({
    eid: e.eid,
    endpoint: e.endpoint,
    labels: e.labels,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
    lastContactAt: iso(e.lastContactAt),
    hasCertificates: e.euiccCertificate !== undefined,
    defaultSmdpAddress: e.defaultSmdpAddress,
    resync: e.resync === undefined ? undefined : { cause: e.resync.cause, since: iso(e.resync.since) },
    counterValue: association?.counterValue,
    associationToken: association?.associationToken,
  });
}

export function profileView(p: ProfileRecord): View {
  return compact({
    iccid: p.iccid,
    aid: p.aid,
    state: p.state,
    profileClass: p.profileClass,
    nickname: p.nickname,
    serviceProviderName: p.serviceProviderName,
    profileName: p.profileName,
    fallbackAttribute: p.fallbackAttribute,
    policyRules: p.policyRules,
    lastVerifiedAt: iso(p.lastVerifiedAt),
    updatedAt: iso(p.updatedAt),
  });
}

export function profileHistoryView(h: ProfileHistoryEntry): View {
  return compact({ id: h.id, iccid: h.iccid, at: iso(h.at), change: h.change, operationId: h.operationId });
}

export function operationView(o: OperationRecord): View {
  return compact({
    id: o.id,
    eid: o.eid,
    kind: o.kind,
    params: o.params,
    state: o.state,
    counterValue: o.counterValue,
    eimTransactionId: o.eimTransactionId === undefined ? undefined : toHex(o.eimTransactionId),
    attempts: o.attempts,
    createdAt: iso(o.createdAt),
    updatedAt: iso(o.updatedAt),
    sentAt: iso(o.sentAt),
    completedAt: iso(o.completedAt),
    notBefore: iso(o.notBefore),
    expiresAt: iso(o.expiresAt),
    result: o.result,
    errorCode: o.errorCode,
    errorMessage: o.errorMessage,
    campaignId: o.campaignId,
  });
}

export function tokenView(t: ApiTokenRecord): View {
  return compact({ id: t.id, name: t.name, role: t.role, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt) });
}

export function webhookView(w: WebhookRecord): View {
  return compact({
    id: w.id,
    url: w.url,
    eventTypes: w.eventTypes,
    createdAt: iso(w.createdAt),
    deliveredEventId: w.deliveredSeq,
    attempts: w.attempts,
    nextAttemptAt: iso(w.nextAttemptAt),
    lastError: w.lastError,
  });
}

export function deviceView(d: DeviceView, euicc: EuiccRecord | undefined): View {
  return compact({
    endpoint: d.endpoint,
    eid: d.eid ?? euicc?.eid,
    binding: d.binding,
    queueMode: d.queueMode,
    address: d.address,
    registeredAt: iso(d.registeredAt),
    lastUplinkAt: iso(d.lastUplinkAt),
    awake: d.awake,
    nextExpectedUplinkAt: iso(d.nextExpectedUplinkAt),
    dtlsIdentity: d.dtlsIdentity,
    lifetime: d.lifetime,
    euicc: euicc === undefined ? undefined : euiccView(euicc),
  });
}
