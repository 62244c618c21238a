/**
 * Interop with a client nobody here wrote: libcoap's coap-client-openssl and coap-client-gnutls (Debian
 * libcoap3-bin) register with our LwM2M server over DTLS PSK, send an Update, post a Block1 payload of several
 * KB to /gsma/rsp2/asn1 and read the Block2 answer. The clients exit 0 even on failure: the tests check what
 * the server saw and what the clients printed. Skipped when the binaries are absent (CI installs them).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EsimBridge } from '../../src/lwm2m/esim-bridge.js';
import { Lwm2mServer } from '../../src/lwm2m/server.js';
import { DtlsServer } from '../../src/lwm2m/transport/dtls-server.js';

function has(binary: string): boolean {
  try {
    execFileSync('which', [binary], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function client(binary: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['-B', '5', '-k', 'secretPSK', '-u', 'dev1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const binary of ['coap-client-openssl', 'coap-client-gnutls']) {
  describe(`LwM2M interop with ${binary}`, { skip: !has(binary) && `${binary} not installed` }, () => {
    it('registers over DTLS PSK, updates, posts a Block1 body and reads a Block2 answer', { timeout: 60_000 }, async () => {
      const dtls = new DtlsServer({ host: '127.0.0.1', port: 0, pskLookup: (id) => (id === 'dev1' ? new TextEncoder().encode('secretPSK') : undefined) });
      const { port } = await dtls.listen();
      const server = new Lwm2mServer({ socket: dtls.socket, authorize: (endpoint, info) => info?.pskIdentity === 'dev1' && endpoint === 'libcoap-dev' });
      const received: Uint8Array[] = [];
      const answer = new TextEncoder().encode(`BLOCK2-ANSWER:${'x'.repeat(4000)}:END`);
      const bridge = new EsimBridge({ server, esipa: { handleIpaMessage: async (_eid, m) => (received.push(m), answer) } });
      const dir = mkdtempSync(join(tmpdir(), 'libcoap-'));
      const updated: string[] = [];
      server.on('updated', (r: { endpoint: string }) => updated.push(r.endpoint));
      try {
        await client(binary, ['-m', 'post', '-t', '40', '-e', '</1/0>,</3/0>,</3443/0>', `coaps://127.0.0.1:${port}/rd?ep=libcoap-dev&lt=300&lwm2m=1.1&b=U`]);
        await waitFor(() => server.registrations.getByEndpoint('libcoap-dev') !== undefined, 'the registration');
        const reg = server.registrations.getByEndpoint('libcoap-dev')!;
        assert.equal(reg.identity, 'dev1');
        assert.equal(reg.lifetime, 300);

        await client(binary, ['-m', 'post', `coaps://127.0.0.1:${port}/rd/${reg.id}?lt=600`]);
        await waitFor(() => updated.includes('libcoap-dev'), 'the update');
        assert.equal(server.registrations.getByEndpoint('libcoap-dev')!.lifetime, 600);

        // an impostor endpoint name with the same credentials is refused
        const impostor = await client(binary, ['-m', 'post', '-t', '40', '-e', '</3/0>', `coaps://127.0.0.1:${port}/rd?ep=someone-else&lt=300&b=U`]);
        assert.equal(server.registrations.getByEndpoint('someone-else'), undefined, impostor);

        const body = Buffer.alloc(3000, 0x41);
        writeFileSync(join(dir, 'body.bin'), body);
        const out = await client(binary, ['-m', 'post', '-b', '256', '-f', join(dir, 'body.bin'), `coaps://127.0.0.1:${port}/gsma/rsp2/asn1`]);
        await waitFor(() => received.length > 0, 'the Block1 body');
        assert.equal(received[0]!.length, 3000);
        assert.ok(Buffer.from(received[0]!).equals(body));
        assert.match(out, /BLOCK2-ANSWER:x{4000}:END/);
      } finally {
        bridge.close();
        server.close();
        await dtls.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
