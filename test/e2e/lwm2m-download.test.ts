/**
 * Profile download end to end over LwM2M on coaps:// with PSK (SGP.32 v1.2 §3.2.3; issue 7 "Done when"):
 * the eIM (EimCore + EsipaHandler + Es9PlusDownloadRelay + Es9PlusClient + NotificationForwarder), a
 * TestSmdp on https://127.0.0.1, the Lwm2mServer with the object 3443 EsimBridge, and simulated devices.
 * Indirect: the IPA polls over /3443/0/3, gets the ProfileDownloadTriggerRequest in /3443/0/2, and carries
 * every ES9+' relay message over object 3443; the ~20 KB GetBoundProfilePackageResponse is a Block1 Write,
 * measured here. Direct: the IPA reports a ProfileDownloadTriggerResult with the eUICC-signed PIR.
 * Failure paths end the operation in a clear state with the spec's reason.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bytesEqual } from '../../src/asn1/hex.js';
import { DEFAULT_AWAKE_TIME_MS } from '../../src/lwm2m/presence.js';
import { EIDS } from '../eim/harness.js';
import type { OperationRecord } from '../../src/store/records.js';
import type { IndirectDownloadResult } from '../../src/sim/ipa-download.js';
import { BIG, type DownloadStack, SMALL, startDownloadStack, until } from './lwm2m-download-stack.js';
import type { IpaDownloadDevice } from './lwm2m-ipa-device.js';

const [EID_A, EID_B] = EIDS as [string, string, string];
/** GetBoundProfilePackageRequestEsipa and GetBoundProfilePackageResponseEsipa share [58] (BF3A). */
const TAG_GBPP = 0xbf3a;
const isTag = (der: Uint8Array, tag: number): boolean => der[0] === tag >> 8 && der[1] === (tag & 0xff);

