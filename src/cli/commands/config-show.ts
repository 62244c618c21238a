/** `eim config show`: what the eIM puts in EimConfigurationData, as JSON and as AddInitialEimRequest hex. */
import { EimConfigurationData } from '../../asn1/eim-configuration.js';
import { toHex } from '../../asn1/hex.js';
import { loadConfig } from '../../config/config.js';
import { loadIdentity } from '../../config/identity.js';
import { addInitialEimRequest, eimConfigurationData } from '../../eim/identity.js';
import { type Command, parse, UsageError } from '../command.js';

export const configShowCommand: Command = {
  name: 'config show',
  summary: "show the eIM's EimConfigurationData and AddInitialEimRequest (factory provisioning)",
  usage: `
Usage: eim config show [--config FILE] [--counter N] [--token N]

Loads the configuration (config/default.json, FILE or EIM_CONFIG, EIM_* variables), the eIM key (a
development key is generated in dataDir when none is configured) and prints:
  eimConfigurationData    the JSON the eUICC will hold for this eIM
  addInitialEimRequest    BF57 hex for ES10b.AddInitialEim (factory or IPA provisioning)
No secret is printed.

Options:
  --config FILE   configuration file
  --counter N     initial counterValue (default 0)
  --token N       associationToken (default -1: the eUICC generates one)
  -h, --help      show this help
`,
  async run(args, io) {
    const { values, positionals } = parse(args, { config: { type: 'string' }, counter: { type: 'string' }, token: { type: 'string' } });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
    const counterValue = values.counter === undefined ? 0 : Number(values.counter);
    const associationToken = values.token === undefined ? -1 : Number(values.token);
    if (!Number.isSafeInteger(counterValue) || counterValue < 0) throw new UsageError('--counter must be a non-negative integer');
    if (!Number.isSafeInteger(associationToken)) throw new UsageError('--token must be an integer');
    const config = loadConfig(values.config !== undefined ? { file: values.config } : {});
    const { identity, generatedKeyFile } = await loadIdentity(config);
    if (generatedKeyFile !== undefined) io.stderr(`generated a development key: ${generatedKeyFile}\n`);
    const data = eimConfigurationData(identity, { counterValue, associationToken });
    io.stdout(
      `${JSON.stringify({ eimConfigurationData: EimConfigurationData.toJson(data), addInitialEimRequest: toHex(addInitialEimRequest(identity, { counterValue, associationToken })) }, null, 2)}\n`,
    );
    return 0;
  },
};
