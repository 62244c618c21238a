import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bytesEqual } from '../../src/asn1/hex.js';
import { encodeTlv } from '../../src/asn1/tlv.js';
import { pendingNotificationOf } from '../../src/esipa/download-notification-forwarder.js';
import type { NotificationRecord } from '../../src/store/records.js';
import { EID } from '../eim/harness.js';
import { downloadFixture } from './download-fixture.js';

const record = (seqNumber: number, payload: Uint8Array, notificationAddress: string, receivedAt: number): NotificationRecord => ({
  eid: EID,
  seqNumber,
  kind: 'other',
  notificationAddress,
  payload,
  receivedAt,
  forwardState: 'pending',
  forwardAttempts: 0,
  ackState: 'pending',
});

describe('notification outbox (ES9+ handleNotification)', () => {
  it('sends the PIR inside a stored ProfileDownloadTriggerResult, and other notifications as stored', () => {
    const pir = encodeTlv(0xbf37, [encodeTlv(0xbf27, Uint8Array.of(0x80, 0x01, 0x01)), encodeTlv(0x5f37, new Uint8Array(64))]);
    const trigger = encodeTlv(0xbf54, [encodeTlv(0x82, Uint8Array.of(1, 2)), pir]);
    assert.ok(bytesEqual(pendingNotificationOf(trigger)!, pir));
    const other = encodeTlv(0x30, Uint8Array.of(0xbf, 0x2f, 0x00));
    assert.ok(bytesEqual(pendingNotificationOf(other)!, other));
    assert.equal(pendingNotificationOf(Uint8Array.of(0xbf, 0x54, 0x05)), undefined);
  });

  it('forwards every due notification to its own address, marks unreachable ones for retry and unaddressable ones failed', async () => {
    const f = await downloadFixture();
    try {
      const now = f.h.clock.now;
      const a = encodeTlv(0x30, Uint8Array.of(0x04, 0x01, 0xaa));
      await f.h.store.commit((tx) => {
        tx.insertNotification(record(101, a, f.smdp.address, now));
        tx.insertNotification(record(102, a, '127.0.0.1:1', now));
        tx.insertNotification(record(103, Uint8Array.of(0x01), f.smdp.address, now));
      });
      assert.equal(await f.forwarder.forwardDue(), 1);
      const byseq = new Map((await f.h.store.listNotifications(EID)).map((n) => [n.seqNumber, n]));
      assert.equal(byseq.get(101)?.forwardState, 'forwarded');
      assert.equal(byseq.get(102)?.forwardState, 'pending');
      assert.equal(byseq.get(102)?.forwardAttempts, 1);
      assert.equal(byseq.get(102)?.nextForwardAt, now + 5000);
      assert.equal(byseq.get(103)?.forwardState, 'failed');
      assert.equal(f.smdp.notifications.length, 1);
      assert.ok(bytesEqual(f.smdp.notifications[0]!.pendingNotification, a));
    } finally {
      await f.close();
    }
  });
});
