/**
 * nativelog bench (src/bench, issue 5). Its module loads the whole node, so it
 * is registered only when the command line asks for bench; otherwise a
 * placeholder keeps it listed in `nativelog --help`.
 */
import { Command } from 'commander';
import { CliError } from '../cli-error.js';

export function benchPlaceholder(): Command {
  return new Command('bench')
    .description('produce/consume benchmark against an embedded node or --server (see `nativelog bench --help`, bench/README.md)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new CliError('nativelog bench was not loaded.');
    });
}

/** Registers the real bench command on `program`. */
export async function registerBench(program: Command): Promise<void> {
  let mod: typeof import('../../bench/bench-command.js');
  try {
    mod = await import('../../bench/bench-command.js');
  } catch (e) {
    throw new CliError(`nativelog bench is not available in this build: ${(e as Error).message}`);
  }
  mod.registerBenchCommand(program);
}
