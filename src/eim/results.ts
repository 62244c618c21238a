/**
 * Applying what the eUICC and IPA send back (SGP.32 v1.2 §2.11.2, §3.1.2, notes §(c) and (f)): eUICC Package
 * results, eUICC data responses, download trigger results and pending notifications. Each is matched to its
 * operation by EID + eimTransactionId (+ eimId and counterValue), verified with the validated eUICC key, and
 * only then committed in one transaction with its operation's completion (compare-and-set on the state, so a
 * result is applied exactly once). Anything else changes nothing but the audit log.
 */
import type { EuiccPackageResult } from '../asn1/euicc-package.js';
import { EuiccPackageResult as EuiccPackageResultCodec } from '../asn1/euicc-package.js';
import { bytesEqual, toHex } from '../asn1/hex.js';
import type { IpaEuiccDataResponse, ProfileDownloadTriggerResult } from '../asn1/ipa-euicc-data.js';
import { IpaEuiccData, ProfileDownloadTriggerResult as TriggerResultCodec } from '../asn1/ipa-euicc-data.js';
import type { PendingNotification } from '../asn1/rsp.js';
import type { Received } from '../asn1/schema.js';
import { ConflictError } from '../store/errors.js';
import type { Changes } from '../store/store.js';
import type { Json, NotificationRecord, OperationRecord, ProfileRecord } from '../store/records.js';
import type { CoreContext } from './context.js';
import { commitWithEvent, type EimEvent, operationChanged } from './events.js';
import { ResultRejectedError, type RejectReason } from './errors.js';
import { applyResultData, type InventoryChanges } from './inventory.js';
import { requestOf } from './issue.js';
import { type NotificationFacts, notificationBytes, notificationFacts, notificationRecord, verifyNotificationWith } from './notifications.js';
import { resultCorrelation, verifyEuiccPackageResultWith } from './result-verifier.js';
import type { KeyObject } from 'node:crypto';

/** Records a refusal in the audit log and reports it as a typed error. */
async function reject(ctx: CoreContext, eid: string, reason: RejectReason, message: string, operationId?: string): Promise<never> {
  const at = ctx.now();
  await commitWithEvent(ctx, { type: 'result.rejected', eid, reason, at }, (tx) => {
    tx.appendAudit({ at, actor: `device:${eid}`, action: 'result-rejected', eid, outcome: 'rejected', reason, ...(operationId !== undefined ? { operationId } : {}), detail: { message } });
  });
  ctx.logger.warn({ eid, reason, operationId }, `result rejected: ${message}`);
  throw new ResultRejectedError(reason, message);
}

/** The validated key of an eUICC, or a rejection when its certificates are unknown or do not validate. */
async function euiccKey(ctx: CoreContext, eid: string): Promise<KeyObject> {
  const e = await ctx.store.getEuiccSummary(eid);
  if (e === undefined) return reject(ctx, eid, 'unknown-euicc', 'this eUICC is not registered');
  if (e.euiccCertificate === undefined || e.eumCertificate === undefined) {
    return reject(ctx, eid, 'no-euicc-key', 'the eUICC certificate is not known yet; request eUICC data (tags A5 A6) first');
  }
  try {
    return ctx.keys.validate(eid, e.euiccCertificate, e.eumCertificate);
  } catch (err) {
    return reject(ctx, eid, 'no-euicc-key', `the stored eUICC certificate chain does not validate: ${(err as Error).message}`);
  }
}

async function findOperation(ctx: CoreContext, eid: string, eimTransactionId: Uint8Array | undefined, counterValue?: number): Promise<OperationRecord | undefined> {
  if (eimTransactionId !== undefined) return ctx.store.findOperationByTransactionId(eid, eimTransactionId);
  if (counterValue === undefined) return undefined;
  // v1.0-style results carry no eimTransactionId: the counterValue identifies the package.
  const page = await ctx.store.listOperations({ eid, state: ['sent', 'done', 'failed'], limit: 1000 });
  return page.items.find((o) => o.counterValue === counterValue);
}

function applyInventory(tx: Changes, ctx: CoreContext, eid: string, changes: InventoryChanges, now: number): void {
  if (changes.replaceProfiles !== undefined) tx.replaceProfiles(eid, changes.replaceProfiles);
  for (const p of changes.putProfiles) tx.putProfile(p);
  for (const iccid of changes.deleteProfiles) tx.deleteProfile(eid, iccid);
  for (const h of changes.history) tx.addProfileHistory(h);
  const patch: Parameters<Changes['patchEuicc']>[1] = { lastContactAt: now, updatedAt: now };
  if (changes.defaultSmdpAddress !== undefined) patch.defaultSmdpAddress = changes.defaultSmdpAddress;
  if (changes.resynchronised === true) patch.resync = undefined;
  tx.patchEuicc(eid, patch);
}

