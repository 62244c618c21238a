/**
 * The sleeping fleet (issue 4 "Done when"): 200 simulated devices in queue mode against a real LwM2M server
 * on 127.0.0.1 register, sleep (PSM), wake with a Registration Update, answer a Write of /3443/0/2 inside
 * their window and deliver the IPA's answer by Send, all within bounded time; plus the timer and schedules.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { TransferEimPackageRequest } from '../../src/asn1/esipa.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { Lwm2mServer } from '../../src/lwm2m/server.js';
import type { Registration } from '../../src/lwm2m/registration.js';
import type { SendEvent } from '../../src/lwm2m/requests.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { Fleet } from '../../src/sim/fleet.js';
import { createTestPki } from '../../src/sim/pki.js';
import { alwaysOn, edrx, FleetTimer, parseSchedule, psm } from '../../src/sim/sleep.js';

const FAST_COAP = { ackTimeoutMs: 150, maxRetransmit: 2, exchangeTimeoutMs: 3000 } as const;

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('FleetTimer and schedules', () => {
  it('runs many deadlines in time order on one timer and skips cancelled ones', async () => {
    // The clock is read once for the whole schedule: on a loaded machine, the real clock moving between two
    // after() calls would reorder deadlines 2 ms apart, which is right for the timer but not what is tested.
    let frozen: number | undefined = Date.now();
    const timer = new FleetTimer(() => frozen ?? Date.now());
    const ran: number[] = [];
    for (let i = 0; i < 50; i++) timer.after((50 - i) * 2, () => ran.push(50 - i));
    const cancelled = timer.after(10, () => ran.push(-1));
    cancelled.cancel();
    frozen = undefined;
    assert.equal(timer.size, 50);
    await until(() => ran.length === 50, 2000, 'all deadlines');
    assert.deepEqual(ran, Array.from({ length: 50 }, (_, i) => i + 1));
    assert.equal(timer.size, 0);
    timer.close();
  });

  it('parses PSM, eDRX and always-on schedules and refuses windows longer than the period', () => {
    assert.deepEqual(parseSchedule('psm:10m'), { kind: 'psm', periodMs: 600_000, awakeMs: 93_000, jitter: 0.1 });
    assert.deepEqual(parseSchedule('psm:60s:5s', 0), { kind: 'psm', periodMs: 60_000, awakeMs: 5_000, jitter: 0 });
    assert.equal(parseSchedule('edrx:81.92s:2.56s').kind, 'edrx');
    assert.equal(parseSchedule('on').kind, 'always-on');
    assert.throws(() => parseSchedule('psm:10s:20s'), /shorter than the PSM period/);
    assert.throws(() => parseSchedule('sleepy'), /expected psm/);
  });

  it('refuses a deadline that is not a finite number of milliseconds instead of never firing', () => {
    const timer = new FleetTimer();
    try {
      assert.throws(() => timer.after(Infinity, () => undefined), /finite/);
      assert.throws(() => timer.after(Number.NaN, () => undefined), /finite/);
      assert.equal(timer.size, 0);
    } finally {
      timer.close();
    }
  });
});

describe('a fleet of 200 simulated devices (issue 4)', () => {
  it('every device registers, sleeps, wakes with an Update, answers a Write in its window and Sends the answer', { timeout: 90_000 }, async () => {
    const N = 200;
    const eids = Array.from({ length: N }, (_, i) => eidWithCheckDigits(`89049032000000000000${String(i).padStart(10, '0')}`));
    const pki = createTestPki({ eids });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const server = new Lwm2mServer({ socket, coap: FAST_COAP, requestTimeoutMs: 3000, awakeTimeMs: 500 });
    const slept = new Set<string>();
    const updated = new Set<string>();
    const written = new Map<string, string>();
    const sent = new Set<string>();
    server.on('sleeping', (endpoint: string) => slept.add(endpoint));
    const ack = TransferEimPackageRequest.encode({ eimAcknowledgements: [] });
    server.on('updated', (r: Registration) => {
      // Only a device that slept before counts: the Update must be its wake-up.
      if (!slept.has(r.endpoint) || updated.has(r.endpoint)) return;
      updated.add(r.endpoint);
      void server.send(r.endpoint, { kind: 'write', path: '/3443/0/2', value: ack }).then(
        (answer) => written.set(r.endpoint, answer.code),
        (e: Error) => written.set(r.endpoint, e.message),
      );
    });
    server.on('send', (s: SendEvent) => {
      const v = s.nodes.find((n) => n.path === '/3443/0/3')?.value;
      if (v instanceof Uint8Array && v[0] === 0xbf && v[1] === 0x4e) sent.add(s.endpoint);
    });
    const fleet = new Fleet({
      server: { address: '127.0.0.1', port: socket.address().port },
      devices: eids.map((eid, i) => ({ endpoint: `sim-${i}`, eid, euicc: () => VirtualEuicc.fromPki(pki, eid) })),
      schedule: psm({ periodMs: 3000, awakeMs: 900, jitter: 0.2 }),
      natTimeoutMs: 1500,
      localAddress: '127.0.0.1',
      coap: FAST_COAP,
      registerConcurrency: 50,
    });
    try {
      const t0 = Date.now();
      fleet.start();
      await fleet.whenRegistered(20_000);
      assert.equal(server.registrations.size, N);
      await until(() => written.size === N && sent.size === N, 45_000, `writes answered (${written.size}) and Sends (${sent.size})`);
      assert.deepEqual([...new Set(written.values())], ['2.04']);
      assert.equal(slept.size, N, 'every device was seen asleep');
      assert.ok(fleet.stats.wakes >= N);
      assert.ok(fleet.stats.rebinds > 0, 'sleeps past the NAT timeout come back from new ports');
      assert.equal(fleet.stats.errors, 0, fleet.stats.lastErrors.join('; '));
      assert.ok(Date.now() - t0 < 60_000);
      // Lazy state: only the devices that got an eIM message built their card.
      assert.equal(fleet.devices().filter((d) => d.cardLoaded).length, N);
    } finally {
      await fleet.stop();
      server.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });

  it('eDRX devices register without queue mode and answer downlinks at their paging occasions', { timeout: 30_000 }, async () => {
    const eids = Array.from({ length: 10 }, (_, i) => eidWithCheckDigits(`89049032000000000000${String(i).padStart(10, '0')}`));
    const pki = createTestPki({ eids });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const server = new Lwm2mServer({ socket, coap: FAST_COAP, requestTimeoutMs: 4000 });
    const fleet = new Fleet({
      server: { address: '127.0.0.1', port: socket.address().port },
      devices: eids.map((eid, i) => ({ endpoint: `edrx-${i}`, eid, euicc: () => VirtualEuicc.fromPki(pki, eid) })),
      schedule: edrx({ cycleMs: 800, pagingWindowMs: 200, jitter: 0 }),
      localAddress: '127.0.0.1',
      coap: FAST_COAP,
    });
    try {
      fleet.start();
      await fleet.whenRegistered(10_000);
      await until(() => fleet.stats.awake < 10, 5000, 'devices idle between paging occasions');
      assert.ok(eids.every((_, i) => server.registrations.getByEndpoint(`edrx-${i}`)?.queueMode === false));
      const reads = await Promise.all(eids.map((_, i) => server.send(`edrx-${i}`, { kind: 'read', path: '/3443/0/1' })));
      assert.deepEqual(reads.map((r) => r.nodes[0]?.value), eids);
      assert.equal(fleet.stats.errors, 0, fleet.stats.lastErrors.join('; '));
    } finally {
      await fleet.stop();
      server.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });

  it('always-on devices stay awake and send a Registration Update every updateEveryMs from the same port', { timeout: 20_000 }, async () => {
    const eids = Array.from({ length: 3 }, (_, i) => eidWithCheckDigits(`89049032000000000000${String(i).padStart(10, '0')}`));
    const pki = createTestPki({ eids });
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const server = new Lwm2mServer({ socket, coap: FAST_COAP, requestTimeoutMs: 3000 });
    const updates = new Map<string, number>();
    const ports = new Map<string, Set<number>>();
    server.on('updated', (r: Registration) => updates.set(r.endpoint, (updates.get(r.endpoint) ?? 0) + 1));
    const rebound: string[] = [];
    const fleet = new Fleet({
      server: { address: '127.0.0.1', port: socket.address().port },
      devices: eids.map((eid, i) => ({ endpoint: `on-${i}`, eid, euicc: () => VirtualEuicc.fromPki(pki, eid) })),
      schedule: alwaysOn(250),
      // A NAT timeout shorter than the Update period: only a device that sleeps may lose its mapping.
      natTimeoutMs: 100,
      localAddress: '127.0.0.1',
      coap: FAST_COAP,
      onEvent: (e) => {
        if (e.type === 'rebound') rebound.push(e.endpoint);
      },
    });
    try {
      fleet.start();
      await fleet.whenRegistered(10_000);
      const watch = setInterval(() => {
        for (const d of fleet.devices()) {
          const port = d.link.localPort;
          if (port !== undefined) ports.set(d.endpoint, (ports.get(d.endpoint) ?? new Set()).add(port));
        }
      }, 20);
      try {
        await until(() => eids.every((_, i) => (updates.get(`on-${i}`) ?? 0) >= 3), 8000, `three Updates per device (${[...updates.values()].join(',')})`);
      } finally {
        clearInterval(watch);
      }
      assert.equal(fleet.stats.awake, eids.length, 'an always-on device is always reported awake');
      assert.ok(fleet.devices().every((d) => d.awake));
      assert.ok(fleet.stats.updates >= 3 * eids.length);
      assert.equal(fleet.stats.rebinds, 0);
      assert.deepEqual(rebound, [], 'no transport was dropped');
      assert.deepEqual([...ports.values()].map((p) => p.size), eids.map(() => 1), 'every Update left from the port of the Register');
      assert.equal(fleet.stats.errors, 0, fleet.stats.lastErrors.join('; '));
      // One Update per period, not a burst: 250 ms apart makes about four per device in a second.
      const elapsed = Date.now();
      const before = [...updates.values()].reduce((a, b) => a + b, 0);
      await new Promise((r) => setTimeout(r, 1000));
      const during = [...updates.values()].reduce((a, b) => a + b, 0) - before;
      assert.ok(during >= eids.length && during <= eids.length * 6, `${during} Updates in ${Date.now() - elapsed} ms`);
    } finally {
      await fleet.stop();
      server.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
  });
});
