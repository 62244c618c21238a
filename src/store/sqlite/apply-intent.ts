/**
 * Applies one recorded write intent to SQLite, inside the caller's transaction (a SAVEPOINT per commit).
 * Preconditions are checked here and thrown as ConflictError / NotFoundError; SQLite constraint failures
 * are mapped to the same errors by `mapSqliteError`, so callers see one vocabulary whatever caught it.
 */
import type Database from 'better-sqlite3';
import { EimError, InvalidArgumentError } from '../../errors.js';
import { applyPatch, type Intent } from '../change-set.js';
import { ConflictError, NotFoundError, StoreError } from '../errors.js';
import type { AssociationRecord, EuiccRecord } from '../records.js';
import {
  ANY_OPERATION_STATE,
  associationCodec,
  auditCodec,
  credentialCodec,
  euiccCodec,
  INSERT_EVENT_SQL,
  insertOf,
  type InsertStatement,
  notificationCodec,
  operationCodec,
  profileCodec,
  profileHistoryCodec,
  updateOf,
} from './row-codec.js';

export interface ApplyContext {
  /** A cached prepared statement. */
  stmt(sql: string): Database.Statement;
  now(): number;
}

/** Every INSERT of a whole record, with its positional values. */
const INSERT = {
  euicc: insertOf(euiccCodec, { upsertKey: ['eid'] }),
  association: insertOf(associationCodec, { upsertKey: ['eim_id', 'eid'] }),
  profile: insertOf(profileCodec, { upsertKey: ['eid', 'iccid'] }),
  history: insertOf(profileHistoryCodec, { omit: ['id'] }),
  operation: insertOf(operationCodec),
  notification: insertOf(notificationCodec, { ignoreConflict: true }),
  audit: insertOf(auditCodec, { omit: ['id'] }),
  credential: insertOf(credentialCodec, { upsertKey: ['endpoint'] }),
};

function insert<T>(ctx: ApplyContext, statement: InsertStatement<T>, record: T): void {
  ctx.stmt(statement.sql).run(...statement.values(record));
}

const SQL = {
  getEuicc: 'SELECT * FROM euiccs WHERE eid = ?',
  deleteLabels: 'DELETE FROM euicc_labels WHERE eid = ?',
  insertLabel: 'INSERT INTO euicc_labels (eid, label) VALUES (?, ?) ON CONFLICT DO NOTHING',
  deleteEuicc: 'DELETE FROM euiccs WHERE eid = ?',
  deleteHistoryOfEid: 'DELETE FROM profile_history WHERE eid = ?',
  deleteCredentialsOfEid: 'DELETE FROM device_credentials WHERE eid = ?',
  getAssociation: 'SELECT * FROM associations WHERE eim_id = ? AND eid = ?',
  associationCounter: 'SELECT counter_value FROM associations WHERE eim_id = ? AND eid = ?',
  deleteAssociation: 'DELETE FROM associations WHERE eim_id = ? AND eid = ?',
  setCounter: 'UPDATE associations SET counter_value = ?, updated_at = ? WHERE eim_id = ? AND eid = ? AND counter_value = ?',
  deleteProfile: 'DELETE FROM profiles WHERE eid = ? AND iccid = ?',
  iccidsOfEid: 'SELECT iccid FROM profiles WHERE eid = ?',
  operationState: 'SELECT state FROM operations WHERE id = ?',
  transactionTaken: `SELECT id FROM operations WHERE eid = ? AND state IN (${ANY_OPERATION_STATE}) AND eim_transaction_id = ? AND id != ?`,
  // The same check for an operation named by id: its eid is read in the same statement.
  transactionTakenById: `SELECT t.id FROM operations o JOIN operations t ON t.eid = o.eid AND t.state IN (${ANY_OPERATION_STATE}) AND t.eim_transaction_id = ? AND t.id != o.id WHERE o.id = ?`,
  notificationExists: 'SELECT 1 FROM notifications WHERE eid = ? AND seq_number = ?',
  deleteCredential: 'DELETE FROM device_credentials WHERE endpoint = ?',
} as const;

type Row = Record<string, unknown>;

function writeEuicc(ctx: ApplyContext, record: EuiccRecord): void {
  insert(ctx, INSERT.euicc, record);
  ctx.stmt(SQL.deleteLabels).run(record.eid);
  for (const label of record.labels) ctx.stmt(SQL.insertLabel).run(record.eid, label);
}

function euiccExists(ctx: ApplyContext, eid: string): boolean {
  return ctx.stmt(SQL.getEuicc).get(eid) !== undefined;
}