export interface Applied {
  readonly operationId: string;
  readonly state: 'done' | 'failed';
  readonly errorCode?: string;
}

function complete(tx: Changes, op: OperationRecord, state: 'done' | 'failed', now: number, result: Json | undefined, errorCode?: string, errorMessage?: string): void {
  tx.updateOperation(
    op.id,
    { state, completedAt: now, updatedAt: now, ...(result !== undefined ? { result } : {}), ...(errorCode !== undefined ? { errorCode } : {}), ...(errorMessage !== undefined ? { errorMessage } : {}) },
    { expectedState: 'sent' },
  );
}

/** Commits the completion; a concurrent or earlier application of the same result is reported as a duplicate. */
async function commitCompletion(ctx: CoreContext, op: OperationRecord, build: (tx: Changes) => void, event: EimEvent): Promise<void> {
  try {
    await commitWithEvent(ctx, event, build);
  } catch (e) {
    if (e instanceof ConflictError) await reject(ctx, op.eid, 'already-applied', `operation ${op.id} already has its result`, op.id);
    throw e;
  }
}

/** Verifies and applies an EuiccPackageResult (BF51). Returns the operation's new state. */
export async function applyEuiccPackageResult(ctx: CoreContext, eid: string, result: EuiccPackageResult): Promise<Applied> {
  const corr = resultCorrelation(result);
  if (corr.eimId !== ctx.identity.eimId) return reject(ctx, eid, 'not-addressed-to-us', `result for eIM "${corr.eimId}"`);
  const op = await findOperation(ctx, eid, corr.eimTransactionId, corr.counterValue);
  if (op === undefined || op.counterValue === undefined) {
    return reject(ctx, eid, 'unknown-operation', `no package of ours matches eimTransactionId ${corr.eimTransactionId ? toHex(corr.eimTransactionId) : '(none)'}`);
  }
  const key = await euiccKey(ctx, eid);
  const assoc = await ctx.store.getAssociation(ctx.identity.eimId, eid);
  let verified;
  try {
    const expected = { eimId: ctx.identity.eimId, counterValue: op.counterValue, ...(op.eimTransactionId ? { eimTransactionId: op.eimTransactionId } : {}), ...(assoc?.associationToken !== undefined ? { associationToken: assoc.associationToken } : {}) };
    verified = await verifyEuiccPackageResultWith(ctx.verify, result, expected, key);
  } catch (e) {
    if (e instanceof ResultRejectedError) return reject(ctx, eid, e.reason, e.message, op.id);
    throw e;
  }
  if (verified.signatureEncoding === 'der') ctx.logger.warn({ eid, operationId: op.id }, 'eUICC signed its result with a DER signature where r||s is expected; accepted');
  const now = ctx.now();
  if (op.state !== 'sent') {
    // Authentic but already applied (e.g. the IPA delivered it again because our acknowledgement was lost):
    // acknowledge it again so the eUICC can forget it, change nothing else.
    if (verified.kind === 'result') await reack(ctx, eid, verified.data.seqNumber);
    return reject(ctx, eid, 'already-applied', `operation ${op.id} is already ${op.state}`, op.id);
  }
  const resultJson = EuiccPackageResultCodec.toJson(result) as Json;
  if (verified.kind === 'error') {
    const code = typeof verified.data.euiccPackageErrorCode === 'number' ? `code${verified.data.euiccPackageErrorCode}` : verified.data.euiccPackageErrorCode;
    // A replayError for a package we handed out more than once means its first delivery probably ran:
    // the outcome is unknown, so the inventory is re-read instead of guessing.
    const resync = code === 'replayError' && op.attempts > 1;
    await commitCompletion(ctx, op, (tx) => {
      complete(tx, op, 'failed', now, resultJson, code, resync ? 'the eUICC had already seen this package; inventory re-synchronisation requested' : undefined);
      tx.patchEuicc(eid, { lastContactAt: now, updatedAt: now, ...(resync ? { resync: { cause: 'unknownOutcome', since: now } } : {}) });
      tx.appendAudit({ at: now, actor: `device:${eid}`, action: 'result-accepted', eid, operationId: op.id, outcome: 'ok', detail: { errorCode: code } });
    }, operationChanged(op, 'failed', now, code));
    return { operationId: op.id, state: 'failed', errorCode: code };
  }
  const profiles = await ctx.store.listProfiles(eid);
  const { outcome, changes } = applyResultData({ eid, now, operationId: op.id, request: requestOf(op), profiles, ourEimId: ctx.identity.eimId }, verified.data.euiccResult);
  const payload = EuiccPackageResultCodec.encode(result);
  await commitCompletion(ctx, op, (tx) => {
    complete(tx, op, outcome.state, now, outcome.result, outcome.errorCode);
    applyInventory(tx, ctx, eid, changes, now);
    applyAssociation(tx, ctx, eid, changes, now);
    tx.insertNotification({
      eid,
      seqNumber: verified.data.seqNumber,
      kind: 'package-result',
      payload,
      receivedAt: now,
      forwardState: 'not-required',
      forwardAttempts: 0,
      ackState: 'pending',
      verified: true,
    });
    tx.appendAudit({ at: now, actor: `device:${eid}`, action: 'result-accepted', eid, operationId: op.id, outcome: 'ok', detail: { state: outcome.state, ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}) } });
  }, operationChanged(op, outcome.state, now, outcome.errorCode));
  return { operationId: op.id, state: outcome.state, ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}) };
}

