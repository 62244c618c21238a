import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EuiccPackageRequest } from '../../src/asn1/euicc-package.js';
import { toHex } from '../../src/asn1/hex.js';
import { decode } from '../../src/asn1/schema.js';
import type { EimEvent } from '../../src/eim/events.js';
import { EsipaHandler } from '../../src/esipa/esipa-handler.js';
import { ManualClock } from '../../src/scheduler/clock.js';
import { Dispatcher, type DispatcherOptions } from '../../src/scheduler/dispatcher.js';
import { decodeResult, EID, euiccAnswer, harness, type Harness } from '../eim/harness.js';
import { type Delivery, FakeDownlink, FakePresence, fleetEids, packageOf, registerFleet, turns } from './fakes.js';

const T0 = Date.UTC(2026, 10, 23, 12);

interface Rig {
  h: Harness;
  clock: ManualClock;
  presence: FakePresence;
  downlink: FakeDownlink;
  dispatcher: Dispatcher;
  /** EIDs in the order nextTransfer was asked for them. */
  calls: string[];
  close(): Promise<void>;
}

async function rig(options: { maxAttempts?: number; dispatcher?: Partial<DispatcherOptions> } = {}): Promise<Rig> {
  const clock = new ManualClock(T0);
  let sink: (e: EimEvent) => void = () => undefined;
  const h = await harness({ now: () => clock.now(), onEvent: (e) => sink(e), ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}) });
  const esipa = new EsipaHandler({ core: h.core });
  const presence = new FakePresence(clock);
  const downlink = new FakeDownlink(clock);
  const calls: string[] = [];
  const dispatcher = new Dispatcher({
    source: { nextTransfer: (eid) => (calls.push(eid), esipa.nextTransfer(eid)) },
    downlink,
    presence,
    clock,
    ...options.dispatcher,
  });
  sink = (e) => dispatcher.onEvent(e);
  dispatcher.start();
  return {
    h,
    clock,
    presence,
    downlink,
    dispatcher,
    calls,
    async close() {
      await dispatcher.stop();
      await h.close();
    },
  };
}

const isEuiccPackage = (d: Delivery): boolean => {
  const p = packageOf(d.der);
  return p[0] === 0xbf && p[1] === 0x51;
};

/** The device's side: a signed listProfileInfo result for a package, or just "received" for acknowledgements. */
async function answer(r: Rig, d: Delivery, seqNumber: number): Promise<void> {
  if (isEuiccPackage(d)) {
    const result = euiccAnswer(r.h.pki, d.eid, packageOf(d.der), [{ listProfileInfoResult: { profileInfoListOk: [] } }], { seqNumber });
    await r.h.core.applyEuiccPackageResult(d.eid, decodeResult(result));
  }
  r.dispatcher.exchangeFinished(d.eid);
  await r.dispatcher.idle();
}

async function operationOf(r: Rig, d: Delivery): Promise<string | undefined> {
  const txId = decode(EuiccPackageRequest, packageOf(d.der)).euiccPackageSigned.eimTransactionId!;
  return (await r.h.store.findOperationByTransactionId(d.eid, txId))?.id;
}

describe('dispatch on wake', () => {
  it('delivers the next package of a device as soon as its window opens, without the clock moving', async () => {
    const r = await rig();
    try {
      const op = await r.h.core.submit(EID, { kind: 'list-profiles' });
      assert.equal(r.downlink.deliveries.length, 0);
      r.presence.wake(EID, T0 + 93_000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1);
      assert.equal(r.downlink.deliveries[0]!.at, T0);
      assert.equal(await operationOf(r, r.downlink.deliveries[0]!), op.id);
      assert.equal((await r.h.store.getOperation(op.id))?.state, 'sent');
    } finally {
      await r.close();
    }
  });

  it('dispatches work queued while the device is already awake', async () => {
    const r = await rig();
    try {
      r.presence.wake(EID, T0 + 93_000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 0);
      await r.h.core.submit(EID, { kind: 'list-profiles' });
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1);
    } finally {
      await r.close();
    }
  });

  it('sends nothing to a device that is asleep', async () => {
    const r = await rig();
    try {
      await r.h.core.submit(EID, { kind: 'list-profiles' });
      r.presence.wake(EID, T0 + 1000);
      r.presence.sleep(EID);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 0);
    } finally {
      await r.close();
    }
  });
});

