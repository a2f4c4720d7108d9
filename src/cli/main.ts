#!/usr/bin/env node
/**
 * The nativelog command (package.json bin). See docs/CLI.md.
 */
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2));
// Long-running commands (start, consume --follow) keep the loop alive themselves; others end here.
if (code !== 0) process.exit(code);
process.exitCode = 0;
