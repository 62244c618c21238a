/**
 * Interop: libcoap's command-line clients (Debian libcoap3-bin 4.3.1, OpenSSL and GnuTLS builds) against a
 * node-coap server running over our DtlsSocket: PSK (RFC 7925 TLS_PSK_WITH_AES_128_CCM_8) and X.509
 * (TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, server-only and mutual). The clients always exit 0, so the tests
 * read their output. Skipped when a binary is absent.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import coap from 'coap';
import type { SecureRemoteInfo } from '../../../src/lwm2m/transport/contract.js';
import { onePsk, startServer, waitFor, type Harness } from './dtls-harness.js';

function has(binary: string): boolean {
  try {
    execFileSync('which', [binary], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const OPENSSL_CLIENT = has('coap-client-openssl');
const GNUTLS_CLIENT = has('coap-client-gnutls');
const OPENSSL_CLI = has('openssl');
const IDENTITY = 'dev1';
const KEY = 'secretPSK';

/** Runs a libcoap client with a hard time limit; resolves with stdout + stderr. */
function runClient(binary: string, args: string[], timeoutMs = 8000): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['-B', '3', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

/** A node-coap server over the DTLS socket that answers GET with the peer's authenticated identity. */
async function coapOverDtls(options: Parameters<typeof startServer>[0]): Promise<{ h: Harness; close(): Promise<void> }> {
  const h = await startServer(options);
  const server = coap.createServer();
  server.on('request', (req, res) => {
    const dtls = (req.rsinfo as unknown as SecureRemoteInfo).dtls;
    res.end(`hello ${dtls.pskIdentity ?? (dtls.peerCertificate ? new X509Certificate(dtls.peerCertificate).subject : 'anonymous')} via ${dtls.cipher}`);
  });
  await new Promise<void>((r) => server.listen(h.server.socket, () => r()));
  return {
    h,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await h.close();
    },
  };
}

describe('libcoap clients over PSK', () => {
  for (const binary of ['coap-client-openssl', 'coap-client-gnutls']) {
    const skip = !(binary === 'coap-client-openssl' ? OPENSSL_CLIENT : GNUTLS_CLIENT) && `${binary} not installed`;
    it(`${binary} completes a PSK handshake and a GET`, { skip }, async () => {
      const s = await coapOverDtls({ pskLookup: onePsk(IDENTITY, Buffer.from(KEY)) });
      try {
        const out = await runClient(binary, ['-m', 'get', '-k', KEY, '-u', IDENTITY, `coaps://127.0.0.1:${s.h.port}/hello`]);
        assert.match(out, /hello dev1 via PSK-AES128-CCM8/);
        assert.equal(s.h.sessions[0]?.dtls.pskIdentity, IDENTITY);
      } finally {
        await s.close();
      }
    });
  }

  it('coap-client-openssl with a wrong key gets no answer and no session', { skip: !OPENSSL_CLIENT && 'coap-client-openssl not installed' }, async () => {
    const s = await coapOverDtls({ pskLookup: onePsk(IDENTITY, Buffer.from(KEY)), handshakeTimeoutMs: 1000 });
    try {
      const out = await runClient('coap-client-openssl', ['-m', 'get', '-k', 'wrongKey', '-u', IDENTITY, `coaps://127.0.0.1:${s.h.port}/hello`]);
      assert.doesNotMatch(out, /hello/);
      assert.equal(s.h.sessions.length, 0);
    } finally {
      await s.close();
    }
  });
});

