import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitReceived } from './time.js';

test('splitReceived: whole ms and the fraction as whole µs in ns, a fraction that rounds up carried into the next ms', () => {
  assert.deepEqual(splitReceived(1_796_417_755_248), { ms: 1_796_417_755_248, ns: 0 });
  assert.deepEqual(splitReceived(1_796_417_755_248.25), { ms: 1_796_417_755_248, ns: 250_000 });
  assert.deepEqual(splitReceived(1_000.0004), { ms: 1_000, ns: 0 });
  assert.deepEqual(splitReceived(1_000.0006), { ms: 1_000, ns: 1_000 });
  assert.deepEqual(splitReceived(1_000.9994), { ms: 1_000, ns: 999_000 });
  // Rounds to 1000 µs: the next ms, 0 ns (never ns = 1,000,000).
  assert.deepEqual(splitReceived(1_000.9996), { ms: 1_001, ns: 0 });
  assert.deepEqual(splitReceived(0), { ms: 0, ns: 0 });
  for (let k = 0; k < 10_000; k++) {
    const t = 1.7e12 + Math.random() * 1e11;
    const { ms, ns } = splitReceived(t);
    assert.ok(Number.isInteger(ms) && Number.isInteger(ns) && ns >= 0 && ns < 1_000_000 && ns % 1000 === 0, `${t}: ${ms} ${ns}`);
    assert.ok(Math.abs(ms + ns / 1e6 - t) <= 0.0005 + 1e-6, `${t}: ${ms} ${ns}`);
  }
});
