/**
 * Record builders for the store tests: complete, valid records with every optional field filled when asked,
 * so a round trip checks every column.
 */
import type {
  AssociationRecord,
  EuiccRecord,
  NotificationRecord,
  OperationRecord,
  ProfileRecord,
} from '../../src/store/records.js';

/** A 32-digit EID whose last digits are `n` (check digits are not the store's business). */
export function eidOf(n: number): string {
  return `8904903200000000000000${String(n).padStart(10, '0')}`;
}

export function txId(n: number): Uint8Array {
  const b = new Uint8Array(16);
  b[15] = n & 0xff;
  b[14] = (n >> 8) & 0xff;
  b[0] = 0xa5;
  return b;
}

export function euicc(eid: string, extra: Partial<EuiccRecord> = {}): EuiccRecord {
  return { eid, createdAt: 1_000, updatedAt: 1_000, labels: [], ...extra };
}

export function fullEuicc(eid: string): EuiccRecord {
  return {
    eid,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_500,
    lastContactAt: 1_700_000_001_000,
    endpoint: `urn:imei:${eid.slice(-15)}`,
    labels: ['fleet-a', 'beta', 'fleet-a-2'],
    euiccCertificate: new Uint8Array([0x30, 0x82, 0x01, 0x02, 0xff]),
    eumCertificate: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]),
    ciPkId: new Uint8Array(20).fill(0x81),
    ipaCapabilities: { minimizeEsipaBytes: true, features: ['a', 'b'], n: 3, nil: null },
    euiccInfo2: { svn: '2.3.0', ext: [1, 2, { deep: 'x' }] },
    defaultSmdpAddress: 'smdp.example.com',
    resync: { cause: 'fallback', since: 1_700_000_002_000 },
  };
}

export function association(eid: string, extra: Partial<AssociationRecord> = {}): AssociationRecord {
  return { eimId: 'eim.example', eid, counterValue: 0, state: 'active', updatedAt: 1_000, ...extra };
}

export function profile(eid: string, iccid: string, extra: Partial<ProfileRecord> = {}): ProfileRecord {
  return { eid, iccid, state: 'disabled', fallbackAttribute: false, policyRules: [], updatedAt: 1_000, ...extra };
}

export function operation(id: string, eid: string, extra: Partial<OperationRecord> = {}): OperationRecord {
  return { id, eid, kind: 'enable', params: { iccid: '8949000000000000001' }, state: 'queued', attempts: 0, createdAt: 1_000, updatedAt: 1_000, ...extra };
}

export function notification(eid: string, seqNumber: number, extra: Partial<NotificationRecord> = {}): NotificationRecord {
  return {
    eid,
    seqNumber,
    kind: 'enable',
    payload: new Uint8Array([0xbf, 0x37, 0x01, seqNumber & 0xff]),
    receivedAt: 1_000 + seqNumber,
    forwardState: 'pending',
    forwardAttempts: 0,
    ackState: 'pending',
    ...extra,
  };
}

/** The plain-Uint8Array check: a Buffer leaking out would pass deepEqual on bytes but not this. */
export function isPlainBytes(v: unknown): boolean {
  return v instanceof Uint8Array && Object.getPrototypeOf(v) === Uint8Array.prototype;
}
