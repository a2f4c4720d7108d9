/** --peers and HOST:PORT parsing: valid lists round-trip, every bad input is a clear sentence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeerConfigError, parseHostPort, parseNodeId, parsePeers } from '../../src/cluster/peer-address.js';

test('parsePeers reads ID@HOST:PORT lists, and an empty one is a cluster of one', () => {
  assert.deepEqual(parsePeers('', 1), []);
  assert.deepEqual(parsePeers('2@127.0.0.1:7071, 3@node-c.example:7072,4@[::1]:7073', 1), [
    { id: 2, host: '127.0.0.1', port: 7071, address: '127.0.0.1:7071' },
    { id: 3, host: 'node-c.example', port: 7072, address: 'node-c.example:7072' },
    { id: 4, host: '::1', port: 7073, address: '[::1]:7073' },
  ]);
});

const bad: [string, RegExp][] = [
  ['2@127.0.0.1:7071,2@127.0.0.1:7072', /names node 2 twice/],
  ['2@127.0.0.1:7071,3@127.0.0.1:7071', /gives the address 127\.0\.0\.1:7071 to two nodes/],
  ['1@127.0.0.1:7071', /names this node \(1\)/],
  ['2@127.0.0.1:0', /invalid port "0"/],
  ['2@127.0.0.1:65536', /invalid port "65536"/],
  ['2@127.0.0.1:http', /invalid port "http"/],
  ['2@127.0.0.1', /is not HOST:PORT/],
  ['127.0.0.1:7071', /is not ID@HOST:PORT/],
  ['0@127.0.0.1:7071', /out of range/],
  ['-2@127.0.0.1:7071', /not a positive integer/],
  ['x@127.0.0.1:7071', /not a positive integer/],
  ['2@127.0.0.1:7071,', /empty entry/],
  ['2@bad host:7071', /invalid host/],
];

for (const [text, why] of bad) {
  test(`parsePeers refuses ${JSON.stringify(text)}`, () => {
    assert.throws(() => parsePeers(text, 1), (err: unknown) => err instanceof PeerConfigError && why.test(err.message));
  });
}

test('parseNodeId and parseHostPort', () => {
  assert.equal(parseNodeId('17'), 17);
  assert.throws(() => parseNodeId('99999999999'), /out of range/);
  assert.deepEqual(parseHostPort('localhost:7070'), { host: 'localhost', port: 7070, address: 'localhost:7070' });
  assert.throws(() => parseHostPort(':7070'), /not HOST:PORT/);
});

test('any list of distinct ids and addresses round-trips (property)', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 2, max: 1000 }), { minLength: 1, maxLength: 8 }), fc.uniqueArray(fc.integer({ min: 1, max: 65535 }), { minLength: 8, maxLength: 8 }), (ids, ports) => {
      const text = ids.map((id, i) => `${id}@127.0.0.1:${ports[i]}`).join(',');
      const got = parsePeers(text, 1);
      assert.deepEqual(got.map((p) => [p.id, p.port]), ids.map((id, i) => [id, ports[i]]));
    }),
  );
});
