import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AuthenticateClientRequestEsipa, EsipaMessageFromIpaToEim } from '../../src/asn1/esipa.js';
import { decode } from '../../src/asn1/schema.js';
import { Es9PlusClient } from '../../src/esipa/es9plus-client.js';
import { createTestCi } from '../../src/sim/pki.js';
import { createSmdpCertificates } from '../../src/sim/smdp/smdp-pki.js';
import { EID } from '../eim/harness.js';
import { downloadFixture } from '../esipa/download-fixture.js';

const DAY = 86_400_000;
const otherCi = () => createTestCi({ curve: 'P-256', notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + DAY), commonName: 'Other CI' });

/** Flips the last byte of the first 5F37 40 signature found in `der` (a copy). */
function tamperSignature(der: Uint8Array): Uint8Array {
  const out = der.slice();
  const i = Buffer.from(out).indexOf(Buffer.from([0x5f, 0x37, 0x40]));
  assert.ok(i >= 0, 'a signature to tamper with');
  out[i + 3 + 63] = out[i + 3 + 63]! ^ 0x01;
  return out;
}

describe('test SM-DP+ and the virtual eUICC (SGP.22 mutual authentication)', () => {
  it('the eUICC refuses an SM-DP+ whose certificates do not chain to its CI, and the download fails cleanly', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const r = await f.download(trigger, { trust: { ciCertificates: [otherCi().certificate] } });
      assert.deepEqual(r, { outcome: 'error', step: 'authenticateClient', error: 'euiccSignatureInvalid' });
      assert.equal((await f.h.store.getOperation(operationId))?.state, 'failed');
      assert.equal(f.card.state.profiles.length, 0);
    } finally {
      await f.close();
    }
  });

  it('the SM-DP+ refuses an AuthenticateServerResponse whose euiccSignature1 was altered in transit', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const r = await f.download(trigger, {
        send: async (der) => {
          let msg = der;
          if (der[0] === 0xbf && der[1] === 0x3b) {
            const req = decode(AuthenticateClientRequestEsipa, der);
            msg = EsipaMessageFromIpaToEim.encode({ authenticateClientRequestEsipa: { ...req, authenticateServerResponse: tamperSignature(req.authenticateServerResponse) } });
          }
          const o = await f.esipa.handle(msg, { eid: EID });
          return o.kind === 'response' ? o.der : undefined;
        },
      });
      assert.deepEqual(r, { outcome: 'error', step: 'authenticateClient', error: 'euiccSignatureInvalid' });
      assert.equal((await f.h.store.getOperation(operationId))?.errorCode, 'euiccSignatureInvalid');
    } finally {
      await f.close();
    }
  });

  it('the eUICC refuses an smdpSignature2 altered in transit; the SM-DP+ then refuses the BPP request', async () => {
    const f = await downloadFixture();
    try {
      const { operationId, trigger } = await f.trigger(`1$${f.smdp.address}$MATCH-2`);
      const r = await f.download(trigger, {
        send: async (der) => {
          const o = await f.esipa.handle(der, { eid: EID });
          if (o.kind !== 'response') return undefined;
          return o.der[0] === 0xbf && o.der[1] === 0x3b ? tamperSignature(o.der) : o.der;
        },
      });
      assert.deepEqual(r, { outcome: 'error', step: 'getBoundProfilePackage', error: 'euiccSignatureInvalid' });
      assert.equal((await f.h.store.getOperation(operationId))?.errorCode, 'euiccSignatureInvalid');
      assert.equal(f.smdp.profileState.get('MATCH-2'), 'available', 'no BPP was bound');
    } finally {
      await f.close();
    }
  });

  it('answers 400 to an ES9+ request without the X-Admin-Protocol header', async () => {
    const f = await downloadFixture();
    try {
      const [host, port] = f.smdp.address.split(':') as [string, string];
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host, port: Number(port), method: 'POST', path: '/gsma/rsp2/es9plus/initiateAuthentication', ca: f.h.pki.ci.certificatePem, headers: { 'Content-Type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
      assert.equal(status, 400);
      assert.deepEqual(f.smdp.calls, []);
    } finally {
      await f.close();
    }
  });
});

describe('ES9+ client', () => {
  it('refuses an SM-DP+ whose TLS certificate does not chain to the configured roots', async () => {
    const f = await downloadFixture();
    const client = new Es9PlusClient({ ca: [otherCi().certificate], timeoutMs: 2000 });
    try {
      const out = await client.initiateAuthentication(f.smdp.address, { euiccChallenge: new Uint8Array(16), euiccInfo1: Uint8Array.of(0xbf, 0x20, 0x00) });
      assert.equal(out.kind, 'transport');
      assert.match((out as { message: string }).message, /certificate|verify/i);
      assert.deepEqual(f.smdp.calls, []);
    } finally {
      client.close();
      await f.close();
    }
  });

  it('gives up after its timeout when the SM-DP+ accepts but never answers, and reuses one TLS connection for several calls', async () => {
    const ci = otherCi();
    const certs = createSmdpCertificates({ ci, smdpOid: '2.999.1' });
    let connections = 0;
    let answer = true;
    const server = createServer({ key: certs.tls.privateKeyPem, cert: certs.tls.certificatePem }, (req, res) => {
      req.resume();
      req.on('end', () => {
        if (answer) res.writeHead(204).end();
      });
    });
    server.on('secureConnection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new Es9PlusClient({ ca: [ci.certificate], timeoutMs: 300 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await client.handleNotification(address, Uint8Array.of(0x30, 0x00))).kind, 'ok');
      assert.equal(connections, 1, 'keep-alive: one TLS handshake for three calls');
      answer = false;
      const started = Date.now();
      const out = await client.handleNotification(address, Uint8Array.of(0x30, 0x00));
      assert.equal(out.kind, 'transport');
      assert.match((out as { message: string }).message, /no answer within 300 ms/);
      assert.ok(Date.now() - started < 2000);
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
