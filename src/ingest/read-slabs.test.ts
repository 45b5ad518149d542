import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlabPool, SLAB_BYTES, READ_BYTES } from './read-slabs.js';

test('a slab is reused only after every batch holding it is released', () => {
  const pool = new SlabPool();
  pool.readBuffer.fill(0x61);
  const first = pool.copyIn(READ_BYTES);
  first.slab.retain(); // a batch keeps a view of this read
  // Fill the slab so that the next read starts a new one.
  for (let i = 1; i < SLAB_BYTES / READ_BYTES; i++) pool.copyIn(READ_BYTES);
  const second = pool.copyIn(READ_BYTES);
  assert.notEqual(second.slab, first.slab);
  assert.equal(pool.freeSlabs, 0, 'the first slab is still held by its batch');
  // Reads go on through a third slab while the first is held.
  for (let i = 1; i < SLAB_BYTES / READ_BYTES; i++) pool.copyIn(READ_BYTES);
  pool.readBuffer.fill(0x62);
  const third = pool.copyIn(100);
  assert.notEqual(third.slab, first.slab);
  assert.equal(first.slab.buf[0], 0x61, 'held bytes were not overwritten');
  first.slab.release();
  assert.equal(pool.freeSlabs, 2, 'both retired slabs are free once released');
  assert.equal(pool.allocated, 3);
  for (let i = 1; i < SLAB_BYTES / 100; i++) pool.copyIn(100);
  const reused = pool.copyIn(100);
  assert.ok(reused.slab === first.slab || reused.slab === second.slab, 'a free slab is reused, not a new one allocated');
  assert.equal(pool.allocated, 3);
  assert.equal(reused.slab.buf[reused.start], 0x62);
});

test('a load that keeps more slabs in flight than the minimum kept free reuses them when its queue refills, instead of allocating anew', () => {
  const pool = new SlabPool();
  pool.readBuffer.fill(0x63);
  /** Fills `n` slabs with reads whose batches are held; returns the slabs (the last one is the pool's current). */
  const fill = (n: number) => {
    const held = new Set<ReturnType<SlabPool['copyIn']>['slab']>();
    for (let i = 0; i < n * (SLAB_BYTES / READ_BYTES); i++) {
      const r = pool.copyIn(READ_BYTES);
      if (!held.has(r.slab)) {
        r.slab.retain();
        held.add(r.slab);
      }
    }
    return [...held];
  };
  // 40 slabs in flight (a queue of ~40 MiB), then all released: the queue drained.
  const first = fill(40);
  const allocated = pool.allocated;
  assert.ok(allocated >= 40);
  for (const s of first) s.release();
  assert.ok(pool.freeSlabs >= 38, `${pool.freeSlabs} free: more than the 16 kept at least`);
  // The queue fills again to the same depth: the slabs are reused.
  const second = fill(40);
  assert.ok(pool.allocated <= allocated + 1, `${pool.allocated - allocated} new slabs for the second fill`);
  for (const s of second) s.release();
});
