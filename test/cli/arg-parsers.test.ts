import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIntArg, parseServer, parseServerList, parseTimeArg } from '../../src/cli/arg-parsers.js';
import { resolveBenchOptions } from '../../src/bench/bench-options.js';
import { CliError } from '../../src/cli/cli-error.js';
import { EXIT_USAGE } from '../../src/cli/exit-codes.js';

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CliError);
    assert.equal(e.exitCode, EXIT_USAGE);
    return e.message;
  }
  assert.fail('accepted');
}

test('time arguments accept epoch ms and ISO-8601 (UTC without a zone, offsets honored)', () => {
  assert.equal(parseTimeArg('--t', '1714566600000'), 1714566600000);
  assert.equal(parseTimeArg('--t', '2024-05-01T12:30:00Z'), Date.UTC(2024, 4, 1, 12, 30));
  assert.equal(parseTimeArg('--t', '2024-05-01T12:30:00.123Z'), Date.UTC(2024, 4, 1, 12, 30, 0, 123));
  assert.equal(parseTimeArg('--t', '2024-05-01T14:30:00+02:00'), Date.UTC(2024, 4, 1, 12, 30));
  assert.equal(parseTimeArg('--t', '2024-05-01'), Date.UTC(2024, 4, 1));
  assert.equal(parseTimeArg('--t', '2024-05-01 12:30'), Date.UTC(2024, 4, 1, 12, 30));
});

test('every epoch ms round-trips through its ISO-8601 text', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4102444800000 }), (t) => {
      assert.equal(parseTimeArg('--t', new Date(t).toISOString()), t);
      assert.equal(parseTimeArg('--t', String(t)), t);
    }),
  );
});

test('bad times are usage errors naming the flag', () => {
  for (const bad of ['yesterday', '2024-13-01', '2024-02-30', '2024-05-01T25:00Z', '', '1e5', '12:30']) {
    assert.match(usage(() => parseTimeArg('--from-append-time', bad)), /^--from-append-time must be epoch milliseconds or an ISO-8601 time/);
  }
});

test('integer flags enforce their bounds with a sentence naming the flag and the range', () => {
  assert.equal(parseIntArg('--shards', '4', 1, 1024), 4);
  assert.equal(usage(() => parseIntArg('--shards', '0', 1, 1024)), '--shards must be an integer from 1 to 1024, got "0".');
  assert.equal(usage(() => parseIntArg('--max', '1.5', 0)), '--max must be an integer >= 0, got "1.5".');
  for (const bad of ['abc', '', '1e3', '99999999999999999999', '-1']) usage(() => parseIntArg('--max', bad, 0));
});

test('--server takes HOST:PORT, including [IPv6]:PORT', () => {
  assert.deepEqual(parseServer('127.0.0.1:7070'), { host: '127.0.0.1', port: 7070 });
  assert.deepEqual(parseServer('localhost:1'), { host: 'localhost', port: 1 });
  assert.deepEqual(parseServer('[::1]:7070'), { host: '::1', port: 7070 });
  for (const bad of ['127.0.0.1', ':7070', 'host:0', 'host:65536', 'a:b', 'a b:1']) usage(() => parseServer(bad));
});

test('--server takes one HOST:PORT or a comma-separated list; a malformed entry is a usage error naming the flag', () => {
  assert.deepEqual(parseServerList('127.0.0.1:7070'), ['127.0.0.1:7070']);
  assert.deepEqual(parseServerList('a:1, b:2 ,[::1]:3'), ['a:1', 'b:2', '[::1]:3']);
  for (const bad of ['', 'a:1,', ',a:1', 'a:1,,b:2', 'a:1,b', 'a:1,b:70000']) {
    assert.throws(() => parseServerList(bad), /--server must be HOST:PORT/, bad);
  }
});

test('bench --server takes a list too', () => {
  assert.equal(resolveBenchOptions({ server: 'a:1,b:2' }).server, 'a:1,b:2');
  assert.throws(() => resolveBenchOptions({ server: 'a:1,,b:2' }), /--server must be HOST:PORT or a comma-separated list/);
});
