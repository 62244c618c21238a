import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { EID } from '../eim/harness.js';
import { apiHarness } from './harness.js';

const PSK = 'c0ffee00c0ffee00c0ffee00c0ffee42';

describe('logging', () => {
  it('never writes a test PSK, an API token or a webhook secret to the log, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const h = await apiHarness({ logger });
    let created = '';
    try {
      assert.equal((await h.call('POST', '/v1/euiccs', { body: { eid: EID, endpoint: 'dev-log', pskIdentity: 'log-id', psk: PSK } })).statusCode, 201);
      assert.equal((await h.call('POST', '/v1/euiccs/import', { payload: `eid,endpoint,pskIdentity,psk\n${EID},dev-log,log-id,${PSK}\n`, headers: { 'content-type': 'text/csv' } })).statusCode, 200);
      assert.equal((await h.call('POST', '/v1/euiccs', { body: { eid: EID, endpoint: 'dev-log', pskIdentity: 'log-id', psk: `${PSK}zz` } })).statusCode, 400);
      const t = await h.call('POST', '/v1/tokens', { body: { name: 'logged', role: 'read' } });
      created = t.json().token;
      await h.call('GET', '/v1/euiccs', { token: created });
      await h.call('GET', '/v1/euiccs', { token: `${created}x` });
      await h.call('POST', '/v1/webhooks', { body: { url: 'https://example.com/h', eventTypes: ['*'], secret: 'webhook-secret-never-logged' } });
      // A careless log call with the sensitive keys is redacted too.
      h.app.log.info({ psk: PSK, token: created, req: { headers: { authorization: `Bearer ${h.tokens.admin}` } } }, 'careless');
    } finally {
      await h.close();
    }
    const out = lines.join('');
    assert.ok(out.includes('incoming request') && out.includes('careless'), 'logs were captured');
    assert.ok(out.includes('[redacted]'));
    for (const secret of [PSK, PSK.toUpperCase(), created, h.tokens.admin, h.tokens.read, 'webhook-secret-never-logged']) {
      assert.ok(secret.length > 0 && !out.includes(secret), `log contains a secret (${secret.slice(0, 6)}…)`);
    }
  });
});
