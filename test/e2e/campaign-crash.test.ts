/**
 * Issue 6 end to end: the server runs as `npm start` does (src/main.ts in a child process, real SQLite file),
 * a fleet of 500 sleeping devices (virtual eUICC + IPA each, waking every few seconds and polling the eIM
 * over ESipa HTTP), one campaign "enable ICCID B" with a canary share and a rate, and a webhook receiver.
 * The server is killed with SIGKILL in the middle of the campaign and restarted on the same data. At the end
 * every device has the profile enabled, each operation ran exactly once, counters only went up, and the
 * webhook receiver got every operation event.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../src/asn1/hex.js';
import { eidWithCheckDigits } from '../../src/asn1/identifiers.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';
import { Ipa } from '../../src/sim/ipa.js';
import { createTestPki } from '../../src/sim/pki.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEVICES = 500;
const A = '8944000000000000021';
const B = '8944000000000000022';

interface Device {
  eid: string;
  card: VirtualEuicc;
  ipa: Ipa;
  wakeAt: number;
  /** An IPA->eIM message the device could not deliver (server down): sent first on the next wake. */
  pending?: Uint8Array;
}

async function startChild(configFile: string): Promise<{ child: ChildProcess; ports: { api: number; esipaHttp: number } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts'), '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ports = await new Promise<{ api: number; esipaHttp: number }>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.includes('eIM server started')) {
          clearTimeout(timer);
          resolve(JSON.parse(line).ports);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
  });
  child.stdout!.resume();
  return { child, ports };
}

