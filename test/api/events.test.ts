import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EID } from '../eim/harness.js';
import { apiHarness, type ApiHarness } from './harness.js';

/** Waits until `check` holds, polling every 5 ms, at most `ms`. */
async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The events of an SSE body. */
function parseSse(body: string): { id: string; event: string; data: { id: number; type: string; data: Record<string, unknown> } }[] {
  return body
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const field = (name: string): string => block.split('\n').find((l) => l.startsWith(`${name}: `))!.slice(name.length + 2);
      return { id: field('id'), event: field('event'), data: JSON.parse(field('data')) };
    });
}

describe('event stream (SSE)', () => {
  let h: ApiHarness;
  before(async () => {
    h = await apiHarness();
    assert.equal((await h.call('POST', '/v1/euiccs', { body: { eid: EID } })).statusCode, 201);
  });
  after(() => h.close());

  it('delivers an operation event to a connected client as text/event-stream', async () => {
    const baseline = h.bus.listenerCount;
    const stream = h.call('GET', '/v1/events?types=operation.*&max=1', { role: 'read' });
    await until(() => h.bus.listenerCount > baseline);
    const op = (await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'get-rat' } })).json();
    const r = await stream;
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/event-stream/);
    const events = parseSse(r.body);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.event, 'operation.changed');
    assert.equal(events[0]!.data.data.operationId, op.id);
    assert.equal(events[0]!.data.data.state, 'queued');
    assert.equal(String(events[0]!.data.id), events[0]!.id);
    assert.equal(h.bus.listenerCount, baseline, 'the client is unsubscribed when the stream ends');
  });

  it('replays from the outbox what a client missed after Last-Event-ID, in order', async () => {
    await h.bus.flush();
    const stored = await h.apiStore.listEventsAfter(0, 100);
    assert.ok(stored.length >= 2);
    const r = await h.call('GET', `/v1/events?max=${stored.length - 1}`, { role: 'read', headers: { 'last-event-id': String(stored[0]!.seq) } });
    const events = parseSse(r.body);
    assert.deepEqual(
      events.map((e) => Number(e.id)),
      stored.slice(1).map((e) => e.seq),
    );
    assert.equal(events[0]!.event, stored[1]!.type);
  });

  it('refuses a malformed Last-Event-ID (400)', async () => {
    const r = await h.call('GET', '/v1/events', { role: 'read', headers: { 'last-event-id': 'abc' } });
    assert.equal(r.statusCode, 400);
  });
});