function applyAssociation(tx: Changes, ctx: CoreContext, eid: string, changes: InventoryChanges, now: number): void {
  const a = changes.association;
  if (a === undefined) return;
  if (a.associationToken !== undefined || a.removed === true || a.eimEntries !== undefined) {
    tx.patchAssociation(ctx.identity.eimId, eid, {
      updatedAt: now,
      ...(a.associationToken !== undefined ? { associationToken: a.associationToken } : {}),
      ...(a.removed === true ? { state: 'removed' as const } : {}),
      ...(a.eimEntries !== undefined ? { eimEntries: a.eimEntries } : {}),
    });
  }
}

async function reack(ctx: CoreContext, eid: string, seqNumber: number): Promise<void> {
  await ctx.store.commit((tx) => tx.patchNotification(eid, seqNumber, { ackState: 'pending' })).catch(() => undefined);
}

/**
 * Whether the inventory already shows what an enable or disable notification reports (the package result
 * beside it was applied first): then the notification is stored and acknowledged but changes no profile and
 * adds no second history line for the same change.
 */
function alreadyKnown(facts: NotificationFacts, current: ProfileRecord | undefined): boolean {
  return current !== undefined && ((facts.kind === 'enable' && current.state === 'enabled') || (facts.kind === 'disable' && current.state === 'disabled'));
}

/**
 * Stores a pending notification once (by seqNumber), verifies it when the eUICC key is known, and applies the
 * profile change it reports when verified. Duplicates are acknowledged again and change nothing. Returns the
 * stored notification, whose `verified` is the core's verdict (for a duplicate, the copy already stored).
 */
export async function applyNotification(ctx: CoreContext, eid: string, n: Received<PendingNotification>, payload: Uint8Array): Promise<NotificationRecord> {
  const facts = notificationFacts(n);
  const now = ctx.now();
  const known = await ctx.store.getNotification(eid, facts.seqNumber);
  if (known !== undefined) {
    if (bytesEqual(known.payload, payload)) await reack(ctx, eid, facts.seqNumber);
    return known;
  }
  const e = await ctx.store.getEuiccSummary(eid);
  if (e === undefined) return reject(ctx, eid, 'unknown-euicc', 'notification from an unregistered eUICC');
  let verified = false;
  if (e.euiccCertificate !== undefined && e.eumCertificate !== undefined) {
    try {
      const key = ctx.keys.validate(eid, e.euiccCertificate, e.eumCertificate);
      verified = await verifyNotificationWith(ctx.verify, n, key);
    } catch {
      verified = false;
    }
    if (!verified) return reject(ctx, eid, 'bad-signature', `notification ${facts.seqNumber} does not verify with the eUICC key`);
  }
  const record: NotificationRecord = { ...notificationRecord(eid, facts, payload, now), ...(verified ? { verified } : {}) };
  const current = verified && facts.iccid !== undefined ? (await ctx.store.listProfiles(eid)).find((p) => p.iccid === facts.iccid) : undefined;
  const event: EimEvent = { type: 'notification.received', eid, seqNumber: facts.seqNumber, kind: facts.kind, ...(facts.iccid ? { iccid: facts.iccid } : {}), at: now };
  await commitWithEvent(ctx, event, (tx) => {
    tx.insertNotification(record);
    if (verified && facts.iccid !== undefined && facts.kind !== 'other' && facts.kind !== 'package-result' && !alreadyKnown(facts, current)) {
      const iccid = facts.iccid;
      const base = current ?? { eid, iccid, state: 'unknown' as const, fallbackAttribute: false, policyRules: [], updatedAt: now };
      if (facts.kind === 'delete') tx.deleteProfile(eid, iccid);
      else if (facts.kind === 'enable' || facts.kind === 'disable') tx.putProfile({ ...base, state: facts.kind === 'enable' ? 'enabled' : 'disabled', updatedAt: now });
      else if (facts.aid !== undefined) tx.putProfile({ ...base, aid: facts.aid, state: 'disabled', updatedAt: now });
      if (facts.kind !== 'install' || facts.aid !== undefined) tx.addProfileHistory({ eid, iccid, at: now, change: facts.kind === 'install' ? 'installed' : `${facts.kind}d` });
    }
    tx.appendAudit({ at: now, actor: `device:${eid}`, action: 'notification-received', eid, outcome: 'ok', detail: { seqNumber: facts.seqNumber, kind: facts.kind, verified } });
  });
  return record;
}

