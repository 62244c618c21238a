/** `eim sim pki`: a test CI, EUM and eUICC certificates for the simulator and lab eUICC validation. */
import { fleetEids } from '../../sim/fleet-onboarding.js';
import { parseCurveName } from '../../crypto/curves.js';
import { createTestPki, writeTestPki } from '../../sim/pki.js';
import { type Command, parse, UsageError } from '../command.js';

export const simPkiCommand: Command = {
  name: 'sim pki',
  summary: 'create a test PKI: CI, EUM and eUICC certificates (subject serialNumber = EID)',
  usage: `
Usage: eim sim pki --out DIR [--curve p256|brainpoolP256r1] [--eids N | --eid EID ...] [--days N]

Writes ci, eum and euicc-<EID> certificates (.der, .pem) and keys (-key.pem, mode 0600) with the SGP.22
role policies, key usages and EUM name constraints. Configure DIR/ci.der in eim.trustedCiFiles so the
eIM accepts the simulated eUICCs.

Options:
  --out DIR       output directory
  --curve NAME    p256 (default) or brainpoolP256r1
  --eids N        number of eUICCs with generated EIDs (default 1)
  --eid EID       a given EID (repeatable)
  --days N        validity in days (default 3650)
  -h, --help      show this help
`,
  async run(args, io) {
    const { values, positionals } = parse(args, { out: { type: 'string' }, curve: { type: 'string' }, eids: { type: 'string' }, eid: { type: 'string', multiple: true }, days: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (values.out === undefined) throw new UsageError('--out DIR is required');
    const curve = parseCurveName(values.curve ?? 'p256');
    if (curve === undefined) throw new UsageError(`unknown curve "${values.curve}"`);
    const count = Number(values.eids ?? '1');
    if (!Number.isSafeInteger(count) || count < 1 || count > 100_000) throw new UsageError('--eids must be 1..100000');
    const eids = values.eid ?? fleetEids(count);
    const pki = createTestPki({ curve, eids, ...(values.days !== undefined ? { validDays: Number(values.days) } : {}) });
    const files = await writeTestPki(pki, values.out);
    io.stdout(`${JSON.stringify({ curve, eids, files }, null, 2)}\n`);
    return 0;
  },
};