describe('profile download over LwM2M object 3443 on coaps:// (e2e)', () => {
  it('indirect: the IPA polls, relays the whole SGP.22 download through the eIM over 3443, the ~20 KB BPP arrives by Block1 within one awake window, and the profile, inventory, operation and SM-DP+ notification all agree', { timeout: 60_000 }, async (t) => {
    const stack = await startDownloadStack(); // the server's default 93 s awake window
    try {
      const device = await stack.ipaDevice(EID_A);
      // Server side: from the eIM having the SM-DP+'s answer (ESipa handled the request) to the Write's 2.04.
      const marks: { answered?: number; delivered?: number } = {};
      stack.handled.on('handled', (_eid: string, message: Uint8Array) => {
        if (isTag(message, TAG_GBPP)) marks.answered = performance.now();
      });
      stack.bridge.on('delivered', (_eid: string, message: Uint8Array) => {
        if (isTag(message, TAG_GBPP)) marks.delivered = performance.now();
      });
      await device.register();
      assert.ok(device.client.observedPaths().includes('/3443/0/3'), 'the server observes the IPA message resource');
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$${BIG.matchingId}` });

      const started = performance.now();
      const outcome = await device.poll();
      const wholeSeconds = (performance.now() - started) / 1000;
      assert.equal(outcome.kind, 'download');
      const r = outcome.kind === 'download' ? outcome.result : undefined;
      assert.equal(r?.outcome, 'installed', `download result ${JSON.stringify(r)}`);
      assert.ok(r?.outcome === 'installed' && r.bppSize > 20_000, 'a BPP of about 20 KB travelled');

      // End state: card, inventory, operation, SM-DP+.
      assert.ok(device.card.profile(BIG.iccid) !== undefined, 'the profile is installed on the virtual eUICC');
      await until(async () => (await stack.eim.store.getOperation(op.id))?.state === 'done', 5000, 'operation done');
      const record = await stack.eim.store.getOperation(op.id);
      assert.equal((record?.result as { iccid?: string }).iccid, BIG.iccid);
      const profiles = await stack.eim.store.listProfiles(EID_A);
      assert.ok(profiles.some((p) => p.iccid === BIG.iccid), 'inventory updated');
      await stack.forwarder.idle();
      assert.equal(stack.smdp.notifications.length, 1, 'the SM-DP+ holds the installation notification');
      assert.ok(r?.outcome === 'installed' && bytesEqual(stack.smdp.notifications[0]!.pendingNotification, r.pir), 'the PIR reached the SM-DP+ byte-exact');
      assert.deepEqual(stack.smdp.calls, ['initiateAuthentication', 'authenticateClient', 'getBoundProfilePackage', 'handleNotification']);
      // Every relay step went over object 3443: poll + 3 relay requests + the PIR out; package + 3 answers in.
      assert.deepEqual(device.sent.map((m) => Buffer.from(m.subarray(0, 2)).toString('hex')), ['bf4f', 'bf39', 'bf3b', 'bf3a', 'bf3d']);
      assert.deepEqual(device.received.map((m) => Buffer.from(m.subarray(0, 2)).toString('hex')), ['bf4f', 'bf39', 'bf3b', 'bf3a']);

      // Measurement: the GetBoundProfilePackageResponse Write to /3443/0/2.
      const gbpp = device.received.find((m) => isTag(m, TAG_GBPP))!;
      const transfer = device.block1Transfers.find((x) => x.bytes === gbpp.length);
      assert.ok(transfer !== undefined, `a Block1 transfer of ${gbpp.length} bytes (seen: ${JSON.stringify(device.block1Transfers)})`);
      assert.ok(transfer.endedAt !== undefined, 'the last block was acknowledged');
      const seconds = (transfer.endedAt - transfer.startedAt) / 1000;
      assert.equal(transfer.blocks, Math.ceil(gbpp.length / transfer.blockSize), 'every block once, none lost or repeated');
      t.diagnostic(`GetBoundProfilePackageResponse ${gbpp.length} bytes written to /3443/0/2 over coaps:// on 127.0.0.1: ${transfer.blocks} Block1 blocks of ${transfer.blockSize} bytes in ${seconds.toFixed(3)} s (awake window ${DEFAULT_AWAKE_TIME_MS / 1000} s)`);
      assert.ok(marks.answered !== undefined && marks.delivered !== undefined, 'the server saw the request handled and the Write delivered');
      const serverSeconds = (marks.delivered - marks.answered) / 1000;
      t.diagnostic(`server side, from the relay's answer ready to the device's 2.04 on the last block: ${serverSeconds.toFixed(3)} s`);
      t.diagnostic(`whole indirect download over 3443 (poll, 3 relay round trips via the SM-DP+, PIR): ${wholeSeconds.toFixed(3)} s`);
      assert.ok(seconds < DEFAULT_AWAKE_TIME_MS / 1000 / 10, `well inside the awake window (${seconds} s)`);
      assert.ok(serverSeconds < DEFAULT_AWAKE_TIME_MS / 1000 / 10, `well inside the awake window on the server too (${serverSeconds} s)`);
      assert.ok(wholeSeconds < DEFAULT_AWAKE_TIME_MS / 1000, `the whole download fits one awake window (${wholeSeconds} s)`);

      // Nothing stuck: the next poll hears there is nothing more.
      assert.deepEqual(await device.poll(), { kind: 'nothing', error: 'noEimPackageAvailable' });
    } finally {
      await stack.close();
    }
  });
  it('indirect by injection: the trigger is written to /3443/0/2 in a TransferEimPackageRequest, the IPA acknowledges eimPackageReceived and completes the download through the relay', { timeout: 30_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      const device = await stack.ipaDevice(EID_B);
      await device.register();
      const op = await stack.eim.core.submit(EID_B, { kind: 'download', activationCode: `1$${stack.smdp.address}$${SMALL.matchingId}` });
      // The scheduler's part in injection mode: take the package and write it while the device is awake.
      const der = await stack.esipa.nextTransfer(EID_B);
      assert.ok(der !== undefined && isTag(der, 0xbf4e), 'a TransferEimPackageRequest');
      const [delivery, outcome] = await Promise.all([stack.bridge.deliver(EID_B, der), device.takeInjected()]);
      assert.deepEqual(delivery, { delivered: true });
      assert.equal(outcome.kind === 'download' ? outcome.result.outcome : outcome.kind, 'installed');
      assert.equal(Buffer.from(device.sent[0]!).toString('hex'), 'bf4e020500', 'eimPackageReceived first');
      assert.ok(device.card.profile(SMALL.iccid) !== undefined);
      await until(async () => (await stack.eim.store.getOperation(op.id))?.state === 'done', 5000, 'operation done');
      assert.ok((await stack.eim.store.listProfiles(EID_B)).some((p) => p.iccid === SMALL.iccid), 'inventory updated');
      await stack.forwarder.idle();
      assert.equal(stack.smdp.notifications.length, 1, 'the SM-DP+ holds the installation notification');
      // The notification is stored and forwarded: the eIM now acknowledges it to the eUICC, which forgets it.
      const installSeq = device.card.retrieveNotificationsList().map((n) => n.seqNumber);
      assert.equal(installSeq.length, 1, 'the card holds the install notification until acknowledged');
      const acks = await stack.esipa.nextTransfer(EID_B);
      assert.ok(acks !== undefined);
      const [ackDelivery, ackOutcome] = await Promise.all([stack.bridge.deliver(EID_B, acks), device.takeInjected()]);
      assert.deepEqual(ackDelivery, { delivered: true });
      assert.equal(ackOutcome.kind, 'package');
      assert.deepEqual(device.card.retrieveNotificationsList(), [], 'acknowledged and removed on the card');
      assert.equal(await stack.esipa.nextTransfer(EID_B), undefined, 'nothing more to inject');
    } finally {
      await stack.close();
    }
  });

  it('direct: a SimDevice whose IPA downloads by itself reports a ProfileDownloadTriggerResult with the eUICC-signed PIR over 3443, and the operation ends done with the inventory updated', { timeout: 30_000 }, async () => {
    const stack = await startDownloadStack({ awakeTimeMs: 2000 });
    try {
      const device = await stack.simDevice(EID_B, { mode: 'retrieval', delivery: 'notify' });
      const op = await stack.eim.core.submit(EID_B, { kind: 'download', activationCode: `1$${stack.smdp.address}$${SMALL.matchingId}` });
      const before = new Set((await device.ipa()).euicc.state.profiles.map((p) => p.iccid));
      await device.register();
      await until(async () => (await stack.eim.store.getOperation(op.id))?.state === 'done', 10_000, 'operation done');
      await device.idle();
      const card = (await device.ipa()).euicc;
      const installed = card.state.profiles.filter((p) => !before.has(p.iccid));
      assert.equal(installed.length, 1, 'one new profile on the virtual eUICC');
      const iccid = installed[0]!.iccid;
      const result = (await stack.eim.store.getOperation(op.id))?.result;
      assert.ok(JSON.stringify(result).includes(`"iccid":"${iccid}"`), `the operation result carries the PIR for ${iccid}: ${JSON.stringify(result)}`);
      assert.ok(JSON.stringify(result).includes('"profileInstallationResult"'), 'a ProfileInstallationResult, not an error');
      const profiles = await stack.eim.store.listProfiles(EID_B);
      assert.ok(profiles.some((p) => p.iccid === iccid), 'inventory updated');
      assert.equal(device.counters.packagesExecuted, 1);
      assert.ok(device.counters.resultsDelivered >= 1);
      assert.equal(device.counters.errors, 0);
      assert.deepEqual(stack.smdp.calls, [], 'a direct download does not go through the eIM relay');
    } finally {
      await stack.close();
    }
  });
});