/** Applies an IpaEuiccDataResponse: certificates (chain-validated), capabilities, EUICCInfo2, notifications, stored results. */
export async function applyEuiccData(ctx: CoreContext, eid: string, response: IpaEuiccDataResponse): Promise<Applied | undefined> {
  const txId = 'ipaEuiccData' in response ? response.ipaEuiccData.eimTransactionId : response.ipaEuiccDataResponseError.eimTransactionId;
  const op = txId !== undefined ? await ctx.store.findOperationByTransactionId(eid, txId) : undefined;
  const now = ctx.now();
  if ('ipaEuiccDataResponseError' in response) {
    if (op === undefined) return reject(ctx, eid, 'unknown-operation', 'data request error for no operation of ours');
    const code = String(response.ipaEuiccDataResponseError.ipaEuiccDataErrorCode);
    await commitCompletion(ctx, op, (tx) => complete(tx, op, 'failed', now, undefined, code), operationChanged(op, 'failed', now, code));
    return { operationId: op.id, state: 'failed', errorCode: code };
  }
  const data = response.ipaEuiccData;
  const e = await ctx.store.getEuiccSummary(eid);
  if (e === undefined) return reject(ctx, eid, 'unknown-euicc', 'eUICC data from an unregistered eUICC');
  const patch: Parameters<Changes['patchEuicc']>[1] = { lastContactAt: now, updatedAt: now };
  if (data.euiccCertificate !== undefined && data.eumCertificate !== undefined) {
    // Certificates are unsigned data: they are accepted only when their chain validates to a trusted CI for this EID.
    try {
      ctx.keys.forget(eid);
      ctx.keys.validate(eid, data.euiccCertificate, data.eumCertificate);
      patch.euiccCertificate = data.euiccCertificate;
      patch.eumCertificate = data.eumCertificate;
    } catch (err) {
      return reject(ctx, eid, 'no-euicc-key', `eUICC certificates refused: ${(err as Error).message}`, op?.id);
    }
  }
  if (data.ipaCapabilities !== undefined) patch.ipaCapabilities = { ipaFeatures: data.ipaCapabilities.ipaFeatures, ipaSupportedProtocols: data.ipaCapabilities.ipaSupportedProtocols ?? [] };
  if (data.euiccInfo2 !== undefined) patch.euiccInfo2 = IpaEuiccData.toJson({ euiccInfo2: data.euiccInfo2 }) as Json;
  if (data.defaultSmdpAddress !== undefined) patch.defaultSmdpAddress = data.defaultSmdpAddress;
  const resultJson = IpaEuiccData.toJson({ ...data, notificationsList: undefined, euiccPackageResultList: undefined }) as Json;
  if (op !== undefined && op.state === 'sent') {
    await commitCompletion(ctx, op, (tx) => {
      complete(tx, op, 'done', now, resultJson);
      tx.patchEuicc(eid, patch);
    }, operationChanged(op, 'done', now));
  } else {
    await ctx.store.commit((tx) => tx.patchEuicc(eid, patch));
  }
  // Late results and notifications travel inside the data; each is verified on its own.
  // A refused one is already audited; anything else (the store failing) must not be swallowed.
  const refusedOnly = (e: unknown): void => {
    if (!(e instanceof ResultRejectedError)) throw e;
  };
  for (const n of data.notificationsList ?? []) await applyNotification(ctx, eid, n, notificationBytes(n)).catch(refusedOnly);
  for (const r of data.euiccPackageResultList ?? []) await applyEuiccPackageResult(ctx, eid, r).catch(refusedOnly);
  return op !== undefined ? { operationId: op.id, state: 'done' } : undefined;
}

