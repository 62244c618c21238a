/**
 * How the 3443 bridge uses State (/3443/0/0) before writing /3443/0/2 (shared/notes/lwm2m.md §1.4): a busy
 * State the device itself just reported is trusted (its ready notification kicks the write, no Read round
 * trip), and when that notification never comes (a lost non-confirmable one) State is read again once the
 * report is stale. The last block drives that freshness (2 s) with a ManualClock instead of waiting for it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EsimBridge, type EsipaPort } from '../../src/lwm2m/esim-bridge.js';
import type { DownlinkRequest } from '../../src/lwm2m/requests.js';
import type { Clock } from '../../src/scheduler/ports.js';
import { ManualClock } from '../../src/scheduler/clock.js';
import { nextEvent, startServer, until } from './harness.js';

const EID = '89049032123451234512345678901235';
const MESSAGE = Uint8Array.of(0xbf, 0x4e, 0x03, 0xbf, 0x53, 0x00);

const esipa: EsipaPort = { handleIpaMessage: async () => undefined };

async function setup(confirmableNotifications: boolean, clock?: Clock) {
  const h = await startServer({ awakeTimeMs: 93_000 });
  const bridge = new EsimBridge({ server: h.server, esipa, ...(clock === undefined ? {} : { clock }) });
  // Every downlink the bridge asks for, to see whether State was read.
  const requests: string[] = [];
  const send = h.server.send.bind(h.server);
  h.server.send = ((endpoint: string, request: DownlinkRequest, options?: object) => {
    requests.push(`${request.kind} ${request.path}`);
    return send(endpoint, request, options);
  }) as typeof h.server.send;
  const client = await h.client({ endpoint: 'ipa-s', eid: EID, confirmableNotifications });
  await client.register();
  await until(() => client.observedPaths().length === 2, 3000, 'observations of State and IPA message');
  const busy = nextEvent(h.server, 'notification', (n: { path: string }) => n.path === '/3443/0/0');
  await client.setValue('/3443/0/0', 1);
  await busy;
  return {
    h, bridge, client, requests,
    async close() {
      bridge.close();
      await h.close();
    },
  };
}

describe('object 3443 bridge: State before a write', () => {
  it('waits for the ready notification instead of reading State while a busy report is fresh', async () => {
    const { bridge, client, requests, close } = await setup(false);
    try {
      let settled = false;
      const delivery = bridge.deliver(EID, MESSAGE).finally(() => { settled = true; });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(settled, false, 'nothing is written while the device is busy');
      assert.equal(client.eimMessages.length, 0);
      await client.setValue('/3443/0/0', 0);
      assert.deepEqual(await delivery, { delivered: true });
      assert.deepEqual([...client.eimMessages[0]!], [...MESSAGE]);
      assert.equal(requests.filter((r) => r === 'read /3443/0/0').length, 0, 'no Read of State');
    } finally {
      await close();
    }
  });

  it('reads State again once the busy report is stale, when the ready notification was lost', { timeout: 15_000 }, async () => {
    const { bridge, client, requests, close } = await setup(false);
    try {
      const delivery = bridge.deliver(EID, MESSAGE);
      // The device becomes ready, but its non-confirmable notification is lost (radio off while it leaves).
      client.sleep();
      await client.setValue('/3443/0/0', 0);
      await client.update(); // radio on again; nothing tells the server about State
      const outcome = await Promise.race([delivery, new Promise((r) => setTimeout(() => r('timed out'), 8000))]);
      assert.deepEqual(outcome, { delivered: true });
      assert.equal(requests.filter((r) => r === 'read /3443/0/0').length, 1, 'one Read of State after the report went stale');
      assert.deepEqual([...client.eimMessages[0]!], [...MESSAGE]);
    } finally {
      await close();
    }
  });
});

describe('object 3443 bridge: freshness of a State report, on a manual clock', () => {
  const T0 = 1_700_000_000_000;
  const stateReads = (requests: string[]): number => requests.filter((r) => r === 'read /3443/0/0').length;
  /** Real time in which a Read that must NOT happen would have shown up; the manual clock stands still. */
  const quiet = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('trusts a busy report until the clock has moved 2 s past it, then reads State once and writes', { timeout: 10_000 }, async () => {
    const clock = new ManualClock(T0);
    const { bridge, client, requests, close } = await setup(false, clock);
    try {
      let settled = false;
      const delivery = bridge.deliver(EID, MESSAGE).finally(() => { settled = true; });
      // Ready, but the non-confirmable notification is lost: only a Read can learn it.
      client.sleep();
      await client.setValue('/3443/0/0', 0);
      await client.update();
      await quiet(250);
      assert.equal(stateReads(requests), 0, 'a busy report of this instant is trusted');
      assert.equal(settled, false);

      clock.advance(1999);
      // More wall time than the 2 s freshness plus one sweep period: only the manual clock may age the report.
      await quiet(2500);
      assert.equal(stateReads(requests), 0, 'still trusted 1999 ms (clock) after the report');
      assert.equal(settled, false);
      assert.equal(client.eimMessages.length, 0);

      clock.advance(1);
      const outcome = await Promise.race([delivery, new Promise((r) => setTimeout(() => r('timed out'), 3000))]);
      assert.deepEqual(outcome, { delivered: true });
      assert.equal(stateReads(requests), 1, 'one Read of State once the report is 2 s old');
      assert.deepEqual([...client.eimMessages[0]!], [...MESSAGE]);
      assert.equal(clock.pendingTimers, 0, 'the re-read sweep stops when nothing waits');
    } finally {
      await close();
    }
  });

  it('reads State before the first write when the busy report is already 2 s old on the clock', { timeout: 10_000 }, async () => {
    const clock = new ManualClock(T0);
    const { bridge, client, requests, close } = await setup(false, clock);
    try {
      client.sleep();
      await client.setValue('/3443/0/0', 0);
      await client.update();
      clock.advance(2000); // no sweep is armed yet: only the check in the write path sees the age
      const delivery = bridge.deliver(EID, MESSAGE);
      // The write path asks for the Read at once (it runs up to the Read synchronously), not on a later sweep.
      assert.equal(stateReads(requests), 1, 'State read at once');
      const outcome = await Promise.race([delivery, new Promise((r) => setTimeout(() => r('timed out'), 3000))]);
      assert.deepEqual(outcome, { delivered: true });
      assert.equal(stateReads(requests), 1);
      assert.equal(clock.pendingTimers, 0, 'a stale report arms no sweep');
    } finally {
      await close();
    }
  });
});