describe('campaign across a server crash (issue 6)', () => {
  it('enables a profile on 500 sleeping devices with a canary and a rate, surviving SIGKILL mid-campaign', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-campaign-'));
    const eids = Array.from({ length: DEVICES }, (_, i) => eidWithCheckDigits(`89049032000000000000${String(i).padStart(10, '0')}`));
    const pki = createTestPki({ eids });
    writeFileSync(join(dir, 'ci.der'), pki.ci.certificate);
    const off = { enabled: false, host: '127.0.0.1', port: 0 };
    const on = { enabled: true, host: '127.0.0.1', port: 0 };
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ dataDir: join(dir, 'data'), log: { level: 'info' }, eim: { eimId: 'eim.campaign', trustedCiFiles: [join(dir, 'ci.der')] }, lwm2m: { coap: off, coaps: off }, http: { esipa: on, api: on } }));

    // the webhook receiver, deduplicating by event id
    const received = new Map<number, { type: string; data: Record<string, unknown> }>();
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const e = JSON.parse(body) as { id: number; type: string; data: Record<string, unknown> };
        received.set(e.id, { type: e.type, data: e.data });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));

    let server = await startChild(configFile);
    let stop = false;
    const token = readFileSync(join(dir, 'data', 'admin-token'), 'utf8').trim();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of several shapes, checked field by field
    const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
      const res = await fetch(`http://127.0.0.1:${server.ports.api}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(20_000),
      });
      return { status: res.status, body: await res.json().catch(() => undefined) };
    };
    try {
      // the eIM's AddInitialEimRequest for factory provisioning, as `eim config show` prints it (same key)
      const cfg = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/run.ts'), 'config', 'show', '--config', configFile], { cwd: ROOT, encoding: 'utf8' });
      const addInitialEim = Buffer.from(JSON.parse(cfg.stdout).addInitialEimRequest as string, 'hex');

      const devices: Device[] = eids.map((eid, i) => {
        const card = VirtualEuicc.fromPki(pki, eid, { profiles: [{ iccid: A, state: 'enabled' }, { iccid: B }] });
        card.addInitialEim(new Uint8Array(addInitialEim));
        return { eid, card, ipa: new Ipa(card), wakeAt: Date.now() + (i % 20) * 100 };
      });
      const imported = await api(
        'POST',
        '/v1/euiccs/import',
        devices.map((d) => ({ eid: d.eid, associationToken: d.card.associationTokenOf('eim.campaign'), euiccCertificate: toHex(pki.euiccs.get(d.eid)!.certificate), eumCertificate: toHex(pki.eum.certificate) })),
      );
      assert.equal(imported.body?.registered, DEVICES, JSON.stringify(imported.body).slice(0, 500));
      const hook = await api('POST', '/v1/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, eventTypes: ['operation.*'], secret: 'a-webhook-secret-of-16+' });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      const campaign = await api('POST', '/v1/campaigns', { name: 'enable B', request: { kind: 'enable', iccid: B }, target: { eids }, rate: 60, maxInFlight: 80, canaryShare: 0.05 });
      assert.equal(campaign.status, 201, JSON.stringify(campaign.body));

      // the fleet: each device wakes, delivers what it could not deliver, polls until idle, sleeps 1-3 s
      let crashed = false;
      const wakeOne = async (d: Device): Promise<void> => {
        const post = async (der: Uint8Array): Promise<Uint8Array | undefined> => {
          const res = await fetch(`http://127.0.0.1:${server.ports.esipaHttp}/gsma/rsp2/asn1`, { method: 'POST', headers: { 'content-type': 'application/x-gsma-rsp-asn1' }, body: der, signal: AbortSignal.timeout(10_000) });
          return res.status === 204 ? undefined : new Uint8Array(await res.arrayBuffer());
        };
        let message: Uint8Array | undefined = d.pending ?? d.ipa.pollRequest();
        try {
          for (let step = 0; message !== undefined && step < 8; step++) {
            d.pending = message;
            const answer = await post(message);
            d.pending = undefined;
            message = answer === undefined ? undefined : d.ipa.handleEimMessage(answer);
          }
        } catch {
          // the server is down: keep the undelivered message (a result stays stored on the eUICC anyway)
        }
        d.wakeAt = Date.now() + 1000 + Math.floor(Math.random() * 2000);
      };
      const fleet = (async () => {
        while (!stop) {
          const due = devices.filter((d) => d.wakeAt <= Date.now()).slice(0, 60);
          await Promise.all(due.map(wakeOne));
          await new Promise((r) => setTimeout(r, 20));
        }
      })();

      const deadline = Date.now() + 240_000;
      const progress = async () => (await api('GET', `/v1/campaigns/${campaign.body.id as string}`)).body;
      for (;;) {
        assert.ok(Date.now() < deadline, 'campaign did not finish in time');
        await new Promise((r) => setTimeout(r, 500));
        const p = await progress().catch(() => undefined);
        const done = (p?.progress?.byState?.done ?? 0) as number;
        if (process.env.TEST_VERBOSE) process.stderr.write(`${JSON.stringify(p?.progress ?? p)}\n`);
        if (!crashed && done >= DEVICES * 0.3) {
          server.child.kill('SIGKILL');
          await new Promise((r) => server.child.once('exit', r));
          crashed = true;
          server = await startChild(configFile);
        }
        if (crashed && done >= DEVICES) break;
      }
      stop = true;
      await fleet;

      // every device has B enabled and executed the enable exactly once
      for (const d of devices) assert.equal(d.card.profile(B)?.state, 'enabled', d.eid);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- operation JSON from the API
      const ops: any[] = [];
      for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
        const page = await api('GET', `/v1/operations?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        ops.push(...page.body.items);
        cursor = page.body.nextCursor;
      }
      const campaignOps = ops.filter((o) => o.campaignId === campaign.body.id);
      assert.equal(campaignOps.length, DEVICES);
      assert.equal(new Set(campaignOps.map((o) => o.eid)).size, DEVICES);
      assert.ok(campaignOps.every((o) => o.state === 'done'), JSON.stringify(campaignOps.find((o) => o.state !== 'done')));
      for (const eid of eids) {
        const counters = ops.filter((o) => o.eid === eid && o.counterValue !== undefined).sort((a, b) => a.createdAt - b.createdAt).map((o) => o.counterValue as number);
        for (let i = 1; i < counters.length; i++) assert.ok(counters[i]! > counters[i - 1]!, `counters of ${eid} not increasing: ${counters.join(',')}`);
      }
      // every operation reached the webhook receiver in its final state (allow the dispatcher a moment)
      const until = Date.now() + 30_000;
      const doneIds = () => new Set([...received.values()].filter((e) => e.type === 'operation.changed' && e.data.state === 'done').map((e) => e.data.operationId));
      while (campaignOps.some((o) => !doneIds().has(o.id)) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      const missing = campaignOps.filter((o) => !doneIds().has(o.id));
      assert.deepEqual(missing.map((o) => o.id), [], 'operation events missing from the webhook receiver');

      // no result was applied twice: exactly one accepted result per campaign operation in the audit log
      server.child.kill('SIGKILL');
      await new Promise((r) => server.child.once('exit', r));
      const store = SqliteStore.open({ path: join(dir, 'data', 'eim.db') });
      try {
        const accepted = new Map<string, number>();
        for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
          const page = await store.listAudit({ action: 'result-accepted', limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
          for (const a of page.items) accepted.set(a.operationId!, (accepted.get(a.operationId!) ?? 0) + 1);
          cursor = page.nextCursor;
        }
        assert.ok(campaignOps.every((o) => accepted.get(o.id) === 1), 'a campaign operation has no single accepted result');
      } finally {
        await store.close();
      }
    } finally {
      stop = true;
      server.child.kill('SIGKILL');
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
