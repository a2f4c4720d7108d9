/**
 * nativelog bench: not yet (issue 5). Kept as a command so the name is
 * reserved and `nativelog bench` says so clearly.
 */
import { Command } from 'commander';
import { CliError } from '../cli-error.js';

export function benchCommand(): Command {
  return new Command('bench')
    .description('load generator (not yet available: issue 5)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new CliError('nativelog bench is not available yet (issue 5); see bench/README.md once it lands.');
    });
}