/** Applies a ProfileDownloadTriggerResult: the eUICC-signed ProfileInstallationResult, or the download error. */
export async function applyDownloadResult(ctx: CoreContext, eid: string, r: ProfileDownloadTriggerResult): Promise<Applied> {
  const op = r.eimTransactionId !== undefined ? await ctx.store.findOperationByTransactionId(eid, r.eimTransactionId) : undefined;
  if (op === undefined) return reject(ctx, eid, 'unknown-operation', 'download result for no operation of ours');
  if (op.state !== 'sent') return reject(ctx, eid, 'already-applied', `operation ${op.id} is already ${op.state}`, op.id);
  const now = ctx.now();
  const data = r.profileDownloadTriggerResultData;
  const resultJson = TriggerResultCodec.toJson(r) as Json;
  if ('profileDownloadError' in data) {
    const code = String(data.profileDownloadError.profileDownloadErrorReason);
    await commitCompletion(ctx, op, (tx) => complete(tx, op, 'failed', now, resultJson, code), operationChanged(op, 'failed', now, code));
    return { operationId: op.id, state: 'failed', errorCode: code };
  }
  const pir = { profileInstallationResult: data.profileInstallationResult } as Received<PendingNotification>;
  const key = await euiccKey(ctx, eid);
  if (!(await verifyNotificationWith(ctx.verify, pir, key))) return reject(ctx, eid, 'bad-signature', 'ProfileInstallationResult does not verify with the eUICC key', op.id);
  const facts = notificationFacts(pir);
  const failed = facts.installError !== undefined;
  const errorCode = failed ? String(facts.installError!.errorReason) : undefined;
  const payload = TriggerResultCodec.encode(r);
  await commitCompletion(ctx, op, (tx) => {
    complete(tx, op, failed ? 'failed' : 'done', now, resultJson, errorCode, failed ? `bppCommandId ${String(facts.installError!.bppCommandId)}` : undefined);
    // Direct download: the IPA already sent this PIR to the SM-DP+ itself; keep it for acknowledgement only.
    tx.insertNotification({ ...notificationRecord(eid, facts, payload, now), forwardState: 'not-required', verified: true });
    if (!failed && facts.iccid !== undefined) {
      tx.putProfile({ eid, iccid: facts.iccid, ...(facts.aid ? { aid: facts.aid } : {}), state: 'disabled', fallbackAttribute: false, policyRules: [], updatedAt: now });
      tx.addProfileHistory({ eid, iccid: facts.iccid, at: now, change: 'installed', operationId: op.id });
    }
    tx.patchEuicc(eid, { lastContactAt: now, updatedAt: now });
    tx.appendAudit({ at: now, actor: `device:${eid}`, action: 'result-accepted', eid, operationId: op.id, outcome: 'ok', detail: { download: failed ? 'failed' : 'installed' } });
  }, operationChanged(op, failed ? 'failed' : 'done', now, errorCode));
  return { operationId: op.id, state: failed ? 'failed' : 'done', ...(errorCode ? { errorCode } : {}) };
}

/** How a relayed (indirect) download ended, as the ESipa relay saw it. */
export interface DownloadCompletion {
  readonly state: 'done' | 'failed';
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly result: Json;
}

/**
 * Ends a sent download operation from what the relay saw (a relay failure with its spec reason, or the verified
 * ProfileInstallationResult), with its audit line and event. False when it had already ended: the first
 * outcome (a late result, the reaper) stands.
 */
export async function completeDownload(ctx: CoreContext, op: OperationRecord, outcome: DownloadCompletion): Promise<boolean> {
  if (op.state !== 'sent') return false;
  const now = ctx.now();
  try {
    await commitWithEvent(ctx, operationChanged(op, outcome.state, now, outcome.errorCode), (tx) => {
      complete(tx, op, outcome.state, now, outcome.result, outcome.errorCode, outcome.errorMessage);
      tx.appendAudit({
        at: now,
        actor: 'eim',
        action: outcome.state === 'done' ? 'download-completed' : 'download-failed',
        eid: op.eid,
        operationId: op.id,
        outcome: outcome.state === 'done' ? 'ok' : 'error',
        detail: { ...(outcome.errorCode ? { errorCode: outcome.errorCode } : {}), ...(outcome.errorMessage ? { message: outcome.errorMessage } : {}) },
      });
    });
  } catch (e) {
    if (e instanceof ConflictError) return false;
    throw e;
  }
  return true;
}
