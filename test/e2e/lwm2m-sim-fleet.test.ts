/**
 * `eim sim fleet` against the whole server as `npm start` builds it (startServer): the command onboards its
 * devices through the REST API (POST /v1/euiccs/import with PSK and certificates, after AddInitialEim on each
 * card), they register over coaps:// with those PSKs, sleep on a PSM schedule, and operations ordered
 * through the API are executed by the virtual eUICCs in their wake windows.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { toHex } from '../../src/asn1/hex.js';
import { runCommand } from '../../src/cli/command.js';
import { simFleetCommand } from '../../src/cli/commands/sim-fleet.js';
import { loadConfig } from '../../src/config/config.js';
import { addInitialEimRequest } from '../../src/eim/identity.js';
import { startServer } from '../../src/main.js';
import { fleetEids } from '../../src/sim/fleet-onboarding.js';
import { createTestPki, writeTestPki } from '../../src/sim/pki.js';
import { until } from './lwm2m-stack.js';

const N = 5;

describe('eim sim fleet against the running server (e2e)', () => {
  it('onboards through the API, registers over coaps:// with the PSKs, and executes operations ordered through the API', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-simfleet-e2e-'));
    const eids = fleetEids(N);
    const pki = createTestPki({ eids });
    await writeTestPki(pki, join(dir, 'pki'));
    const listener = { enabled: true, host: '127.0.0.1', port: 0 };
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ dataDir: join(dir, 'data'), eim: { eimId: 'eim.fleet', eimFqdn: '127.0.0.1', trustedCiFiles: [join(dir, 'pki', 'ci.der')] }, lwm2m: { coap: listener, coaps: listener }, http: { esipa: listener, api: listener } }),
    );
    const server = await startServer(loadConfig({ file: join(dir, 'config.json'), env: {} }), { logger: pino({ level: 'silent' }) });
    try {
      const token = readFileSync(server.adminTokenFile!, 'utf8').trim();
      const apiUrl = `http://127.0.0.1:${server.ports.api}`;
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${apiUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> };
      };
      const eimConfig = join(dir, 'eim-config.json');
      writeFileSync(eimConfig, JSON.stringify({ addInitialEimRequest: toHex(addInitialEimRequest(server.core.identity)) }));
      const out: string[] = [];
      const err: string[] = [];
      const run = runCommand(
        simFleetCommand,
        ['--server', `coaps://127.0.0.1:${server.ports.coaps}`, '--devices', String(N), '--api', apiUrl, '--token', token, '--eim-config', eimConfig, '--pki', join(dir, 'pki'), '--state', join(dir, 'state'), '--psm', '3s:1500ms', '--nat-timeout', '1s', '--duration', '14s', '--summary-every', '1s'],
        { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), readStdin: async () => new Uint8Array(0) },
      );
      await until(async () => (await Promise.all(eids.map((eid) => api('GET', `/v1/euiccs/${eid}`)))).every((r) => r.status === 200), 30_000, 'every eUICC registered through the API');
      const ops = await Promise.all(eids.map((eid) => api('POST', `/v1/euiccs/${eid}/operations`, { kind: 'get-rat' })));
      assert.ok(ops.every((o) => o.status === 202), JSON.stringify(ops.map((o) => o.body)));
      await until(async () => {
        const states = await Promise.all(ops.map(async (o) => (await api('GET', `/v1/operations/${String(o.body.id)}`)).body.state));
        return states.every((s) => s === 'done');
      }, 40_000, 'every operation done');
      assert.equal(await run, 0, err.join(''));
      const text = out.join('');
      assert.match(text, new RegExp(`registered ${N}/${N} .* errors 0 \\(stopped\\)`), text);
      assert.match(text, /packages executed [1-9]/);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
