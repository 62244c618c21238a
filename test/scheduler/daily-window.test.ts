import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertDailyWindow, localTimeOfDay, windowState } from '../../src/scheduler/daily-window.js';
import { releaseTimes } from '../../src/scheduler/campaign-eta.js';
import { ManualClock } from '../../src/scheduler/clock.js';
import { PriorityQueue } from '../../src/scheduler/priority-queue.js';

const H = 3_600_000;

describe('daily windows in a time zone', () => {
  it('reads local time of day in the given zone', () => {
    assert.equal(localTimeOfDay(Date.UTC(2026, 10, 23, 23, 30), 'Europe/Berlin'), 30 * 60_000);
    assert.equal(localTimeOfDay(Date.UTC(2026, 6, 1, 23, 30), 'Europe/Berlin'), H + 30 * 60_000, 'summer time is UTC+2');
    assert.equal(localTimeOfDay(Date.UTC(2026, 10, 23, 12, 0, 0, 250), 'UTC'), 12 * H + 250);
  });

  it('says when a window closes and when the next one opens', () => {
    const w = { start: '01:00', end: '05:00', timeZone: 'Europe/Berlin' };
    assert.deepEqual(windowState(w, Date.UTC(2026, 10, 23, 23, 30)), { open: false, opensAt: Date.UTC(2026, 10, 24, 0, 0) });
    assert.deepEqual(windowState(w, Date.UTC(2026, 10, 24, 2, 0)), { open: true, closesAt: Date.UTC(2026, 10, 24, 4, 0) });
    assert.deepEqual(windowState(w, Date.UTC(2026, 10, 24, 4, 0)), { open: false, opensAt: Date.UTC(2026, 10, 25, 0, 0) });
  });

  it('handles windows across midnight', () => {
    const w = { start: '22:00', end: '02:00', timeZone: 'Asia/Tokyo' };
    assert.deepEqual(windowState(w, Date.UTC(2026, 10, 23, 14, 0)), { open: true, closesAt: Date.UTC(2026, 10, 23, 17, 0) }, '23:00 JST');
    assert.deepEqual(windowState(w, Date.UTC(2026, 10, 23, 18, 0)), { open: false, opensAt: Date.UTC(2026, 10, 24, 13, 0) }, '03:00 JST');
  });

  it('follows a daylight saving change inside the window (New York, 8 March 2026)', () => {
    const w = { start: '01:00', end: '05:00', timeZone: 'America/New_York' };
    // 00:00 EST = 05:00 UTC; 01:00 EST = 06:00 UTC; clocks jump 02:00 -> 03:00; 05:00 EDT = 09:00 UTC.
    assert.deepEqual(windowState(w, Date.UTC(2026, 2, 8, 5, 0)), { open: false, opensAt: Date.UTC(2026, 2, 8, 6, 0) });
    assert.deepEqual(windowState(w, Date.UTC(2026, 2, 8, 6, 30)), { open: true, closesAt: Date.UTC(2026, 2, 8, 9, 0) });
  });

  it('rejects malformed windows naming the field', () => {
    assert.throws(() => assertDailyWindow({ start: '1:00', end: '05:00', timeZone: 'UTC' }), /window\.start/);
    assert.throws(() => assertDailyWindow({ start: '01:00', end: '24:00', timeZone: 'UTC' }), /window\.end/);
    assert.throws(() => assertDailyWindow({ start: '01:00', end: '01:00', timeZone: 'UTC' }), /differ/);
    assert.throws(() => assertDailyWindow({ start: '01:00', end: '02:00', timeZone: 'Nowhere/Else' }), /window\.timeZone/);
  });

  it('plans releases across closed hours', () => {
    const w = { start: '01:00', end: '02:00', timeZone: 'UTC' };
    const from = Date.UTC(2026, 10, 23, 1, 59, 58);
    // Two fit before 02:00 at one per second; the third waits for the next day's 01:00.
    assert.deepEqual(releaseTimes(3, from, 1, w), [from, from + 1000, Date.UTC(2026, 10, 24, 1, 0)]);
  });
});

describe('ManualClock', () => {
  it('fires due timers in time order, including timers set by timers, and never goes back', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimer(3000, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(2000, () => {
      fired.push(`a@${clock.now()}`);
      clock.setTimer(2500, () => fired.push(`c@${clock.now()}`));
    });
    const cancel = clock.setTimer(2200, () => fired.push('cancelled'));
    cancel();
    clock.advance(5000);
    assert.deepEqual(fired, ['a@2000', 'c@2500', 'b@3000']);
    assert.equal(clock.now(), 6000);
    assert.throws(() => clock.set(10), RangeError);
  });
});

describe('PriorityQueue', () => {
  it('pops the smallest key first and keeps FIFO order among equal keys', () => {
    const q = new PriorityQueue<string>();
    const input: [string, number][] = [['e', 5], ['a', 1], ['c', 3], ['b1', 2], ['b2', 2], ['d', 4], ['b3', 2]];
    for (const [v, k] of input) q.push(v, k);
    const out: string[] = [];
    for (let v = q.pop(); v !== undefined; v = q.pop()) out.push(v);
    assert.deepEqual(out, ['a', 'b1', 'b2', 'b3', 'c', 'd', 'e']);
    assert.equal(q.size, 0);
  });
});
