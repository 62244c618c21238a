import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, main } from '../../src/cli/main.js';
import { EuiccPackageRequest } from '../../src/asn1/euicc-package.js';
import { AddInitialEimRequest } from '../../src/asn1/eim-configuration.js';
import { fromHex } from '../../src/asn1/hex.js';
import { decode, RECEIVED } from '../../src/asn1/schema.js';
import { concat } from '../../src/asn1/tlv.js';
import { verifyEcdsa } from '../../src/crypto/ecdsa.js';
import { loadPublicKeyPem } from '../../src/crypto/keys.js';
import { createTestPki } from '../../src/sim/pki.js';

async function run(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t), readStdin: async () => new Uint8Array(Buffer.from(stdin)) });
  return { code, out, err };
}

const EID = '89049032123451234512345678901235';
const MESSAGES = [
  'bf4f125a1089049032123451234512345678901235',
  'bf4f03020101',
  'bf50023000',
  'bf5006bf530380010e',
  'bf4e03bf5300',
  'bf3d0bbf5008bf5105a203800165',
];

describe('eim CLI', () => {
  it('prints usage for every command with --help and exits 0', async () => {
    for (const cmd of COMMANDS) {
      const r = await run([...cmd.name.split(' '), '--help']);
      assert.equal(r.code, 0, cmd.name);
      assert.match(r.out, /^Usage: eim /, cmd.name);
    }
    const top = await run(['--help']);
    assert.equal(top.code, 0);
    for (const cmd of COMMANDS) assert.ok(top.out.includes(cmd.name));
  });

  it('rejects an unknown command and unknown flags with status 2', async () => {
    assert.equal((await run(['frobnicate'])).code, 2);
    const r = await run(['decode', '--bogus', 'bf4f03020101']);
    assert.equal(r.code, 2);
    assert.match(r.err, /Usage: eim decode/);
  });

  it('decodes with auto-detection and encode reproduces the DER input exactly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-cli-'));
    try {
      for (const hex of MESSAGES) {
        const d = await run(['decode', hex]);
        assert.equal(d.code, 0, `${hex}: ${d.err}`);
        const file = join(dir, 'm.json');
        writeFileSync(file, d.out);
        const e = await run(['encode', file]);
        assert.equal(e.code, 0, e.err);
        assert.equal(e.out.trim(), hex);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes as a named type, from base64 and from stdin', async () => {
    const hex = 'bf4f03020101';
    const named = await run(['decode', hex, '--as', 'EsipaMessageFromEimToIpa']);
    assert.deepEqual(JSON.parse(named.out), { type: 'EsipaMessageFromEimToIpa', value: { getEimPackageResponse: { eimPackageError: 'noEimPackageAvailable' } } });
    const b64 = await run(['decode', Buffer.from(hex, 'hex').toString('base64')]);
    assert.equal(b64.code, 0);
    const piped = await run(['decode', '-'], hex);
    assert.equal(JSON.parse(piped.out).type, JSON.parse(b64.out).type);
  });

  it('exits 1 with the byte offset on malformed input', async () => {
    const r = await run(['decode', 'bf4f125a10890490']);
    assert.equal(r.code, 1);
    assert.match(r.err, /at byte \d+/);
    assert.match(r.err, /EIM_ERR_DECODE/);
    const bad = await run(['decode', 'zz-not-hex!']);
    assert.equal(bad.code, 1);
  });

  it('builds a signed package that verifies with the key, without a database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-cli-'));
    try {
      assert.equal((await run(['keys', 'generate', '--out', dir])).code, 0);
      assert.equal((await run(['keys', 'generate', '--out', dir])).code, 1, 'refuses to overwrite a key');
      const r = await run(['package', 'enable', '--eid', EID, '--iccid', '8944000000000000001', '--rollback', '--counter', '7', '--key', join(dir, 'eim-key.pem'), '--eim-id', 'eim.lab', '--token', '3']);
      assert.equal(r.code, 0, r.err);
      const req = decode(EuiccPackageRequest, fromHex(r.out.trim()));
      assert.equal(req.euiccPackageSigned.counterValue, 7);
      const pub = loadPublicKeyPem(readFileSync(join(dir, 'eim-pub.pem'), 'utf8'));
      assert.ok(verifyEcdsa(pub, concat([req.euiccPackageSigned[RECEIVED]!, Uint8Array.of(0x84, 0x01, 0x03)]), req.eimSignature).valid);
      const unsigned = await run(['package', 'download', '--eid', EID, '--activation-code', '1$smdp.example.com$ABC-123']);
      assert.equal(unsigned.code, 0, unsigned.err);
      assert.ok(unsigned.out.startsWith('bf54'));
      const missing = await run(['package', 'disable', '--eid', EID, '--iccid', '8944000000000000001']);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /--counter, --key and --eim-id/);
      const badEid = await run(['package', 'get-rat', '--eid', '89049032123451234512345678901299', '--counter', '1', '--key', join(dir, 'eim-key.pem'), '--eim-id', 'x']);
      assert.equal(badEid.code, 1);
      assert.match(badEid.err, /check digits/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows the eIM configuration as JSON and AddInitialEimRequest hex, never the private key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eim-cli-'));
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ dataDir: join(dir, 'data'), eim: { eimId: 'eim.lab', eimFqdn: 'lab:5684' } }));
    try {
      const r = await run(['config', 'show', '--config', cfg]);
      assert.equal(r.code, 0, r.err);
      const out = JSON.parse(r.out);
      assert.equal(out.eimConfigurationData.eimId, 'eim.lab');
      const req = decode(AddInitialEimRequest, fromHex(out.addInitialEimRequest));
      assert.equal(req.eimConfigurationDataList[0]!.eimFqdn, 'lab:5684');
      assert.equal(req.eimConfigurationDataList[0]!.associationToken, -1);
      assert.ok(!r.out.includes('PRIVATE KEY') && !r.err.includes('PRIVATE KEY'));
      const bad = await run(['config', 'show', '--config', join(dir, 'missing.json')]);
      assert.equal(bad.code, 1);
      assert.match(bad.err, /EIM_ERR_CONFIG/);
      // the trust data handed to IPAs and the CI of the eUICC certificates come from the configuration
      const pki = createTestPki({ eids: ['89049032123451234512345678901235'] });
      writeFileSync(join(dir, 'tls.der'), pki.ci.certificate);
      writeFileSync(cfg, JSON.stringify({ dataDir: join(dir, 'data'), eim: { eimId: 'eim.lab', trustedTlsCertificateFile: join(dir, 'tls.der'), euiccCiPKId: 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3' } }));
      const full = JSON.parse((await run(['config', 'show', '--config', cfg])).out);
      assert.ok(full.eimConfigurationData.trustedPublicKeyDataTls.trustedCertificateTls.startsWith('30'));
      assert.equal(full.eimConfigurationData.euiccCiPKId, 'f54172bdf98a95d65cbeb88a38a1c11d800a85c3');
      writeFileSync(cfg, JSON.stringify({ dataDir: join(dir, 'data'), eim: { eimId: 'eim.lab', euiccCiPKId: 'not-hex' }, lwm2m: { awakeWindowSeconds: 0 } }));
      const invalid = await run(['config', 'show', '--config', cfg]);
      assert.equal(invalid.code, 1);
      assert.match(invalid.err, /eim\.euiccCiPKId does not match/);
      assert.match(invalid.err, /lwm2m\.awakeWindowSeconds must be >= 1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs as a real process through the bin entry (compiled) or the source entry', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/run.ts'), 'decode', 'bf50023000'], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).value.provideEimPackageResultResponse.emptyResponse !== undefined, true);
  });
});
