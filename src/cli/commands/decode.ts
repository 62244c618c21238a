/** `eim decode`: any SGP.32 / SGP.22 message to JSON with spec field names. */
import { detectAndDecode, TYPES, typeByName } from '../../asn1/registry.js';
import { decode, type DecodeWarning } from '../../asn1/schema.js';
import { type Command, parse, UsageError } from '../command.js';
import { readMessageArgument } from '../input.js';

export const decodeCommand: Command = {
  name: 'decode',
  summary: 'decode an SGP.32/SGP.22 message (hex, base64 or DER file) to JSON',
  usage: `
Usage: eim decode <hex|base64|file|-> [--as <TypeName>]

Decodes one message and prints {"type", "value"} as JSON: spec field names, ICCIDs and EIDs as digit
strings, other bytes as lowercase hex, named INTEGERs by their spec name. Without --as the type is
detected from the first tag (ESipa envelopes first). Tolerated deviations are printed to stderr as
warnings; malformed input exits with status 1 and says at which byte.

Options:
  --as <TypeName>   decode as this type; one of:
                    ${Object.keys(TYPES).join(', ')}
  -h, --help        show this help
`,
  async run(args, io) {
    const { values, positionals } = parse(args, { as: { type: 'string' } });
    if (positionals.length !== 1) throw new UsageError('expected exactly one message argument');
    const bytes = await readMessageArgument(positionals[0]!, io.readStdin);
    let type: string;
    let value: unknown;
    let warnings: DecodeWarning[] = [];
    if (values.as !== undefined) {
      const found = typeByName(values.as);
      if (found === undefined) throw new UsageError(`unknown type "${values.as}"`);
      type = found[0];
      value = decode(found[1], bytes, warnings);
      value = found[1].toJson(value);
    } else {
      const d = detectAndDecode(bytes);
      ({ type, warnings } = d);
      value = TYPES[type]!.toJson(d.value);
    }
    for (const w of warnings) io.stderr(`warning: ${w.message} at byte ${w.offset}${w.path ? ` (${w.path})` : ''}\n`);
    io.stdout(`${JSON.stringify({ type, value }, null, 2)}\n`);
    return 0;
  },
};