/** `updatedAt` is the caller's when given (tests drive a clock), else the store's now. */
function touched<T extends { updatedAt: number }>(ctx: ApplyContext, merged: T, patch: object): T {
  return 'updatedAt' in patch && (patch as { updatedAt?: number }).updatedAt !== undefined ? merged : { ...merged, updatedAt: ctx.now() };
}

/** The patch with `updatedAt` filled in as `touched` would. */
function touchedPatch(ctx: ApplyContext, patch: object): Row {
  const p = patch as Row;
  return p['updatedAt'] !== undefined ? p : { ...p, updatedAt: ctx.now() };
}

/**
 * Writes only the patched columns of one row (`where` binds `keys`); returns whether the row exists. A key
 * set to undefined becomes NULL, as a full rewrite of the patched record would store it.
 */
function updateColumns(ctx: ApplyContext, codec: Parameters<typeof updateOf>[0], patch: Row, where: string, keys: unknown[]): boolean {
  const { sql, values } = updateOf(codec, patch, where);
  return ctx.stmt(sql).run(...values, ...keys).changes > 0;
}

/**
 * (eid, eimTransactionId) is unique: checked by a lookup among the eUICC's operations rather than by a unique
 * index, whose entry would be one more page written per package (see migration 4).
 */
function assertTransactionIdFree(ctx: ApplyContext, eimTransactionId: Uint8Array, operation: { id: string; eid?: string }): void {
  const bytes = Buffer.from(eimTransactionId.buffer, eimTransactionId.byteOffset, eimTransactionId.byteLength);
  const taken = operation.eid !== undefined ? ctx.stmt(SQL.transactionTaken).get(operation.eid, bytes, operation.id) : ctx.stmt(SQL.transactionTakenById).get(bytes, operation.id);
  if (taken !== undefined) throw new ConflictError(`the eUICC of operation ${operation.id} already has an operation with this eimTransactionId`);
}

