import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { parseCsv } from '../../src/api/csv.js';
import { STATUS_OF_CODE, errorReply } from '../../src/api/errors.js';
import { eventTypeMatches } from '../../src/api/events.js';
import { TokenBucketLimiter } from '../../src/api/rate-limit.js';
import { roleAllows } from '../../src/api/tokens.js';
import { ERROR_CODES, EimError, InvalidArgumentError } from '../../src/errors.js';
import { ConflictError } from '../../src/store/errors.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { SqliteApiStore } from '../../src/store/sqlite/sqlite-api-store.js';
import { apiHarness } from './harness.js';

describe('error replies', () => {
  it('maps every EimError code to a status, client errors to 4xx', () => {
    for (const code of ERROR_CODES) assert.ok(STATUS_OF_CODE[code] >= 400 && STATUS_OF_CODE[code] < 600, code);
    assert.equal(errorReply(new InvalidArgumentError('iccid', 'bad')).status, 400);
    assert.deepEqual(errorReply(new InvalidArgumentError('iccid', 'bad')).body, { error: 'EIM_ERR_INVALID_ARGUMENT', message: 'iccid: bad', details: { argument: 'iccid' } });
    assert.equal(errorReply(new ConflictError('x')).status, 409);
    assert.equal(errorReply(new EimError('EIM_ERR_NOT_FOUND', 'x')).status, 404);
  });

  it('answers an unexpected exception with 500 and a generic message, logging the stack', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) }));
    const h = await apiHarness({ logger });
    try {
      h.app.get('/v1/boom', async () => {
        throw new TypeError('secret internal detail');
      });
      const r = await h.call('GET', '/v1/boom', { role: 'read' });
      assert.equal(r.statusCode, 500);
      assert.deepEqual(r.json(), { error: 'EIM_ERR_INTERNAL', message: 'internal error' });
      assert.ok(lines.join('').includes('secret internal detail'), 'the cause is logged');
      assert.ok(lines.join('').includes('"stack"'), 'with its stack');
    } finally {
      await h.close();
    }
  });
});

describe('CSV reader', () => {
  it('reads a header, quoted fields with commas, quotes and line breaks, CRLF, and skips empty lines', () => {
    const rows = parseCsv('\ufeffa,b,c\r\n1,"x, ""y""",\r\n\r\n2,"multi\nline",z\n');
    assert.deepEqual(rows, [
      { line: 2, fields: { a: '1', b: 'x, "y"' } },
      { line: 4, fields: { a: '2', b: 'multi\nline', c: 'z' } },
    ]);
  });

  it('refuses an unterminated quote, a row longer than the header, and a missing header', () => {
    assert.throws(() => parseCsv('a\n"open'), InvalidArgumentError);
    assert.throws(() => parseCsv('a\n1,2'), /line 2 has 2 fields/);
    assert.throws(() => parseCsv(''), /header/);
  });
});

describe('token bucket', () => {
  it('allows a burst, then asks to wait, and refills with time', () => {
    let now = 0;
    const l = new TokenBucketLimiter({ capacity: 2, refillPerSecond: 0.5 }, () => now);
    assert.equal(l.take('a'), 0);
    assert.equal(l.take('a'), 0);
    assert.equal(l.take('a'), 2);
    assert.equal(l.take('b'), 0, 'buckets are per key');
    now += 2000;
    assert.equal(l.take('a'), 0);
    assert.equal(l.take('a'), 2);
  });
});

describe('roles and event patterns', () => {
  it('orders roles read < operate < admin', () => {
    assert.ok(roleAllows('admin', 'operate') && roleAllows('operate', 'read') && roleAllows('read', 'read'));
    assert.ok(!roleAllows('read', 'operate') && !roleAllows('operate', 'admin'));
  });

  it('matches event types exactly, by family, or all', () => {
    assert.ok(eventTypeMatches(['operation.*'], 'operation.changed'));
    assert.ok(!eventTypeMatches(['operation.*'], 'operations.changed'));
    assert.ok(eventTypeMatches(['*'], 'x'));
    assert.ok(eventTypeMatches(['euicc.registered'], 'euicc.registered'));
    assert.ok(!eventTypeMatches(['euicc.registered'], 'euicc.deleted'));
  });
});

describe('SqliteApiStore', () => {
  it('numbers outbox events in order, keeps numbering after pruning, and prunes only what every webhook passed', async () => {
    const store = SqliteStore.open({ path: ':memory:' });
    try {
      const api = new SqliteApiStore(store.database);
      const seqs: number[] = [];
      for (let i = 0; i < 4; i++) seqs.push((await api.appendEvent({ type: 't', at: i, data: { i } })).seq);
      assert.deepEqual(seqs, [1, 2, 3, 4]);
      await api.insertWebhook({ id: 'w', url: 'http://127.0.0.1/x', eventTypes: ['*'], secret: 's'.repeat(16), createdAt: 0, deliveredSeq: 2, attempts: 0 });
      assert.equal(await api.pruneEvents(4), 2, 'stops at the slowest webhook');
      assert.deepEqual(
        (await api.listEventsAfter(0)).map((e) => e.seq),
        [3, 4],
      );
      await api.updateWebhookDelivery('w', { deliveredSeq: 4 }, { expectedDeliveredSeq: 2 });
      await assert.rejects(api.updateWebhookDelivery('w', { deliveredSeq: 5 }, { expectedDeliveredSeq: 2 }), ConflictError);
      await api.pruneEvents(4);
      assert.equal(await api.lastEventSeq(), 4);
      assert.equal((await api.appendEvent({ type: 't', at: 5, data: null })).seq, 5, 'never reused');
      await api.updateWebhookDelivery('w', { attempts: 2, nextAttemptAt: 9, lastError: 'HTTP 500' });
      assert.deepEqual(await api.getWebhook('w'), { id: 'w', url: 'http://127.0.0.1/x', eventTypes: ['*'], secret: 's'.repeat(16), createdAt: 0, deliveredSeq: 4, attempts: 2, nextAttemptAt: 9, lastError: 'HTTP 500' });
      await api.updateWebhookDelivery('w', { nextAttemptAt: undefined, lastError: undefined });
      assert.equal((await api.getWebhook('w'))?.lastError, undefined);
      assert.equal(await api.deleteWebhook('w'), true);
      assert.equal(await api.deleteWebhook('w'), false);
      assert.equal(await api.getWebhook('w'), undefined);
    } finally {
      await store.close();
    }
  });

  it('keeps token names and hashes unique', async () => {
    const store = SqliteStore.open({ path: ':memory:' });
    try {
      const api = new SqliteApiStore(store.database);
      await api.insertToken({ id: '1', name: 'a', role: 'read', tokenHash: 'h1', createdAt: 0 });
      await assert.rejects(api.insertToken({ id: '2', name: 'a', role: 'read', tokenHash: 'h2', createdAt: 0 }), ConflictError);
      await assert.rejects(api.insertToken({ id: '3', name: 'b', role: 'read', tokenHash: 'h1', createdAt: 0 }), ConflictError);
      await api.touchToken('1', 77);
      assert.equal((await api.findTokenByHash('h1'))?.lastUsedAt, 77);
      assert.equal(await api.findTokenByHash('nope'), undefined);
      assert.equal(await api.countTokens(), 1);
    } finally {
      await store.close();
    }
  });
});