describe('per eUICC ordering', () => {
  it('keeps FIFO order with one exchange in flight: the next package waits for the answer to the previous one', async () => {
    const r = await rig();
    try {
      const ops = [];
      for (const iccid of ['8944000000000000001', '8944000000000000002', '8944000000000000003']) ops.push(await r.h.core.submit(EID, { kind: 'list-profiles', iccid }));
      r.presence.wake(EID, T0 + 93_000);
      await r.dispatcher.idle();
      await turns();
      assert.equal(r.downlink.deliveries.length, 1, 'only one exchange in flight');
      const seen: string[] = [];
      const packages = () => r.downlink.deliveries.filter(isEuiccPackage);
      for (let i = 0; i < 10 && seen.length < 3; i++) {
        const d = packages().at(-1)!;
        seen.push((await operationOf(r, d))!);
        const before: number = packages().length;
        await answer(r, d, 10 + i);
        await turns();
        // The answer's acknowledgement goes out, then exactly one next package.
        if (seen.length < 3) assert.equal(packages().length, before + 1, 'the answer releases exactly one next package');
      }
      const kinds = r.downlink.deliveries.map((d) => (isEuiccPackage(d) ? 'package' : 'acks'));
      assert.deepEqual(kinds, ['package', 'acks', 'package', 'acks', 'package', 'acks']);
      assert.deepEqual(seen, ops.map((o) => o.id));
      for (const o of ops) assert.equal((await r.h.store.getOperation(o.id))?.state, 'done');
    } finally {
      await r.close();
    }
  });
});

describe('wake storms', () => {
  it('serves 1,000 devices waking in the same tick in the order their windows close, with bounded concurrency', async () => {
    const r = await rig({ dispatcher: { maxConcurrent: 8 } });
    try {
      const eids = fleetEids(1000);
      await registerFleet(r.h.core, eids);
      // Closing times are a permutation, so the expected order is unique.
      const closes = new Map(eids.map((eid, i) => [eid, T0 + 60_000 + ((i * 7919) % 1000) * 10]));
      let maxActive = 0;
      const originalDeliver = r.downlink.deliver.bind(r.downlink);
      r.downlink.deliver = async (eid, der) => {
        maxActive = Math.max(maxActive, r.dispatcher.stats().active);
        return originalDeliver(eid, der);
      };
      for (const eid of eids) r.presence.wake(eid, closes.get(eid)!);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1000);
      assert.equal(new Set(r.downlink.deliveries.map((d) => d.eid)).size, 1000);
      const expected = [...eids].sort((a, b) => closes.get(a)! - closes.get(b)!);
      assert.deepEqual(r.calls, expected);
      assert.ok(maxActive <= 8, `at most 8 exchanges prepared at once (saw ${maxActive})`);
      assert.ok(r.downlink.deliveries.every((d) => d.at === T0), 'all served before any window closed');
    } finally {
      await r.close();
    }
  });
});

