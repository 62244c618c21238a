/**
 * The shape of a CLI command and the shared argument handling: every command has a usage text printed by
 * --help, parses its flags with node:util parseArgs (unknown flags are errors), and returns an exit status.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EimError } from '../errors.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<Uint8Array>;
}

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** A usage mistake: printed with the command's usage, exit status 2. */
export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Runs a command, turning expected failures into a message and an exit status instead of a stack trace. */
export async function runCommand(cmd: Command, args: string[], io: CliIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${cmd.usage.trim()}\n`);
    return 0;
  }
  try {
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`eim ${cmd.name}: ${e.message}\n\n${cmd.usage.trim()}\n`);
      return 2;
    }
    if (e instanceof EimError) {
      io.stderr(`eim ${cmd.name}: ${e.message} [${e.code}]\n`);
      return 1;
    }
    throw e;
  }
}