describe('profile download over LwM2M: failure paths end in a clear state with the spec reason (e2e)', () => {
  /** Polls once, expects a download, and returns its result. */
  const download = async (device: IpaDownloadDevice, options: Parameters<IpaDownloadDevice['poll']>[0] = {}): Promise<IndirectDownloadResult> => {
    const outcome = await device.poll(options);
    assert.equal(outcome.kind, 'download', `poll gave ${JSON.stringify(outcome)}`);
    return (outcome as { result: IndirectDownloadResult }).result;
  };
  const settled = async (stack: DownloadStack, id: string): Promise<OperationRecord> => {
    await until(async () => !['queued', 'sent'].includes((await stack.eim.store.getOperation(id))?.state ?? ''), 5000, 'operation settled');
    return (await stack.eim.store.getOperation(id))!;
  };
  const nothingLeft = async (device: IpaDownloadDevice): Promise<void> => {
    assert.deepEqual(await device.poll(), { kind: 'nothing', error: 'noEimPackageAvailable' }, 'no stuck operation: the next poll finds nothing');
  };

  it('wrong matching ID: the SM-DP+ refuses it, the IPA hears matchingIdRefused over 3443 and the operation ends failed with that reason', { timeout: 30_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      const device = await stack.ipaDevice(EID_A);
      await device.register();
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$NO-SUCH-ID` });
      const count = device.card.state.profiles.length;
      assert.deepEqual(await download(device), { outcome: 'error', step: 'authenticateClient', error: 'matchingIdRefused' });
      const record = await settled(stack, op.id);
      assert.equal(record.state, 'failed');
      assert.equal(record.errorCode, 'matchingIdRefused');
      assert.equal(device.card.state.profiles.length, count, 'nothing installed');
      await nothingLeft(device);
    } finally {
      await stack.close();
    }
  });

  it('SM-DP+ down: the IPA hears undefinedError at InitiateAuthentication and the operation ends failed with a clear message', { timeout: 30_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      const device = await stack.ipaDevice(EID_A);
      await device.register();
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$${BIG.matchingId}` });
      await stack.smdp.stop();
      assert.deepEqual(await download(device), { outcome: 'error', step: 'initiateAuthentication', error: 'undefinedError' });
      const record = await settled(stack, op.id);
      assert.equal(record.state, 'failed');
      assert.equal(record.errorCode, 'undefinedError');
      assert.match(record.errorMessage ?? '', /unreachable.*ECONNREFUSED/);
      await nothingLeft(device);
    } finally {
      await stack.close();
    }
  });

  it('SM-DP+ down mid-download: the IPA hears undefinedError at GetBoundProfilePackage over 3443, nothing is installed and the operation ends failed', { timeout: 30_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      const device = await stack.ipaDevice(EID_A);
      await device.register();
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$${BIG.matchingId}` });
      const count = device.card.state.profiles.length;
      const result = await download(device, { hooks: { before: async (der) => { if (isTag(der, TAG_GBPP)) await stack.smdp.stop(); } } });
      assert.deepEqual(result, { outcome: 'error', step: 'getBoundProfilePackage', error: 'undefinedError' });
      assert.equal(device.card.state.profiles.length, count, 'nothing installed');
      const record = await settled(stack, op.id);
      assert.equal(record.state, 'failed');
      assert.equal(record.errorCode, 'undefinedError');
      assert.match(record.errorMessage ?? '', /getBoundProfilePackage: SM-DP\+ unreachable/);
      await nothingLeft(device);
    } finally {
      await stack.close();
    }
  });

  it('device sleeps after asking for the BPP: the Write to /3443/0/2 is lost, the eIM keeps the answer, and the next wake delivers it by Block1 and completes the download', { timeout: 60_000 }, async (t) => {
    // The window must outlast the 21-block transfer after the wake even on a loaded CI machine (here ~20 ms).
    const stack = await startDownloadStack({ awakeTimeMs: 2500, requestTimeoutMs: 2000 });
    try {
      const device = await stack.ipaDevice(EID_A);
      await device.register();
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$${BIG.matchingId}` });
      let slept = false;
      const result = await download(device, {
        hooks: {
          async after(der) {
            if (!isTag(der, TAG_GBPP)) return;
            device.sleep(); // PSM right after the request went out: the BPP Write finds the radio off
            slept = true;
            await until(() => !stack.server.presence.isAwake(device.endpoint), 10_000, 'the server sees the device asleep');
            // The server re-queues a timed-out downlink of a queue-mode device for its next awake window.
            await until(() => stack.server.pendingRequests(device.endpoint) >= 1, 10_000, 'the BPP Write queued for the next window');
            assert.equal(device.block1Transfers.length, 0, 'no block reached the sleeping device');
            assert.equal((await stack.eim.store.getOperation(op.id))?.state, 'sent', 'still in flight while the device sleeps');
            await device.wake();
          },
        },
      });
      assert.ok(slept);
      assert.equal(result.outcome, 'installed', `download ended ${JSON.stringify(result)}; pending downlinks ${stack.server.pendingRequests(device.endpoint)}, awake ${stack.server.presence.isAwake(device.endpoint)}`);
      assert.ok(device.card.profile(BIG.iccid) !== undefined);
      assert.equal((await settled(stack, op.id)).state, 'done');
      const transfer = device.block1Transfers.at(-1)!;
      t.diagnostic(`after the wake: ${transfer.blocks} Block1 blocks in ${((transfer.endedAt! - transfer.startedAt) / 1000).toFixed(3)} s`);
      await stack.forwarder.idle();
      assert.equal(stack.smdp.notifications.length, 1);
      await nothingLeft(device);
    } finally {
      await stack.close();
    }
  });

  it('device sleeps before asking for the BPP: the operation stays in flight, the next wake re-issues the same trigger and the download completes', { timeout: 60_000 }, async () => {
    const stack = await startDownloadStack({ awakeTimeMs: 1000 });
    try {
      const device = await stack.ipaDevice(EID_A);
      await device.register();
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$${BIG.matchingId}` });
      const first = await download(device, { hooks: { before: (der) => (isTag(der, TAG_GBPP) ? 'drop' : undefined) } });
      assert.deepEqual(first, { outcome: 'error', step: 'getBoundProfilePackage', error: 'no answer' });
      device.sleep();
      await until(() => !stack.server.presence.isAwake(device.endpoint), 10_000, 'the server sees the device asleep');
      assert.equal((await stack.eim.store.getOperation(op.id))?.state, 'sent', 'in flight, not stuck');
      await device.wake();
      assert.equal((await download(device)).outcome, 'installed');
      const triggers = device.received.filter((m) => isTag(m, 0xbf4f));
      assert.equal(triggers.length, 2);
      assert.ok(bytesEqual(triggers[0]!, triggers[1]!), 'the same trigger, the same operation');
      assert.equal((await settled(stack, op.id)).state, 'done');
      assert.ok(device.card.profile(BIG.iccid) !== undefined);
      await nothingLeft(device);
    } finally {
      await stack.close();
    }
  });

  it('cancel by the end user: the IPA relays CancelSession over 3443, the SM-DP+ cancels and the operation ends failed with endUserRejection', { timeout: 30_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      const device = await stack.ipaDevice(EID_A);
      await device.register();
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$${SMALL.matchingId}` });
      assert.deepEqual(await download(device, { download: { cancelWith: 'endUserRejection' } }), { outcome: 'cancelled', answer: 'cancelSessionOk' });
      assert.equal(stack.smdp.cancelled.length, 1);
      assert.equal(stack.smdp.cancelled[0]!.reason, 'endUserRejection');
      const record = await settled(stack, op.id);
      assert.equal(record.state, 'failed');
      assert.equal(record.errorCode, 'endUserRejection');
      assert.equal(device.card.profile(SMALL.iccid), undefined);
      await nothingLeft(device);
    } finally {
      await stack.close();
    }
  });

  it('cancel by the operator while queued: the operation ends cancelled, the device hears nothing to do and the SM-DP+ is never called', { timeout: 30_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      const device = await stack.ipaDevice(EID_A);
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$${SMALL.matchingId}` });
      assert.equal((await stack.eim.core.cancel(op.id)).state, 'cancelled');
      await device.register();
      await nothingLeft(device);
      assert.equal((await stack.eim.store.getOperation(op.id))?.state, 'cancelled');
      assert.deepEqual(stack.smdp.calls, []);
    } finally {
      await stack.close();
    }
  });

  it('corrupted BPP: the eUICC refuses it, its failed PIR reaches the eIM over 3443 and the SM-DP+, and the operation ends failed with scp03tSecurityError', { timeout: 30_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      stack.smdp.corruptBpp = true;
      const device = await stack.ipaDevice(EID_A);
      await device.register();
      const op = await stack.eim.core.submit(EID_A, { kind: 'download', activationCode: `1$${stack.smdp.address}$${BIG.matchingId}` });
      const count = device.card.state.profiles.length;
      assert.equal((await download(device)).outcome, 'install-failed');
      assert.equal(device.card.state.profiles.length, count, 'nothing installed');
      const record = await settled(stack, op.id);
      assert.equal(record.state, 'failed');
      assert.equal(record.errorCode, 'scp03tSecurityError');
      await stack.forwarder.idle();
      assert.equal(stack.smdp.notifications.length, 1, 'the failed PIR reaches the SM-DP+');
      await nothingLeft(device);
    } finally {
      await stack.close();
    }
  });
});

describe('a retransmitted IPA message over object 3443 reaches the eIM once', () => {
  // With a 1 ms ACK timeout the device retransmits before the server's ACK arrives: the same CON message twice.
  const HASTY = { ackTimeoutMs: 1, maxRetransmit: 12, exchangeTimeoutMs: 10_000 } as const;
  const countPolls = (stack: DownloadStack): { n: number } => {
    const c = { n: 0 };
    stack.handled.on('handled', (_eid: string, m: Uint8Array) => {
      if (isTag(m, 0xbf4f)) c.n++;
    });
    return c;
  };

  it('a Send (POST /dp) retransmitted with the same message ID is handled once', { timeout: 20_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      const device = await stack.ipaDevice(EID_A, { delivery: 'send', coap: HASTY });
      await device.register();
      const polls = countPolls(stack);
      await device.publish(device.ipa.pollRequest());
      await until(() => polls.n >= 1, 5000, 'the poll handled');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(polls.n, 1);
    } finally {
      await stack.close();
    }
  });

  it('a confirmable notification of /3443/0/3 retransmitted with the same message ID is handled once', { timeout: 20_000 }, async () => {
    const stack = await startDownloadStack();
    try {
      const device = await stack.ipaDevice(EID_A, { delivery: 'notify', coap: HASTY });
      await device.register();
      assert.ok(device.client.observedPaths().includes('/3443/0/3'));
      const polls = countPolls(stack);
      await device.publish(device.ipa.pollRequest());
      await until(() => polls.n >= 1, 5000, 'the poll handled');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(polls.n, 1);
    } finally {
      await stack.close();
    }
  });
});
