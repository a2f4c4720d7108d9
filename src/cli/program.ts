/**
 * The nativelog command tree (DESIGN section 5) and its runner: errors
 * become one sentence on stderr and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander';
import { CliError, exitCodeOf, toMessage } from './cli-error.js';
import { benchPlaceholder, registerBench } from './commands/bench.js';
import { clusterCommand } from './commands/cluster.js';
import { consumeCommand } from './commands/consume.js';
import { produceCommand } from './commands/produce.js';
import { startCommand } from './commands/start.js';
import { streamCommand } from './commands/stream.js';
import { verifyCommand } from './commands/verify.js';
import { EXIT_USAGE } from './exit-codes.js';

export const VERSION = '0.1.0';

/** commander's "error: unknown option '--x'" as a sentence. */
function commanderSentence(text: string): string {
  return toMessage(text.replace(/^error:\s*/i, ''));
}

/** The command tree; `withBench` registers the real bench command (it loads the node) instead of its placeholder. */
export async function buildProgram(withBench = false): Promise<Command> {
  const program = new Command('nativelog')
    .description('NativeLog: a distributed, replicated write-ahead log')
    .version(VERSION)
    .showSuggestionAfterError();
  for (const c of [startCommand(), streamCommand(), produceCommand(), consumeCommand(), clusterCommand(), verifyCommand()]) program.addCommand(c);
  if (withBench) await registerBench(program);
  else program.addCommand(benchPlaceholder());
  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ outputError: (text, write) => write(`${commanderSentence(text)}\n`) });
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}

/** Runs the command line; resolves to the exit code (process.exitCode may be set by a command). */
export async function runCli(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv[0] === 'bench');
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; a missing command (help shown as an error) and bad flags are usage errors.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`${toMessage(e)}\n`);
    return e instanceof CliError ? e.exitCode : exitCodeOf(e);
  }
}
