import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIsoTime } from '../../src/block/index.js';

test('parseIsoTime reads dates, date-times, fractions and zones to epoch ms', () => {
  const cases: [string, number][] = [
    ['1970-01-01', 0],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['2024-05-01T12:30', Date.UTC(2024, 4, 1, 12, 30)],
    ['2024-05-01 12:30:15', Date.UTC(2024, 4, 1, 12, 30, 15)],
    ['2024-05-01T12:30:15.1Z', Date.UTC(2024, 4, 1, 12, 30, 15, 100)],
    ['2024-05-01T12:30:15.123456789Z', Date.UTC(2024, 4, 1, 12, 30, 15, 123)],
    ['2024-05-01T12:30:15+02:00', Date.UTC(2024, 4, 1, 10, 30, 15)],
    ['2024-05-01T12:30:15-0130', Date.UTC(2024, 4, 1, 14, 0, 15)],
    ['2024-05-01T12:30:15+05', Date.UTC(2024, 4, 1, 7, 30, 15)],
    ['1969-12-31T23:59:59.999Z', -1],
    ['0050-01-01', Date.parse('0050-01-01T00:00:00.000Z')],
  ];
  for (const [text, ms] of cases) assert.equal(parseIsoTime(text), ms, text);
});

test('a date-time without a zone is UTC, not the machine zone', () => {
  assert.equal(parseIsoTime('2024-01-01T00:00:00'), Date.UTC(2024, 0, 1));
});

test('parseIsoTime rejects impossible dates and non-ISO text with null', () => {
  for (const text of ['2023-02-29', '2024-13-01', '2024-04-31', '2024-01-01T24:00', '2024-01-01T12:60', '2024-01-01T12:00:60',
    '2024-01-01T00:00+24:00', 'May 1 2024', '2024/05/01', '1714560000000', '', '2024-1-1', '2024-01-01T', '2024-01-01T12']) {
    assert.equal(parseIsoTime(text), null, text);
  }
});

test('parseIsoTime agrees with Date.toISOString for any time in years 1..9999 (property)', () => {
  fc.assert(
    fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (d) => {
      assert.equal(parseIsoTime(d.toISOString()), d.getTime());
    }),
    { numRuns: 1000 },
  );
});
