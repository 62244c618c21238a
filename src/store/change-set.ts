/**
 * The `Changes` recorder shared by every Store implementation: it validates each write intent where it enters,
 * deep-copies its arguments (so the caller may reuse its buffers and arrays right after `commit` returns, even
 * though a group commit applies the intents later), and returns the list of intents in call order.
 */
import { InvalidArgumentError } from '../errors.js';
import type {
  AssociationPatch,
  AssociationRecord,
  DeviceCredentialRecord,
  EuiccPatch,
  EuiccRecord,
  Json,
  NewAuditEntry,
  NewProfileHistoryEntry,
  NotificationPatch,
  NotificationRecord,
  OperationPatch,
  OperationRecord,
  OperationState,
  ProfileRecord,
} from './records.js';
import type { Changes } from './store.js';

/** One recorded write intent. */
/** An event for the durable outbox, its data already serialised (what was committed is what is delivered). */
export interface OutboxEntry {
  type: string;
  at: number;
  data: string;
}

export type Intent =
  | { op: 'putEuicc'; record: EuiccRecord }
  | { op: 'patchEuicc'; eid: string; patch: EuiccPatch }
  | { op: 'deleteEuicc'; eid: string }
  | { op: 'putAssociation'; record: AssociationRecord }
  | { op: 'patchAssociation'; eimId: string; eid: string; patch: AssociationPatch }
  | { op: 'deleteAssociation'; eimId: string; eid: string }
  | { op: 'setCounterValue'; eimId: string; eid: string; value: number; expected: number }
  | { op: 'putProfile'; record: ProfileRecord }
  | { op: 'deleteProfile'; eid: string; iccid: string }
  | { op: 'replaceProfiles'; eid: string; profiles: ProfileRecord[] }
  | { op: 'addProfileHistory'; entry: NewProfileHistoryEntry }
  | { op: 'insertOperation'; record: OperationRecord }
  | { op: 'updateOperation'; id: string; patch: OperationPatch; expectedState?: OperationState[] }
  | { op: 'insertNotification'; record: NotificationRecord }
  | { op: 'patchNotification'; eid: string; seqNumber: number; patch: NotificationPatch }
  | { op: 'appendAudit'; entry: NewAuditEntry }
  | { op: 'appendEvent'; event: OutboxEntry }
  | { op: 'putCredential'; record: DeviceCredentialRecord }
  | { op: 'deleteCredential'; endpoint: string };

const EID = /^[0-9]{32}$/;

function eid(value: unknown, argument = 'eid'): string {
  if (typeof value !== 'string' || !EID.test(value)) throw new InvalidArgumentError(argument, 'an EID is 32 decimal digits');
  return value;
}

function text(value: unknown, argument: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError(argument, 'expected a non-empty string');
  return value;
}

function int(value: unknown, argument: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new InvalidArgumentError(argument, 'expected a safe integer');
  return value;
}

function transactionId(value: unknown, argument: string): void {
  if (value === undefined) return;
  if (!(value instanceof Uint8Array) || value.length !== 16) throw new InvalidArgumentError(argument, 'an eimTransactionId is 16 bytes');
}

/** Refuses a patch that would change a key field (the types forbid it; a cast could still try). */
function patchOf<T extends object>(patch: T, keys: readonly string[]): T {
  for (const k of keys) if (k in patch) throw new InvalidArgumentError(`patch.${k}`, 'a key field can not be patched');
  return copy(patch);
}

/**
 * Deep copy that keeps Uint8Array (a Buffer becomes a plain Uint8Array) and keys set to undefined. Records are
 * plain data (JSON, bytes, arrays), copied by hand: structuredClone costs several times more per intent, on
 * every package issued; anything else (a Date, a Map) still goes through structuredClone.
 */
function copy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) return new Uint8Array(value) as T;
  if (Array.isArray(value)) return value.map(copy) as T;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = copy((value as Record<string, unknown>)[k]);
  return out as T;
}

function checkEuicc(r: EuiccRecord): void {
  eid(r.eid, 'euicc.eid');
  int(r.createdAt, 'euicc.createdAt');
  int(r.updatedAt, 'euicc.updatedAt');
  if (!Array.isArray(r.labels)) throw new InvalidArgumentError('euicc.labels', 'expected an array of strings');
}

function checkProfile(r: ProfileRecord, argument = 'profile'): void {
  eid(r.eid, `${argument}.eid`);
  text(r.iccid, `${argument}.iccid`);
  int(r.updatedAt, `${argument}.updatedAt`);
  if (!Array.isArray(r.policyRules)) throw new InvalidArgumentError(`${argument}.policyRules`, 'expected an array of strings');
}

/**
 * The recorder behind one commit's `tx`: one object whose methods live on the prototype, so a commit costs one
 * allocation here rather than a fresh closure per method.
 */
class ChangeRecorder implements Changes {
  readonly intents: Intent[] = [];
  #open = true;

  close(): void {
    this.#open = false;
  }

  #push(intent: Intent): void {
    // A Changes object kept past its callback would record intents nobody applies; refuse that loudly.
    if (!this.#open) throw new InvalidArgumentError('tx', 'used after its commit callback returned');
    this.intents.push(intent);
  }

  putEuicc(record: EuiccRecord): void {
    checkEuicc(record);
    this.#push({ op: 'putEuicc', record: copy(record) });
  }

  patchEuicc(id: string, patch: EuiccPatch): void {
    this.#push({ op: 'patchEuicc', eid: eid(id), patch: patchOf(patch, ['eid', 'createdAt']) });
  }

