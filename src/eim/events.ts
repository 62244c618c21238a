/**
 * Domain events of the eIM, named in the past tense. The core emits them after the change they describe is
 * committed; the API layer turns them into Server-Sent Events and webhooks.
 */
import type { Json, NotificationKind, OperationState } from '../store/records.js';
import type { Changes } from '../store/store.js';

export type EimEvent =
  | { readonly type: 'operation.changed'; readonly operationId: string; readonly eid: string; readonly kind: string; readonly state: OperationState; readonly errorCode?: string; readonly at: number }
  | { readonly type: 'notification.received'; readonly eid: string; readonly seqNumber: number; readonly kind: NotificationKind; readonly iccid?: string; readonly at: number }
  | { readonly type: 'result.rejected'; readonly eid: string; readonly reason: string; readonly at: number }
  | { readonly type: 'euicc.resync-requested'; readonly eid: string; readonly cause: string; readonly at: number };

export type EventSink = (event: EimEvent) => void;

/** Writes `event` to the outbox inside the commit of the change it describes (the post-commit emit only announces it). */
export function recordEvent(tx: Changes, event: EimEvent): EimEvent {
  // The outbox serialises `data` as JSON, which drops absent (undefined) fields as a copy would.
  tx.appendEvent({ type: event.type, at: event.at, data: event as unknown as Json });
  return event;
}
