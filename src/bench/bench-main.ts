/**
 * Standalone entry for the bench (the same command as `nativelog bench`):
 *   node dist/src/bench/bench-main.js --record-bytes 1024 --seconds 8 --json
 */
import { Command } from 'commander';
import { registerBenchCommand } from './bench-command.js';

const program = new Command('nativelog');
registerBenchCommand(program);
await program.parseAsync(['bench', ...process.argv.slice(2)], { from: 'user' });