describe('retries', () => {
  it('hands out the same package after the window closed before the answer, after a backoff, then gives up at maxAttempts and re-reads the inventory', async () => {
    const r = await rig({ maxAttempts: 3, dispatcher: { retryBaseMs: 10_000 } });
    try {
      const op = await r.h.core.submit(EID, { kind: 'enable', iccid: '8944000000000000001' });
      r.presence.wake(EID, T0 + 30_000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1);
      const first = r.downlink.deliveries[0]!;
      r.presence.sleep(EID); // window closed: no answer
      // Wakes 2 s later: still inside the 10 s backoff and the window ends before it: nothing this window.
      r.clock.advance(2000);
      r.presence.wake(EID, r.clock.now() + 5000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1, 'backoff holds the retry');
      r.presence.sleep(EID);
      // Wakes again with a long window: the retry waits for the end of the backoff, inside the window.
      r.clock.advance(3000);
      r.presence.wake(EID, r.clock.now() + 60_000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1);
      r.clock.advance(5000); // T0 + 10 s: backoff over
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 2);
      const second = r.downlink.deliveries[1]!;
      assert.equal(toHex(second.der), toHex(first.der), 'same signed bytes, same counter');
      assert.equal((await r.h.store.getOperation(op.id))?.attempts, 2);
      // Window closes again; the next delivery is the third and last attempt.
      r.presence.sleep(EID);
      r.clock.advance(60_000);
      r.presence.wake(EID, r.clock.now() + 60_000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 3);
      assert.equal((await r.h.store.getOperation(op.id))?.attempts, 3);
      r.presence.sleep(EID);
      r.clock.advance(120_000);
      r.presence.wake(EID, r.clock.now() + 60_000);
      await r.dispatcher.idle();
      const stored = await r.h.store.getOperation(op.id);
      assert.equal(stored?.state, 'failed');
      assert.equal(stored?.errorCode, 'undeliverable');
      const last = r.downlink.deliveries.at(-1)!;
      assert.notEqual(toHex(last.der), toHex(first.der), 'after giving up, the next package is the inventory re-read');
      const psmo = decode(EuiccPackageRequest, packageOf(last.der)).euiccPackageSigned.euiccPackage as { psmoList: object[] };
      assert.ok('listProfileInfo' in psmo.psmoList[0]!);
    } finally {
      await r.close();
    }
  });

  it('re-sends after the result timeout while the device stays awake', async () => {
    const r = await rig({ dispatcher: { resultTimeoutMs: 20_000, retryBaseMs: 1000 } });
    try {
      await r.h.core.submit(EID, { kind: 'list-profiles' });
      r.presence.wake(EID, T0 + 93_000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1);
      r.clock.advance(19_999);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1);
      r.clock.advance(1);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1, 'first retry waits for its backoff');
      r.clock.advance(1000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 2);
      assert.equal(toHex(r.downlink.deliveries[1]!.der), toHex(r.downlink.deliveries[0]!.der));
    } finally {
      await r.close();
    }
  });

  it('retries a failed delivery with exponential backoff inside the window', async () => {
    const r = await rig({ dispatcher: { retryBaseMs: 1000 } });
    try {
      await r.h.core.submit(EID, { kind: 'list-profiles' });
      r.downlink.outcome = () => 'failed';
      r.presence.wake(EID, T0 + 93_000);
      await r.dispatcher.idle();
      const times = () => r.downlink.deliveries.map((d) => d.at - T0);
      for (let i = 0; i < 8; i++) {
        r.clock.advance(500);
        await r.dispatcher.idle();
      }
      assert.deepEqual(times(), [0, 1000, 3000]);
      r.downlink.outcome = () => 'delivered';
      r.clock.advance(3000);
      await r.dispatcher.idle();
      assert.deepEqual(times(), [0, 1000, 3000, 7000]);
    } finally {
      await r.close();
    }
  });

  it('waits for the next wake without backoff when the transport finds the device asleep', async () => {
    const r = await rig();
    try {
      await r.h.core.submit(EID, { kind: 'list-profiles' });
      r.downlink.outcome = () => 'asleep';
      r.presence.wake(EID, T0 + 93_000);
      await r.dispatcher.idle();
      r.clock.advance(10_000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 1);
      r.downlink.outcome = () => 'delivered';
      r.presence.wake(EID, r.clock.now() + 93_000);
      await r.dispatcher.idle();
      assert.equal(r.downlink.deliveries.length, 2);
    } finally {
      await r.close();
    }
  });
});
