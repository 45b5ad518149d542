import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReuseLimit } from './reuse-limit.js';

/** A clock the test moves. */
function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('keeps at least the minimum, and as many as were in use at once in this window and the previous one', () => {
  const c = clock();
  const r = new ReuseLimit(2, 100, c.now);
  assert.equal(r.limit(), 2);
  for (let i = 0; i < 10; i++) r.taken();
  assert.equal(r.limit(), 10);
  // All back: a free list may keep all ten.
  for (let free = 0; free < 10; free++) assert.equal(r.returned(free), true, `the ${free + 1}th back is kept`);
  assert.equal(r.returned(10), false, 'an eleventh is not');
  // Still remembered one window later (the previous window's peak)…
  c.advance(100);
  assert.equal(r.limit(), 10);
  // …and forgotten after two quiet windows: back to the minimum, or what is in use now.
  c.advance(100);
  assert.equal(r.limit(), 2);
  for (let i = 0; i < 3; i++) r.taken();
  assert.equal(r.limit(), 3);
});

test('a long pause with no call forgets the busy window at once', () => {
  const c = clock();
  const r = new ReuseLimit(1, 100, c.now);
  for (let i = 0; i < 5; i++) r.taken();
  for (let free = 0; free < 5; free++) r.returned(free);
  c.advance(350);
  assert.equal(r.limit(), 1);
});
