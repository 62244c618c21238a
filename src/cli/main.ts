/**
 * The `eim` command line: one entry per command, each with --help. Commands are thin: they parse flags
 * and call the layers below; the composition of the running server lives in src/main.ts.
 */
import { type CliIo, type Command, runCommand } from './command.js';
import { configShowCommand } from './commands/config-show.js';
import { decodeCommand } from './commands/decode.js';
import { encodeCommand } from './commands/encode.js';
import { keysGenerateCommand } from './commands/keys.js';
import { packageCommand } from './commands/package.js';
import { simFleetCommand } from './commands/sim-fleet.js';
import { simPkiCommand } from './commands/sim-pki.js';
import { readAll } from './input.js';

export const COMMANDS: Command[] = [decodeCommand, encodeCommand, keysGenerateCommand, configShowCommand, packageCommand, simPkiCommand, simFleetCommand];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: eim <command> [options]

An SGP.32 eIM (eSIM IoT Remote Manager) inside an LwM2M server.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run "eim <command> --help" for a command's options.
`;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: () => readAll(process.stdin),
};

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? 2 : 0;
  }
  // Multi-word commands ("keys generate", "sim pki") are registered with their full name.
  const cmd = COMMANDS.find((c) => c.name === name) ?? COMMANDS.find((c) => c.name === `${name} ${rest[0] ?? ''}`);
  if (cmd === undefined) {
    io.stderr(`eim: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  return runCommand(cmd, cmd.name.includes(' ') ? rest.slice(1) : rest, io);
}
