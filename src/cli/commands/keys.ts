/** `eim keys generate`: a new eIM signing key pair (PKCS#8 PEM, mode 0600) and its public key. */
import { toHex } from '../../asn1/hex.js';
import { parseCurveName } from '../../crypto/curves.js';
import { generateKeyFiles } from '../../crypto/keys.js';
import { type Command, parse, UsageError } from '../command.js';

export const keysGenerateCommand: Command = {
  name: 'keys generate',
  summary: 'generate an eIM signing key (NIST P-256 or brainpoolP256r1)',
  usage: `
Usage: eim keys generate --out DIR [--curve p256|brainpoolP256r1] [--force]

Writes DIR/eim-key.pem (PKCS#8, mode 0600) and DIR/eim-pub.pem, and prints the public key's
SubjectKeyIdentifier. An existing key is never overwritten unless --force is given.

Options:
  --out DIR       where to write the key files (created if missing)
  --curve NAME    p256 (default) or brainpoolP256r1
  --force         overwrite an existing key
  -h, --help      show this help
`,
  async run(args, io) {
    const { values, positionals } = parse(args, { out: { type: 'string' }, curve: { type: 'string' }, force: { type: 'boolean' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (values.out === undefined) throw new UsageError('--out DIR is required');
    const curve = parseCurveName(values.curve ?? 'p256');
    if (curve === undefined) throw new UsageError(`unknown curve "${values.curve}"`);
    const w = await generateKeyFiles(values.out, curve, { overwrite: values.force === true });
    io.stdout(`${JSON.stringify({ curve: w.curve, privateKey: w.privateKeyPath, publicKey: w.publicKeyPath, subjectKeyIdentifier: toHex(w.subjectKeyIdentifier) }, null, 2)}\n`);
    return 0;
  },
};