  deleteEuicc(id: string): void {
    this.#push({ op: 'deleteEuicc', eid: eid(id) });
  }

  putAssociation(record: AssociationRecord): void {
    text(record.eimId, 'association.eimId');
    eid(record.eid, 'association.eid');
    int(record.counterValue, 'association.counterValue');
    this.#push({ op: 'putAssociation', record: copy(record) });
  }

  patchAssociation(eimId: string, id: string, patch: AssociationPatch): void {
    if ('counterValue' in patch) throw new InvalidArgumentError('patch.counterValue', 'use setCounterValue');
    this.#push({ op: 'patchAssociation', eimId: text(eimId, 'eimId'), eid: eid(id), patch: patchOf(patch, ['eimId', 'eid']) });
  }

  deleteAssociation(eimId: string, id: string): void {
    this.#push({ op: 'deleteAssociation', eimId: text(eimId, 'eimId'), eid: eid(id) });
  }

  setCounterValue(eimId: string, id: string, value: number, options: { expected: number }): void {
    this.#push({ op: 'setCounterValue', eimId: text(eimId, 'eimId'), eid: eid(id), value: int(value, 'value'), expected: int(options.expected, 'expected') });
  }

  putProfile(record: ProfileRecord): void {
    checkProfile(record);
    this.#push({ op: 'putProfile', record: copy(record) });
  }

  deleteProfile(id: string, iccid: string): void {
    this.#push({ op: 'deleteProfile', eid: eid(id), iccid: text(iccid, 'iccid') });
  }

  replaceProfiles(id: string, profiles: readonly ProfileRecord[]): void {
    eid(id);
    profiles.forEach((p, i) => {
      checkProfile(p, `profiles[${i}]`);
      if (p.eid !== id) throw new InvalidArgumentError(`profiles[${i}].eid`, 'differs from the eid being replaced');
    });
    this.#push({ op: 'replaceProfiles', eid: id, profiles: copy([...profiles]) });
  }

  addProfileHistory(entry: NewProfileHistoryEntry): void {
    eid(entry.eid, 'entry.eid');
    text(entry.iccid, 'entry.iccid');
    int(entry.at, 'entry.at');
    this.#push({ op: 'addProfileHistory', entry: copy(entry) });
  }

  insertOperation(record: OperationRecord): void {
    text(record.id, 'operation.id');
    eid(record.eid, 'operation.eid');
    text(record.kind, 'operation.kind');
    transactionId(record.eimTransactionId, 'operation.eimTransactionId');
    int(record.createdAt, 'operation.createdAt');
    this.#push({ op: 'insertOperation', record: copy(record) });
  }

  updateOperation(id: string, patch: OperationPatch, options?: { expectedState?: OperationState | readonly OperationState[] }): void {
    transactionId(patch.eimTransactionId, 'patch.eimTransactionId');
    const expected = options?.expectedState;
    const expectedState = expected === undefined ? undefined : typeof expected === 'string' ? [expected] : [...expected];
    this.#push({ op: 'updateOperation', id: text(id, 'id'), patch: patchOf(patch, ['id', 'eid', 'createdAt']), ...(expectedState ? { expectedState } : {}) });
  }

  insertNotification(record: NotificationRecord): void {
    eid(record.eid, 'notification.eid');
    int(record.seqNumber, 'notification.seqNumber');
    if (!(record.payload instanceof Uint8Array)) throw new InvalidArgumentError('notification.payload', 'expected bytes');
    this.#push({ op: 'insertNotification', record: copy(record) });
  }

  patchNotification(id: string, seqNumber: number, patch: NotificationPatch): void {
    this.#push({ op: 'patchNotification', eid: eid(id), seqNumber: int(seqNumber, 'seqNumber'), patch: patchOf(patch, ['eid', 'seqNumber', 'payload', 'receivedAt']) });
  }

  appendAudit(entry: NewAuditEntry): void {
    int(entry.at, 'entry.at');
    text(entry.actor, 'entry.actor');
    text(entry.action, 'entry.action');
    this.#push({ op: 'appendAudit', entry: copy(entry) });
  }

  appendEvent(event: { type: string; at: number; data: Json }): void {
    text(event.type, 'event.type');
    int(event.at, 'event.at');
    this.#push({ op: 'appendEvent', event: { type: event.type, at: event.at, data: JSON.stringify(event.data) } });
  }

  putCredential(record: DeviceCredentialRecord): void {
    text(record.endpoint, 'credential.endpoint');
    if (record.eid !== undefined) eid(record.eid, 'credential.eid');
    this.#push({ op: 'putCredential', record: copy(record) });
  }

  deleteCredential(endpoint: string): void {
    this.#push({ op: 'deleteCredential', endpoint: text(endpoint, 'endpoint') });
  }
}

/** Runs `build` against a fresh recorder and returns its intents; whatever `build` throws propagates. */
export function recordChanges(build: (tx: Changes) => void): Intent[] {
  const tx = new ChangeRecorder();
  try {
    const returned: unknown = build(tx);
    // An async callback would record its intents after the commit was applied; refuse it.
    if (returned instanceof Promise) throw new InvalidArgumentError('build', 'must be synchronous (it returned a promise)');
  } finally {
    tx.close();
  }
  return tx.intents;
}

/** Applies a patch to a record copy: absent keys are kept, keys set to undefined are removed. */
export function applyPatch<T extends object>(record: T, patch: object): T {
  const out = { ...record } as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out as T;
}
