/**
 * `eim package`: builds and signs one eIM Package without a database, for operators and interop labs
 * (SGP.32 v1.2 §2.11.1). The counter, key, eimId and association token are given on the command line.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fromHex, toHex } from '../../asn1/hex.js';
import { assertEid } from '../../asn1/identifiers.js';
import { FileSigner } from '../../crypto/file-signer.js';
import { buildEuiccPackageRequest, buildUnsignedPackage } from '../../eim/package-builder.js';
import { OPERATION_KINDS, packageContent, parseOperationRequest } from '../../eim/operation-request.js';
import { type Command, parse, UsageError } from '../command.js';

export const packageCommand: Command = {
  name: 'package',
  summary: 'build and sign one eIM Package (hex) without a database',
  usage: `
Usage: eim package <kind> --eid EID [options] [--counter N --key PEM --eim-id ID [--token N]]

Kinds: ${OPERATION_KINDS.join(', ')}

Signed kinds (PSMOs and eCOs) need --counter, --key and --eim-id; data requests (euicc-data) and download
triggers (download) are unsigned. Prints the DER as hex.

Options:
  --eid EID               target eUICC (32 digits, check digits verified)
  --iccid ICCID           enable, disable, delete, set-fallback, list-profiles (search)
  --rollback              enable: set rollbackFlag
  --profile-class C       list-profiles: test|provisioning|operational
  --isdp-aid HEX          list-profiles: search by ISD-P AID
  --tag-list HEX          list-profiles / euicc-data: tags to return
  --enable                immediate-enable: set immediateEnableFlag
  --smdp-oid OID          immediate-enable: default SM-DP+ OID
  --smdp-address ADDR     immediate-enable: default SM-DP+ address
  --address ADDR          default-dp: the default SM-DP+ address
  --eim JSON|FILE         add-eim / update-eim: the eIM entry (eimId, eimFqdn, counterValue, publicKeySpki...)
  --target-eim-id ID      delete-eim: the eIM entry to delete
  --activation-code AC    download: 1$SMDP$MATCHING-ID[...]
  --default-smdp          download: contact the default SM-DP+
  --smds-address ADDR     download: contact an SM-DS
  --counter N             counterValue (must exceed what the eUICC holds for this eIM)
  --key FILE              eIM private key (PKCS#8 PEM)
  --eim-id ID             the eimId the eUICC knows this eIM by
  --token N               association token (omit when none: 84 01 00 is signed)
  --transaction-id HEX    eimTransactionId (default: 16 random bytes)
  -h, --help              show this help
`,
  async run(args, io) {
    const { values, positionals } = parse(args, {
      eid: { type: 'string' },
      iccid: { type: 'string' },
      rollback: { type: 'boolean' },
      'profile-class': { type: 'string' },
      'isdp-aid': { type: 'string' },
      'tag-list': { type: 'string' },
      enable: { type: 'boolean' },
      'smdp-oid': { type: 'string' },
      'smdp-address': { type: 'string' },
      address: { type: 'string' },
      eim: { type: 'string' },
      'target-eim-id': { type: 'string' },
      'activation-code': { type: 'string' },
      'default-smdp': { type: 'boolean' },
      'smds-address': { type: 'string' },
      counter: { type: 'string' },
      key: { type: 'string' },
      'eim-id': { type: 'string' },
      token: { type: 'string' },
      'transaction-id': { type: 'string' },
    });
    const kind = positionals[0];
    if (kind === undefined || positionals.length > 1) throw new UsageError('expected exactly one package kind');
    if (values.eid === undefined) throw new UsageError('--eid is required');
    assertEid(values.eid, '--eid');
    const eim = values.eim === undefined ? undefined : JSON.parse(values.eim.trim().startsWith('{') ? values.eim : readFileSync(values.eim, 'utf8'));
    const request = parseOperationRequest({
      kind,
      iccid: values.iccid,
      rollback: values.rollback,
      profileClass: values['profile-class'],
      isdpAid: values['isdp-aid'],
      tagList: values['tag-list'],
      enable: values.enable,
      smdpOid: values['smdp-oid'],
      smdpAddress: values['smdp-address'],
      address: values.address,
      eim,
      eimId: values['target-eim-id'],
      activationCode: values['activation-code'],
      defaultSmdp: values['default-smdp'],
      smdsAddress: values['smds-address'],
    });
    const content = packageContent(request);
    const eimTransactionId = values['transaction-id'] !== undefined ? fromHex(values['transaction-id'], '--transaction-id') : new Uint8Array(randomBytes(16));
    if (!('psmo' in content) && !('eco' in content)) {
      io.stdout(`${toHex(buildUnsignedPackage(content, eimTransactionId))}\n`);
      return 0;
    }
    if (values.counter === undefined || values.key === undefined || values['eim-id'] === undefined) {
      throw new UsageError(`a signed ${kind} package needs --counter, --key and --eim-id`);
    }
    const counterValue = Number(values.counter);
    const token = values.token === undefined ? undefined : Number(values.token);
    if (!Number.isSafeInteger(counterValue)) throw new UsageError('--counter must be an integer');
    if (token !== undefined && !Number.isSafeInteger(token)) throw new UsageError('--token must be an integer');
    const signer = await FileSigner.fromFiles(values.key);
    const der = await buildEuiccPackageRequest(signer, { eimId: values['eim-id'], eid: values.eid, counterValue, eimTransactionId, ...(token !== undefined ? { associationToken: token } : {}) }, [content]);
    io.stdout(`${toHex(der)}\n`);
    return 0;
  },
};
