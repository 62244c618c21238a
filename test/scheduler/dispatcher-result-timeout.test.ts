/**
 * Result timeouts of the injection dispatcher (src/scheduler/dispatcher.ts): exchanges awaiting the device's
 * answer share one timer, yet each times out at its own deadline, and an answer in time cancels nothing
 * else. The source is a stub handing out one package per call.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/scheduler/clock.js';
import { Dispatcher } from '../../src/scheduler/dispatcher.js';
import { FakeDownlink, FakePresence } from './fakes.js';

const T0 = 1_700_000_000_000;
/** A TransferEimPackageRequest carrying an (empty) euiccPackageRequest: not acknowledgements only. */
const PACKAGE = Uint8Array.of(0xbf, 0x4e, 0x03, 0xbf, 0x51, 0x00);
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
};

describe('dispatcher result timeouts', () => {
  it('times out each unanswered exchange at its own deadline with a single pending timer', async () => {
    const clock = new ManualClock(T0);
    const presence = new FakePresence(clock);
    const downlink = new FakeDownlink(clock);
    const dispatcher = new Dispatcher({ source: { nextTransfer: async () => PACKAGE }, downlink, presence, clock, resultTimeoutMs: 20_000, retryBaseMs: 60_000 });
    dispatcher.start();
    try {
      presence.wake('a', T0 + 300_000);
      await settle();
      clock.advance(5000);
      presence.wake('b', T0 + 300_000);
      clock.advance(1000);
      presence.wake('c', T0 + 300_000);
      await settle();
      assert.deepEqual(downlink.deliveries.map((d) => d.eid), ['a', 'b', 'c']);
      assert.equal(dispatcher.stats().awaitingResult, 3);
      assert.equal(clock.pendingTimers, 1, 'one timer for three deadlines');
      clock.set(T0 + 10_000);
      dispatcher.exchangeFinished('b'); // answered in time: a new exchange starts for b, due at T0 + 30 s
      await settle();
      assert.equal(downlink.of('b').length, 2);
      clock.set(T0 + 19_999);
      assert.equal(dispatcher.stats().awaitingResult, 3, 'nothing overdue yet');
      clock.set(T0 + 20_000);
      assert.equal(dispatcher.stats().awaitingResult, 2, 'a timed out at T0 + 20 s');
      clock.set(T0 + 25_999);
      assert.equal(dispatcher.stats().awaitingResult, 2, 'b answered, its new exchange is younger');
      clock.set(T0 + 26_000);
      assert.equal(dispatcher.stats().awaitingResult, 1, 'c timed out at T0 + 26 s');
      clock.set(T0 + 29_999);
      assert.equal(dispatcher.stats().awaitingResult, 1);
      clock.set(T0 + 30_000);
      assert.equal(dispatcher.stats().awaitingResult, 0, "b's second exchange timed out 20 s after it started");
    } finally {
      await dispatcher.stop();
    }
  });
});
