import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryBuffers, entryClass, entryClassBytes } from './entry-buffers.js';

test('size classes: a class holds every bound up to its size, within ~19%, and a size maps back to its class', () => {
  for (const bound of [1, 1000, 65_536, 65_537, 100_000, 131_072, 1_000_000, 4_194_304, 4_200_000, 8_000_000]) {
    const c = entryClass(bound);
    const bytes = entryClassBytes(c);
    assert.ok(bytes >= bound, `${bound}: class ${c} of ${bytes}`);
    assert.ok(bound <= 65_536 || bytes <= bound * 1.19 + 16_384, `${bound}: class ${c} of ${bytes} is too large`);
  }
});

test('a queue of entries that fills, drains and fills again reuses its buffers; sizes far apart do not share', () => {
  const pool = new EntryBuffers(64 * 1024 * 1024);
  const cycle = (bounds: number[]) => {
    const bufs = bounds.map((b) => pool.take(b));
    for (const [k, b] of bufs.entries()) assert.ok(b.length >= bounds[k]!);
    // The worker gives them back (transferred: the ArrayBuffers themselves).
    for (const b of bufs) pool.give(b.buffer as ArrayBuffer);
  };
  // 300 entries of ~80 KiB in flight (24 MiB: more than the 16 MiB a fixed cap kept), then 10 of ~4 MiB (in all within maxPending).
  const small = Array.from({ length: 300 }, (_, i) => 70_000 + (i % 7) * 1000);
  const large = Array.from({ length: 10 }, (_, i) => 4_000_000 + i * 10_000);
  cycle(small);
  cycle(large);
  const allocated = pool.allocated;
  cycle(small);
  cycle(large);
  assert.equal(pool.allocated, allocated, 'the second round allocated nothing');
  // With large free buffers around, a small entry still gets a small buffer.
  assert.ok(pool.take(70_000).length < 100_000);
  // Not its own: dropped, not kept.
  const before = pool.freeBytes;
  pool.give(new ArrayBuffer(12_345));
  assert.equal(pool.freeBytes, before);
});

test('free buffers are kept up to maxPending + 16 MiB in all', () => {
  const pool = new EntryBuffers(8 * 1024 * 1024);
  const bufs = Array.from({ length: 10 }, () => pool.take(4_000_000));
  for (const b of bufs) pool.give(b.buffer as ArrayBuffer);
  assert.ok(pool.freeBytes <= 24 * 1024 * 1024, `${pool.freeBytes} bytes kept`);
  assert.ok(pool.freeBytes >= 20 * 1024 * 1024);
});
