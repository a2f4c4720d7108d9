// Install step (package.json "install"): builds the optional CRC-32 addon in
// this folder with node-gyp (npm's own copy; needs python3, make and a C
// compiler, and Node's headers: nodedir or node-gyp's cache). It never fails
// the install: without the addon, src/record/crc32.ts uses @node-rs/crc32.
// The addon is only built on x86-64, the one place its folding path runs.
// NATIVELOG_NO_NATIVE=1 skips it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** Longest a build may take before it is given up (a stuck toolchain must not hang an install). */
const BUILD_TIMEOUT_MS = 180_000;

function skip(reason) {
  console.warn(`nativelog: optional CRC-32 addon not built (${reason}); CRC-32 uses @node-rs/crc32 instead.`);
  process.exit(0);
}

if (process.env.NATIVELOG_NO_NATIVE === '1') skip('NATIVELOG_NO_NATIVE=1');
if (process.arch !== 'x64') skip(`arch ${process.arch}: the addon's fast path is x86-64 only`);
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].filter((p) => typeof p === 'string' && p !== '' && existsSync(p));
if (candidates.length === 0) skip('node-gyp not found next to npm');
// Node's own headers: npm's nodedir setting, else the install prefix of this node (never a download).
const prefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include/node/common.gypi')) ? prefix : '');
const gypArgs = [candidates[0], 'rebuild', ...(nodedir !== '' ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(process.execPath, gypArgs, { cwd: here, stdio: 'inherit', timeout: BUILD_TIMEOUT_MS });
if (r.error !== undefined) skip(`node-gyp: ${r.error.message}`);
if (r.status !== 0) skip(`node-gyp exited with ${r.status ?? r.signal}`);
console.log('nativelog: built the CRC-32 addon (src/record/native/build/Release/nativelog_crc32.node)');