describe('libcoap clients over ECDHE-ECDSA with X.509', { skip: !(OPENSSL_CLIENT && OPENSSL_CLI) && 'coap-client-openssl or openssl not installed' }, () => {
  let dir = '';
  const pem = (name: string): string => readFileSync(join(dir, name), 'utf8');
  const path = (name: string): string => join(dir, name);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eim-dtls-pki-'));
    const sh = (args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    sh(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
    sh(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=Test CA', '-days', '2', '-out', 'ca.pem']);
    for (const [name, cn] of [['server', 'localhost'], ['client', 'urn:imei:123']] as const) {
      sh(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
      sh(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
      sh(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.pem`]);
    }
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates the server by certificate when the client has none', async () => {
    const s = await coapOverDtls({ pskLookup: undefined, certificate: { certPem: pem('server.pem'), keyPem: pem('server.key') } });
    try {
      const out = await runClient('coap-client-openssl', ['-m', 'get', '-R', path('ca.pem'), `coaps://127.0.0.1:${s.h.port}/x`]);
      assert.match(out, /hello anonymous via ECDHE-ECDSA-AES128-CCM8/);
      assert.equal(s.h.sessions[0]?.dtls.peerCertificate, undefined);
    } finally {
      await s.close();
    }
  });

  it('exposes the client certificate DER under mutual authentication, and still serves PSK clients', async () => {
    const s = await coapOverDtls({
      pskLookup: onePsk(IDENTITY, Buffer.from(KEY)),
      certificate: { certPem: pem('server.pem'), keyPem: pem('server.key'), requestClientCert: true },
    });
    try {
      const out = await runClient('coap-client-openssl', [
        '-m', 'get', '-c', path('client.pem'), '-j', path('client.key'), '-R', path('ca.pem'), `coaps://127.0.0.1:${s.h.port}/x`,
      ]);
      assert.match(out, /hello CN=urn:imei:123 via ECDHE-ECDSA-AES128-CCM8/);
      const der = s.h.sessions[0]?.dtls.peerCertificate;
      assert.ok(der);
      assert.deepEqual(Buffer.from(der), new X509Certificate(pem('client.pem')).raw);
      const psk = await runClient('coap-client-openssl', ['-m', 'get', '-k', KEY, '-u', IDENTITY, `coaps://127.0.0.1:${s.h.port}/x`]);
      assert.match(psk, /hello dev1 via PSK-AES128-CCM8/);
    } finally {
      await s.close();
    }
  });

  it('keeps every handshake datagram within a small MTU and still completes mutual authentication', async () => {
    const s = await coapOverDtls({
      pskLookup: undefined,
      mtu: 576,
      certificate: { certPem: pem('server.pem'), keyPem: pem('server.key'), requestClientCert: true },
    });
    // A relay in front of the server records the size of every datagram the server sends.
    const front = dgram.createSocket('udp4');
    const back = dgram.createSocket('udp4');
    const sizes: number[] = [];
    let client: dgram.RemoteInfo | undefined;
    front.on('message', (m, rinfo) => {
      client = rinfo;
      back.send(m, s.h.port, '127.0.0.1');
    });
    back.on('message', (m) => {
      sizes.push(m.length);
      if (client) front.send(m, client.port, client.address);
    });
    await new Promise<void>((r) => front.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => back.bind(0, '127.0.0.1', () => r()));
    try {
      const out = await runClient('coap-client-openssl', [
        '-m', 'get', '-c', path('client.pem'), '-j', path('client.key'), '-R', path('ca.pem'), `coaps://127.0.0.1:${front.address().port}/x`,
      ]);
      assert.match(out, /hello CN=urn:imei:123 via ECDHE-ECDSA-AES128-CCM8/);
      const total = sizes.reduce((a, b) => a + b, 0);
      assert.ok(total > 576, `the server sent ${total} bytes, more than one MTU`);
      assert.ok(sizes.every((n) => n <= 576 - 48), `datagram sizes ${sizes.join(',')}`);
    } finally {
      front.close();
      back.close();
      await s.close();
    }
  });

  it('fails the handshake when mutual authentication is required and the client sends no certificate', async () => {
    const s = await coapOverDtls({
      pskLookup: undefined,
      certificate: { certPem: pem('server.pem'), keyPem: pem('server.key'), requestClientCert: true },
    });
    try {
      const out = await runClient('coap-client-openssl', ['-m', 'get', '-R', path('ca.pem'), `coaps://127.0.0.1:${s.h.port}/x`]);
      assert.doesNotMatch(out, /hello/);
      await waitFor(() => s.h.dropped.length > 0, 3000, 'dropped');
      assert.equal(s.h.dropped[0]!.reason, 'handshake-failed');
      assert.equal(s.h.sessions.length, 0);
    } finally {
      await s.close();
    }
  });
});
