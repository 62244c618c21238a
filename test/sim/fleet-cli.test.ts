/**
 * `eim sim fleet` end to end on the command level: onboarding from an `eim config show` JSON (AddInitialEim
 * on every card, states and PSKs kept in --state), registration of every device with a real LwM2M server,
 * a live summary, and a clean stop after --duration; a second run reuses the state without re-provisioning.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/asn1/hex.js';
import { simFleetCommand } from '../../src/cli/commands/sim-fleet.js';
import { runCommand } from '../../src/cli/command.js';
import { FileSigner } from '../../src/crypto/file-signer.js';
import { generateKeyPair, privateKeyToPem } from '../../src/crypto/keys.js';
import { addInitialEimRequest } from '../../src/eim/identity.js';
import { Lwm2mServer } from '../../src/lwm2m/server.js';
import { VirtualEuicc } from '../../src/sim/euicc/euicc.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), readStdin: async () => new Uint8Array(0) } };
}

describe('eim sim fleet', () => {
  it('onboards the devices with the eIM configuration, registers them all, prints summaries and stops after --duration', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-fleet-cli-'));
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const server = new Lwm2mServer({ socket, awakeTimeMs: 500 });
    try {
      const identity = { eimId: 'eim.cli.test', signer: FileSigner.fromPem(privateKeyToPem(generateKeyPair('P-256').privateKey)), supportedProtocols: ['eimProprietary'], indirectProfileDownload: false };
      const config = join(dir, 'eim.json');
      writeFileSync(config, JSON.stringify({ addInitialEimRequest: toHex(addInitialEimRequest(identity)) }));
      const state = join(dir, 'state');
      const args = ['--server', `coap://127.0.0.1:${socket.address().port}`, '--devices', '6', '--eim-config', config, '--state', state, '--psm', '2s:400ms', '--duration', '2500ms', '--summary-every', '1s'];
      const first = io();
      assert.equal(await runCommand(simFleetCommand, args, first.io), 0, first.err.join(''));
      assert.equal(server.registrations.size, 6);
      const text = first.out.join('');
      assert.match(text, /onboarded 6 devices/);
      assert.match(text, /registered 6\/6 .* errors 0 \(stopped\)/);
      const manifest = JSON.parse(readFileSync(join(state, 'devices.json'), 'utf8')) as { eid: string; psk: string }[];
      assert.equal(manifest.length, 6);
      const card = await VirtualEuicc.load(join(state, 'cards', `${manifest[0]!.eid}.json`));
      assert.deepEqual(card.eims.map((e) => e.eimId), ['eim.cli.test'], 'AddInitialEim ran on the card');

      const second = io();
      assert.equal(await runCommand(simFleetCommand, [...args.slice(0, -6), '--duration', '300ms'], second.io), 0, second.err.join(''));
      const again = JSON.parse(readFileSync(join(state, 'devices.json'), 'utf8')) as { eid: string; psk: string }[];
      assert.deepEqual(again, manifest, 'the second run reuses the devices and their PSKs');
    } finally {
      server.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a server URL that is not coap:// or coaps:// and a run without AddInitialEim data', async () => {
    const a = io();
    assert.equal(await runCommand(simFleetCommand, ['--server', 'http://x:1', '--devices', '1', '--eim-config', 'x'], a.io), 2);
    assert.match(a.err.join(''), /coap:\/\/HOST:PORT/);
    const b = io();
    assert.equal(await runCommand(simFleetCommand, ['--server', 'coap://127.0.0.1:5683', '--devices', '1'], b.io), 2);
    assert.match(b.err.join(''), /--eim-config/);
  });
});
