/**
 * The CoAP layer's shared timer (src/lwm2m/coap/timer-queue.ts): many deadlines, one Node timer; items fire
 * in due order, once, and not at all when cancelled or moved.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TimerQueue, type TimerItem } from '../../src/lwm2m/coap/timer-queue.js';

interface Item extends TimerItem {
  readonly name: string;
}

const item = (name: string): Item => ({ name, due: 0, slot: -1 });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('TimerQueue', () => {
  it('fires items in the order of their due times, each once', async () => {
    const fired: string[] = [];
    const q = new TimerQueue<Item>((i) => fired.push(i.name));
    const now = Date.now();
    for (const [name, at] of [['c', 60], ['a', 20], ['d', 80], ['b', 40]] as const) q.schedule(item(name), now + at);
    assert.equal(q.size, 4);
    await sleep(200);
    assert.deepEqual(fired, ['a', 'b', 'c', 'd']);
    assert.equal(q.size, 0);
  });

  it('never fires a cancelled item, and cancelling twice or an unqueued item does nothing', async () => {
    const fired: string[] = [];
    const q = new TimerQueue<Item>((i) => fired.push(i.name));
    const now = Date.now();
    const items = ['a', 'b', 'c', 'd', 'e'].map(item);
    items.forEach((x, k) => q.schedule(x, now + 20 + 10 * k));
    q.cancel(items[0]!);
    q.cancel(items[2]!);
    q.cancel(items[2]!);
    q.cancel(item('never queued'));
    assert.equal(q.size, 3);
    await sleep(150);
    assert.deepEqual(fired, ['b', 'd', 'e']);
  });

  it('moves a rescheduled item to its new time, earlier or later', async () => {
    const fired: string[] = [];
    const q = new TimerQueue<Item>((i) => fired.push(i.name));
    const now = Date.now();
    const late = item('late');
    const early = item('early');
    q.schedule(early, now + 20);
    q.schedule(late, now + 200);
    q.schedule(late, now + 10); // earlier than anything: the Node timer is re-armed for it
    q.schedule(early, now + 60);
    await sleep(30);
    assert.deepEqual(fired, ['late']);
    await sleep(80);
    assert.deepEqual(fired, ['late', 'early']);
  });

  it('lets onDue schedule the same item again (a retransmission after a back-off)', async () => {
    let rounds = 0;
    const q: TimerQueue<Item> = new TimerQueue<Item>((i) => {
      rounds++;
      if (rounds < 3) q.schedule(i, Date.now() + 10);
    });
    q.schedule(item('x'), Date.now() + 10);
    await sleep(150);
    assert.equal(rounds, 3);
    assert.equal(q.size, 0);
  });

  it('clear drops every item and its timer', async () => {
    const fired: string[] = [];
    const q = new TimerQueue<Item>((i) => fired.push(i.name));
    const a = item('a');
    q.schedule(a, Date.now() + 10);
    q.clear();
    assert.equal(a.slot, -1);
    await sleep(40);
    assert.deepEqual(fired, []);
  });
});
