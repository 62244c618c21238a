/**
 * Test doubles for the scheduler's ports: a Presence driven by the test (wake/sleep), a Downlink that records
 * every delivery and answers what the test says, and helpers to register many eUICCs and unwrap transfers.
 */
import { EventEmitter } from 'node:events';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { readSingle } from '../../src/asn1/tlv.js';
import type { EimCore } from '../../src/eim/eim-core.js';
import type { AwakeEvent, DeliveryOutcome, Downlink, Presence, SleepingEvent } from '../../src/scheduler/ports.js';
import type { ManualClock } from '../../src/scheduler/clock.js';

export class FakePresence extends EventEmitter implements Presence {
  readonly #windows = new Map<string, number>();
  readonly #next = new Map<string, number>();
  readonly #clock: ManualClock;

  constructor(clock: ManualClock) {
    super();
    this.#clock = clock;
  }

  wake(eid: string, windowClosesAt: number): void {
    this.#windows.set(eid, windowClosesAt);
    this.emit('awake', { eid, windowClosesAt } satisfies AwakeEvent);
  }

  sleep(eid: string): void {
    if (!this.#windows.delete(eid)) return;
    this.emit('sleeping', { eid } satisfies SleepingEvent);
  }

  expect(eid: string, at: number): void {
    this.#next.set(eid, at);
  }

  isAwake(eid: string): boolean {
    const w = this.#windows.get(eid);
    return w !== undefined && w > this.#clock.now();
  }

  windowClosesAt(eid: string): number | undefined {
    return this.isAwake(eid) ? this.#windows.get(eid) : undefined;
  }

  nextExpectedUplink(eid: string): number | undefined {
    return this.#next.get(eid);
  }
}

export interface Delivery {
  readonly eid: string;
  readonly der: Uint8Array;
  readonly at: number;
}

export class FakeDownlink implements Downlink {
  readonly deliveries: Delivery[] = [];
  outcome: (eid: string, der: Uint8Array) => DeliveryOutcome = () => 'delivered';
  readonly #clock: ManualClock;

  constructor(clock: ManualClock) {
    this.#clock = clock;
  }

  async deliver(eid: string, der: Uint8Array): Promise<DeliveryOutcome> {
    this.deliveries.push({ eid, der, at: this.#clock.now() });
    return this.outcome(eid, der);
  }

  of(eid: string): Delivery[] {
    return this.deliveries.filter((d) => d.eid === eid);
  }
}

/** The eIM package inside a TransferEimPackageRequest (BF4E wraps the package TLV as it was stored). */
export function packageOf(transfer: Uint8Array): Uint8Array {
  return readSingle(transfer).value;
}

/** `n` valid EIDs, distinct from the harness's. */
export function fleetEids(n: number, prefix = '8904903200000000000'): string[] {
  return Array.from({ length: n }, (_, i) => eidWithCheckDigits(`${prefix}${String(i).padStart(11, '0')}`));
}

/** Registers eUICCs without certificates (their first package is the certificate request). */
export async function registerFleet(core: EimCore, eids: readonly string[], labels: string[] = []): Promise<void> {
  await Promise.all(eids.map((eid) => core.registerEuicc({ eid, labels })));
}

/** Lets promise chains and setImmediate-flushed store commits run, a bounded number of times. */
export async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}
