/** `eim encode`: JSON (as printed by `eim decode`) to DER hex. */
import { readFileSync } from 'node:fs';
import { toHex } from '../../asn1/hex.js';
import { typeByName } from '../../asn1/registry.js';
import { InvalidArgumentError } from '../../errors.js';
import { type Command, parse, UsageError } from '../command.js';

export const encodeCommand: Command = {
  name: 'encode',
  summary: 'encode JSON (the shape `eim decode` prints) to DER hex',
  usage: `
Usage: eim encode <file.json|-> [--as <TypeName>]

Reads {"type": "...", "value": {...}} (the output of eim decode) or, with --as, a bare value, and prints
the DER encoding as hex. decode then encode reproduces DER input byte for byte.

Options:
  --as <TypeName>   the type of a bare value (see eim decode --help for the list)
  -h, --help        show this help
`,
  async run(args, io) {
    const { values, positionals } = parse(args, { as: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('expected a JSON file or - for stdin');
    const text = positionals[0] === '-' ? Buffer.from(await io.readStdin()).toString('utf8') : readFileSync(positionals[0]!, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new InvalidArgumentError('json', `not valid JSON (${(e as Error).message})`);
    }
    let typeName = values.as;
    let value = json;
    if (typeName === undefined) {
      if (typeof json !== 'object' || json === null || typeof (json as { type?: unknown }).type !== 'string') {
        throw new UsageError('the JSON has no "type"; pass --as <TypeName>');
      }
      typeName = (json as { type: string }).type;
      value = (json as { value?: unknown }).value;
    }
    const found = typeByName(typeName);
    if (found === undefined) throw new UsageError(`unknown type "${typeName}"`);
    io.stdout(`${toHex(found[1].encode(found[1].fromJson(value)))}\n`);
    return 0;
  },
};