export function applyIntent(ctx: ApplyContext, intent: Intent): void {
  switch (intent.op) {
    case 'putEuicc':
      writeEuicc(ctx, intent.record);
      return;
    case 'patchEuicc': {
      // Only the patched columns: a full rewrite would also rewrite the certificates and the labels.
      if (!updateColumns(ctx, euiccCodec, touchedPatch(ctx, intent.patch), 'eid = ?', [intent.eid])) throw new NotFoundError(`eUICC ${intent.eid} does not exist`);
      if ('labels' in intent.patch && intent.patch.labels !== undefined) {
        ctx.stmt(SQL.deleteLabels).run(intent.eid);
        for (const label of intent.patch.labels) ctx.stmt(SQL.insertLabel).run(intent.eid, label);
      }
      return;
    }
    case 'deleteEuicc':
      ctx.stmt(SQL.deleteCredentialsOfEid).run(intent.eid);
      ctx.stmt(SQL.deleteHistoryOfEid).run(intent.eid);
      // Labels, associations and profiles go by ON DELETE CASCADE.
      ctx.stmt(SQL.deleteEuicc).run(intent.eid);
      return;
    case 'putAssociation': {
      const row = ctx.stmt(SQL.getAssociation).get(intent.record.eimId, intent.record.eid) as Row | undefined;
      if (row !== undefined && (row['counter_value'] as number) > intent.record.counterValue) {
        throw new ConflictError(`counterValue of ${intent.record.eimId}/${intent.record.eid} can not go down (${String(row['counter_value'])} -> ${intent.record.counterValue})`);
      }
      insert(ctx, INSERT.association, intent.record);
      return;
    }
    case 'patchAssociation': {
      const row = ctx.stmt(SQL.getAssociation).get(intent.eimId, intent.eid) as Row | undefined;
      if (row === undefined) throw new NotFoundError(`association ${intent.eimId}/${intent.eid} does not exist`);
      const merged: AssociationRecord = touched(ctx, applyPatch(associationCodec.fromRow(row), intent.patch), intent.patch);
      insert(ctx, INSERT.association, merged);
      return;
    }
    case 'deleteAssociation':
      ctx.stmt(SQL.deleteAssociation).run(intent.eimId, intent.eid);
      return;
    case 'setCounterValue': {
      // The compare-and-set is the UPDATE's WHERE; the row is read only to explain a refusal.
      if (intent.value > intent.expected && ctx.stmt(SQL.setCounter).run(intent.value, ctx.now(), intent.eimId, intent.eid, intent.expected).changes > 0) return;
      const row = ctx.stmt(SQL.associationCounter).get(intent.eimId, intent.eid) as Row | undefined;
      if (row === undefined) throw new NotFoundError(`association ${intent.eimId}/${intent.eid} does not exist`);
      const stored = row['counter_value'] as number;
      if (stored !== intent.expected) {
        throw new ConflictError(`counterValue of ${intent.eimId}/${intent.eid} is ${stored}, expected ${intent.expected}`);
      }
      throw new ConflictError(`counterValue of ${intent.eimId}/${intent.eid} only goes up (${stored} -> ${intent.value} refused)`);
    }
    case 'putProfile':
      insert(ctx, INSERT.profile, intent.record);
      return;
    case 'deleteProfile':
      ctx.stmt(SQL.deleteProfile).run(intent.eid, intent.iccid);
      return;
    case 'replaceProfiles': {
      if (!euiccExists(ctx, intent.eid)) throw new NotFoundError(`eUICC ${intent.eid} does not exist`);
      const keep = new Set(intent.profiles.map((p) => p.iccid));
      for (const { iccid } of ctx.stmt(SQL.iccidsOfEid).all(intent.eid) as { iccid: string }[]) {
        if (!keep.has(iccid)) ctx.stmt(SQL.deleteProfile).run(intent.eid, iccid);
      }
      for (const p of intent.profiles) insert(ctx, INSERT.profile, p);
      return;
    }
    case 'addProfileHistory':
      insert(ctx, INSERT.history, intent.entry);
      return;
    case 'insertOperation':
      if (intent.record.eimTransactionId !== undefined) assertTransactionIdFree(ctx, intent.record.eimTransactionId, intent.record);
      insert(ctx, INSERT.operation, intent.record);
      return;
    case 'updateOperation': {
      if (intent.patch.eimTransactionId !== undefined) assertTransactionIdFree(ctx, intent.patch.eimTransactionId, { id: intent.id });
      // Compare-and-set in the UPDATE's WHERE (this is how a result is applied exactly once); the state is
      // read only to explain a refusal.
      const expected = intent.expectedState;
      const where = expected === undefined ? 'id = ?' : `id = ? AND state IN (${expected.map(() => '?').join(', ')})`;
      if (updateColumns(ctx, operationCodec, touchedPatch(ctx, intent.patch), where, [intent.id, ...(expected ?? [])])) return;
      const row = ctx.stmt(SQL.operationState).get(intent.id) as { state: string } | undefined;
      if (row === undefined) throw new NotFoundError(`operation ${intent.id} does not exist`);
      throw new ConflictError(`operation ${intent.id} is ${row.state}, expected ${(expected ?? []).join(' or ')}`);
    }
    case 'insertNotification':
      insert(ctx, INSERT.notification, intent.record);
      return;
    case 'patchNotification':
      // Only the patched columns, without reading the row (a notification row carries its whole payload).
      if (Object.keys(intent.patch).length === 0) {
        if (ctx.stmt(SQL.notificationExists).get(intent.eid, intent.seqNumber) === undefined) throw new NotFoundError(`notification ${intent.eid}#${intent.seqNumber} does not exist`);
        return;
      }
      if (!updateColumns(ctx, notificationCodec, intent.patch as Row, 'eid = ? AND seq_number = ?', [intent.eid, intent.seqNumber])) {
        throw new NotFoundError(`notification ${intent.eid}#${intent.seqNumber} does not exist`);
      }
      return;
    case 'appendAudit':
      insert(ctx, INSERT.audit, intent.entry);
      return;
    case 'appendEvent':
      // The outbox table belongs to migration 2 (src/api); it is written here so the event commits with its change.
      ctx.stmt(INSERT_EVENT_SQL).run(intent.event.type, intent.event.at, intent.event.data);
      return;
    case 'putCredential':
      insert(ctx, INSERT.credential, intent.record);
      return;
    case 'deleteCredential':
      ctx.stmt(SQL.deleteCredential).run(intent.endpoint);
      return;
  }
}

/** Maps what SQLite threw while applying intents onto the store's errors; our own errors pass through. */
export function mapSqliteError(error: unknown): Error {
  if (error instanceof EimError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new ConflictError(`duplicate key: ${message}`, { cause: error });
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    return new NotFoundError('the record refers to an eUICC that does not exist', { cause: error });
  }
  if (code === 'SQLITE_CONSTRAINT_NOTNULL') return new InvalidArgumentError('record', `a required field is missing (${message})`, { cause: error });
  return new StoreError(`storage engine failed: ${message}`, { cause: error });
}
