import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeviceDirectory, DeviceView } from '../../src/api/device-directory.js';
import { EID, EIDS } from '../eim/harness.js';
import { apiHarness, type ApiHarness } from './harness.js';

const T = Date.UTC(2026, 10, 23, 11, 59);

/** A fake LwM2M registration view. */
function fakeDirectory(devices: DeviceView[]): DeviceDirectory {
  return {
    stats: () => ({ registered: devices.length, awake: devices.filter((d) => d.awake).length, dtlsHandshakes: 17 }),
    get: (key) => devices.find((d) => d.endpoint === key) ?? devices.find((d) => d.eid === key),
    list: (filter) => devices.filter((d) => filter?.awake === undefined || d.awake === filter.awake).sort((a, b) => a.endpoint.localeCompare(b.endpoint)),
  };
}

describe('devices, health and metrics', () => {
  let h: ApiHarness;
  before(async () => {
    h = await apiHarness({
      devices: fakeDirectory([
        { endpoint: 'dev-1', eid: EID, binding: 'UQ', queueMode: true, address: '203.0.113.7:5684', registeredAt: T, lastUplinkAt: T, awake: true, nextExpectedUplinkAt: T + 3_600_000, dtlsIdentity: 'dev-1-id', lifetime: 3600 },
        { endpoint: 'dev-2', queueMode: true, awake: false },
        { endpoint: 'dev-3', queueMode: false, awake: true },
      ]),
    });
    assert.equal((await h.call('POST', '/v1/euiccs', { body: { eid: EID, endpoint: 'dev-1', labels: ['x'] } })).statusCode, 201);
    assert.equal((await h.call('POST', '/v1/euiccs', { body: { eid: EIDS[1], endpoint: 'dev-2' } })).statusCode, 201);
  });
  after(() => h.close());

  it('lists registered devices joined with their eUICC (by EID, else by endpoint), paginated', async () => {
    const r = await h.call('GET', '/v1/devices?limit=2', { role: 'read' });
    assert.equal(r.statusCode, 200);
    const page = r.json();
    assert.deepEqual(
      page.items.map((d: { endpoint: string }) => d.endpoint),
      ['dev-1', 'dev-2'],
    );
    assert.equal(page.items[0].euicc.eid, EID);
    assert.equal(page.items[0].lastUplinkAt, new Date(T).toISOString());
    assert.equal(page.items[0].dtlsIdentity, 'dev-1-id');
    assert.equal(page.items[1].eid, EIDS[1], 'joined through the endpoint');
    const next = (await h.call('GET', `/v1/devices?limit=2&cursor=${page.nextCursor}`)).json();
    assert.deepEqual(
      next.items.map((d: { endpoint: string }) => d.endpoint),
      ['dev-3'],
    );
    assert.equal(next.nextCursor, undefined);
    assert.equal(next.items[0].euicc, undefined);
    const awake = (await h.call('GET', '/v1/devices?awake=true')).json();
    assert.deepEqual(
      awake.items.map((d: { endpoint: string }) => d.endpoint),
      ['dev-1', 'dev-3'],
    );
  });

  it('gets one device by endpoint or by EID, 404 when not registered', async () => {
    const byEndpoint = await h.call('GET', '/v1/devices/dev-1', { role: 'read' });
    assert.equal(byEndpoint.statusCode, 200);
    assert.equal(byEndpoint.json().awake, true);
    assert.deepEqual(byEndpoint.json().euicc.labels, ['x']);
    assert.equal((await h.call('GET', `/v1/devices/${EID}`)).json().endpoint, 'dev-1');
    const missing = await h.call('GET', '/v1/devices/nobody');
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error, 'EIM_ERR_NOT_FOUND');
  });

  it('answers /readyz when the stores answer', async () => {
    assert.deepEqual((await h.call('GET', '/readyz', { role: 'read' })).json(), { status: 'ready' });
  });

  it('exposes Prometheus metrics: registrations, awake devices, operations by state, event counters, latency histogram', async () => {
    await h.call('POST', `/v1/euiccs/${EID}/operations`, { body: { kind: 'get-rat' } });
    await h.bus.flush();
    const r = await h.call('GET', '/metrics', { role: 'read' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = r.body;
    assert.match(text, /^eim_lwm2m_registrations 3$/m);
    assert.match(text, /^eim_lwm2m_awake_devices 2$/m);
    assert.match(text, /^eim_operations\{state="queued"\} 1$/m);
    assert.match(text, /^eim_queue_depth 1$/m);
    assert.match(text, /^# TYPE eim_dtls_handshakes_total counter\neim_dtls_handshakes_total 17$/m);
    assert.match(text, /^eim_events_total\{type="operation.changed"\} 1$/m);
    assert.match(text, /^eim_http_request_duration_seconds_count\{method="GET",route="\/v1\/devices",status_code="200"\} \d+$/m);
    assert.match(text, /^# TYPE eim_http_request_duration_seconds histogram$/m);
  });
});

describe('readiness', () => {
  it('answers 503 when the store is unreachable', async () => {
    const h = await apiHarness();
    try {
      const token = h.tokens.read;
      // The API store shares the connection, so the token check fails the same way: either gives 503.
      await h.store.close();
      const r = await h.app.inject({ method: 'GET', url: '/readyz', headers: { authorization: `Bearer ${token}` } });
      assert.ok(r.statusCode === 503, `${r.statusCode} ${r.body}`);
      assert.equal(r.json().error, 'EIM_ERR_STORE');
    } finally {
      await h.app.close();
      const { rmSync } = await import('node:fs');
      rmSync(h.dir, { recursive: true, force: true });
    }
  });
});
