/**
 * Domain events of the eIM, named in the past tense. The core emits them after the change they describe is
 * committed; the API layer turns them into Server-Sent Events and webhooks.
 */
import type { Json, NotificationKind, OperationRecord, OperationState } from '../store/records.js';
import type { Changes, Store } from '../store/store.js';

export type EimEvent =
  | { readonly type: 'operation.changed'; readonly operationId: string; readonly eid: string; readonly kind: string; readonly state: OperationState; readonly errorCode?: string; readonly at: number }
  | { readonly type: 'notification.received'; readonly eid: string; readonly seqNumber: number; readonly kind: NotificationKind; readonly iccid?: string; readonly at: number }
  | { readonly type: 'result.rejected'; readonly eid: string; readonly reason: string; readonly at: number }
  | { readonly type: 'euicc.resync-requested'; readonly eid: string; readonly cause: string; readonly at: number };

export type EventSink = (event: EimEvent) => void;

/** The operation.changed event of `op` entering `state` at `at` (errorCode only when a non-empty one is given). */
export function operationChanged(op: Pick<OperationRecord, 'id' | 'eid' | 'kind'>, state: OperationState, at: number, errorCode?: string): EimEvent {
  return { type: 'operation.changed', operationId: op.id, eid: op.eid, kind: op.kind, state, ...(errorCode ? { errorCode } : {}), at };
}

/**
 * Commits `build`'s writes together with the outbox line of `event` (one commit: both land or neither), then
 * announces the event, only once the commit resolved. When the commit rejects, nothing is announced and the
 * error propagates. The event's intent comes first in the commit; the order of intents inside one commit is
 * not observable (they are applied and rolled back as one).
 */
export async function commitWithEvent(ctx: { readonly store: Pick<Store, 'commit'>; readonly emit: EventSink }, event: EimEvent, build: (tx: Changes) => void): Promise<void> {
  await ctx.store.commit((tx) => {
    // The outbox serialises `data` as JSON, which drops absent (undefined) fields as a copy would.
    tx.appendEvent({ type: event.type, at: event.at, data: event as unknown as Json });
    build(tx);
  });
  ctx.emit(event);
}
