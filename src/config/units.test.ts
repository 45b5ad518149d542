import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, parseDuration } from './units.js';
import { parseHostPort } from './address.js';

test('sizes', () => {
  assert.equal(parseSize('64KiB'), 65536);
  assert.equal(parseSize('1.5MB'), 1_500_000);
  assert.equal(parseSize('16mib'), 16 * 1024 * 1024);
  assert.equal(parseSize(1234), 1234);
  assert.equal(parseSize('12 parsecs'), null);
  assert.equal(parseSize('-1'), null);
  assert.equal(parseSize(-1), null);
});

test('durations', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration(0), 0);
  assert.equal(parseDuration('soon'), null);
});

test('host:port', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:5140'), { host: '127.0.0.1', port: 5140 });
  assert.deepEqual(parseHostPort('[::1]:5140'), { host: '::1', port: 5140 });
  assert.deepEqual(parseHostPort(':5140'), { host: '', port: 5140 });
  assert.deepEqual(parseHostPort('5140'), { host: '', port: 5140 });
  assert.deepEqual(parseHostPort('*:514'), { host: '', port: 514 });
  assert.equal(parseHostPort('::1:5140'), null);
  assert.equal(parseHostPort('host'), null);
  assert.equal(parseHostPort('host:99999'), null);
});
