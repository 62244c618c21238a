/**
 * Handing out the next eIM Package of an eUICC (SGP.32 v1.2 §2.11.1.1, §3.1.1): choose the operation, give it
 * a counterValue and a fresh eimTransactionId, sign, and commit all of it before a byte leaves. A counter
 * value is committed with the package that uses it, by compare-and-set, so it is never used twice; a package
 * handed out again (its result never came) is the same stored bytes, never a re-signing.
 */
import { toHex } from '../asn1/hex.js';
import { ConflictError } from '../store/errors.js';
import type { OperationRecord } from '../store/records.js';
import type { CoreContext } from './context.js';
import { commitWithEvent, operationChanged } from './events.js';
import { buildEuiccPackageRequest, buildUnsignedPackage, MAX_COUNTER_VALUE } from './package-builder.js';
import { type OperationRequest, packageContent, parseOperationRequest } from './operation-request.js';

export type PackageType = 'euiccPackageRequest' | 'ipaEuiccDataRequest' | 'profileDownloadTriggerRequest';

/** A package ready to send: its exact DER (BF51, BF52 or BF54) and the operation it belongs to. */
export interface IssuedPackage {
  readonly operationId: string;
  readonly type: PackageType;
  readonly der: Uint8Array;
  readonly attempt: number;
}

export function packageTypeOf(der: Uint8Array): PackageType {
  return der[1] === 0x51 ? 'euiccPackageRequest' : der[1] === 0x52 ? 'ipaEuiccDataRequest' : 'profileDownloadTriggerRequest';
}

export function requestOf(op: OperationRecord): OperationRequest {
  return parseOperationRequest(op.params);
}

/** Signs and commits the package of a queued operation; retries the counter compare-and-set once on a race. */
export async function issueOperation(ctx: CoreContext, op: OperationRecord): Promise<IssuedPackage> {
  const content = packageContent(requestOf(op));
  const eimTransactionId = ctx.randomBytes(16);
  for (let attempt = 0; ; attempt++) {
    const now = ctx.now();
    let der: Uint8Array;
    let counterValue: number | undefined;
    let expected = 0;
    if ('psmo' in content || 'eco' in content) {
      const assoc = await ctx.store.getAssociation(ctx.identity.eimId, op.eid);
      expected = assoc?.counterValue ?? 0;
      counterValue = expected + 1;
      if (counterValue > MAX_COUNTER_VALUE) {
        await failOperation(ctx, op, 'counterValueOutOfRange', `the counter for this eUICC reached ${MAX_COUNTER_VALUE}; re-provision the eIM entry (update-eim)`);
        throw new ConflictError(`counterValue exhausted for ${op.eid}`);
      }
      der = await buildEuiccPackageRequest(
        ctx.identity.signer,
        { eimId: ctx.identity.eimId, eid: op.eid, counterValue, eimTransactionId, ...(assoc?.associationToken !== undefined ? { associationToken: assoc.associationToken } : {}) },
        [content],
      );
    } else {
      der = buildUnsignedPackage(content, eimTransactionId);
    }
    try {
      await commitWithEvent(ctx, operationChanged(op, 'sent', now), (tx) => {
        if (counterValue !== undefined) tx.setCounterValue(ctx.identity.eimId, op.eid, counterValue, { expected });
        tx.updateOperation(
          op.id,
          { state: 'sent', eimTransactionId, packageDer: der, attempts: op.attempts + 1, sentAt: now, updatedAt: now, ...(counterValue !== undefined ? { counterValue } : {}) },
          { expectedState: 'queued' },
        );
        tx.appendAudit({
          at: now,
          actor: 'eim',
          action: 'package-issued',
          eid: op.eid,
          operationId: op.id,
          outcome: 'ok',
          detail: { kind: op.kind, eimTransactionId: toHex(eimTransactionId), ...(counterValue !== undefined ? { counterValue } : {}) },
        });
      });
    } catch (e) {
      // Another issuer took this counter value (or this operation): read again and sign again, once.
      if (e instanceof ConflictError && attempt === 0) {
        const fresh = await ctx.store.getOperation(op.id);
        if (fresh?.state !== 'queued') throw e;
        continue;
      }
      throw e;
    }
    return { operationId: op.id, type: packageTypeOf(der), der, attempt: op.attempts + 1 };
  }
}

/** Hands out an already issued package again (same bytes, same counter), counting the attempt. */
export async function reissueOperation(ctx: CoreContext, op: OperationRecord): Promise<IssuedPackage | undefined> {
  if (op.packageDer === undefined) return undefined;
  if (op.attempts >= ctx.maxAttempts) {
    await failOperation(ctx, op, 'undeliverable', `no result after ${op.attempts} deliveries; inventory re-synchronisation requested`, true);
    return undefined;
  }
  const now = ctx.now();
  await ctx.store.commit((tx) => tx.updateOperation(op.id, { attempts: op.attempts + 1, sentAt: now, updatedAt: now }, { expectedState: 'sent' }));
  return { operationId: op.id, type: packageTypeOf(op.packageDer), der: op.packageDer, attempt: op.attempts + 1 };
}

export async function failOperation(ctx: CoreContext, op: OperationRecord, errorCode: string, errorMessage: string, resync = false): Promise<void> {
  const now = ctx.now();
  await commitWithEvent(ctx, operationChanged(op, 'failed', now, errorCode), (tx) => {
    tx.updateOperation(op.id, { state: 'failed', errorCode, errorMessage, completedAt: now, updatedAt: now }, { expectedState: ['queued', 'sent'] });
    if (resync) tx.patchEuicc(op.eid, { resync: { cause: errorCode, since: now }, updatedAt: now });
  });
}
