import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { operationId } from '../../src/eim/operation-id.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('operation ids (UUID version 7)', () => {
  it('are version-7 RFC 9562 UUIDs whose first 48 bits are the creation time in ms', () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0, 123);
    const id = operationId(now);
    assert.match(id, UUID_V7);
    assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), now);
  });

  it('sort by creation time, so the indexes on them grow at their end', () => {
    const t0 = Date.now();
    const ids = Array.from({ length: 500 }, (_, i) => operationId(t0 + i));
    assert.deepEqual([...ids].sort(), ids);
  });

  it('are unique within one millisecond (74 random bits)', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => operationId(1_700_000_000_000)));
    assert.equal(ids.size, 10_000);
  });
});
