/**
 * FuseFilter and the index entry's filter encoding (block-filter.ts): no false
 * negatives ever, a false-positive rate near 1/256, the documented sizes, the same
 * filter whatever the order of the keys, a byte-exact round trip through the entry
 * encoding (fuse and bloom), and garbage refused as CorruptError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FuseFilter, fuseGeometry, fuseSeed, MAX_FUSE_SLOTS } from './fuse-filter.js';
import { BloomFilter } from './bloom-filter.js';
import { buildFilter, filterBytes, filterFromBytes, FILTER_FUSE8 } from './block-filter.js';
import { HashSet32 } from './tokenizer.js';
import { CorruptError } from './byte-buffer.js';
import { hashSetOf, xorshift } from './test-helpers.js';

test('never a false negative (any set of 32-bit hashes, 0 and 2^32-1 included)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 1, 0xffffffff, 0x80000000)), { maxLength: 3000 }), (xs) => {
      const f = FuseFilter.build(hashSetOf(xs));
      assert.ok(f !== null);
      for (const x of xs) assert.ok(f.mayContain(x), `false negative for ${x}`);
    }),
    { numRuns: 300 },
  );
});

test('an empty filter holds nothing; one key is found', () => {
  const empty = FuseFilter.build(new HashSet32())!;
  assert.equal(empty.fingerprints.length, 0);
  for (const h of [0, 1, 7, 0xffffffff]) assert.equal(empty.mayContain(h), false);
  const one = FuseFilter.build(hashSetOf([42]))!;
  assert.ok(one.mayContain(42));
});

test('false positives near 1/256 and about 9.5 bits per key for a block-sized set', () => {
  const next = xorshift(7);
  const set = new HashSet32(70_000);
  while (set.size < 65_000) set.add(next());
  const f = FuseFilter.build(set)!;
  const bitsPerKey = (8 * f.byteLength) / set.size;
  assert.ok(bitsPerKey > 9 && bitsPerKey < 10, `${bitsPerKey.toFixed(2)} bits per key`);
  let probes = 0;
  let hits = 0;
  while (probes < 400_000) {
    const h = next();
    if (set.has(h)) continue;
    probes++;
    if (f.mayContain(h)) hits++;
  }
  // 1/256 = 0.39%; the binomial's standard deviation here is 0.01%.
  const rate = hits / probes;
  assert.ok(rate > 0.0034 && rate < 0.0044, `false-positive rate ${(100 * rate).toFixed(3)}%`);
});

test('the same keys in any order give the same filter', () => {
  const next = xorshift(11);
  const keys = Array.from({ length: 5000 }, next);
  const a = FuseFilter.build(hashSetOf(keys))!;
  const b = FuseFilter.build(hashSetOf([...keys].reverse()))!;
  assert.deepEqual([a.seed, a.segmentLength, a.segmentCount], [b.seed, b.segmentLength, b.segmentCount]);
  assert.ok(Buffer.from(a.fingerprints).equals(Buffer.from(b.fingerprints)));
  const xor = keys.reduce((x, k) => x ^ k, 0) >>> 0;
  assert.ok(a.seed === fuseSeed(xor, 0) || a.seed === fuseSeed(xor, 1), 'one of the first seeds');
  // Another set of the same size has a seed of its own (blocks' false positives are independent).
  const c = FuseFilter.build(hashSetOf(Array.from({ length: 5000 }, xorshift(12))))!;
  assert.equal(c.segmentLength, a.segmentLength);
  assert.notEqual(c.seed, a.seed);
});

test('geometry: segment lengths are powers of two, and the array has room for the keys', () => {
  for (const n of [1, 2, 3, 10, 100, 1000, 65_000, 1_000_000, 1_800_000]) {
    const { segmentLength, segmentCount } = fuseGeometry(n);
    assert.equal(segmentLength & (segmentLength - 1), 0, `n=${n}`);
    assert.ok(segmentLength >= 4 && segmentLength <= 1 << 18, `n=${n}`);
    assert.ok(segmentCount >= 1);
    const slots = (segmentCount + 2) * segmentLength;
    assert.ok(slots >= 1.125 * n, `n=${n}: ${slots} slots`);
  }
  assert.ok((fuseGeometry(1_800_000).segmentCount + 2) * fuseGeometry(1_800_000).segmentLength <= MAX_FUSE_SLOTS);
});

test('too many keys for a fuse filter: build gives null and buildFilter a bloom filter', () => {
  const next = xorshift(3);
  const set = new HashSet32(2_000_000);
  while (set.size < 1_950_000) set.add(next());
  assert.equal(FuseFilter.build(set), null);
  const f = buildFilter(set);
  assert.ok(f instanceof BloomFilter);
  for (let s = 0; s < set.slots.length; s += 997) if (set.slots[s] !== 0) assert.ok(f.mayContain(set.slots[s]!));
});

test('entry encoding round trip: fuse and bloom filters come back byte for byte and of their kind', () => {
  const keys = Array.from({ length: 3000 }, xorshift(5));
  const fuse = buildFilter(hashSetOf(keys));
  assert.ok(fuse instanceof FuseFilter);
  const bytes = filterBytes(fuse);
  assert.equal(Buffer.from(bytes).readUInt32LE(0), 0);
  assert.equal(bytes[4], FILTER_FUSE8);
  const again = filterFromBytes(bytes);
  assert.ok(again instanceof FuseFilter);
  assert.ok(Buffer.from(filterBytes(again)).equals(Buffer.from(bytes)));
  for (const k of keys) assert.ok(again.mayContain(k));

  const bloom = BloomFilter.build(hashSetOf(keys));
  const b2 = filterFromBytes(filterBytes(bloom));
  assert.ok(b2 instanceof BloomFilter);
  assert.ok(Buffer.from(filterBytes(b2)).equals(Buffer.from(filterBytes(bloom))));

  const empty = filterFromBytes(filterBytes(buildFilter(new HashSet32())));
  assert.ok(empty instanceof FuseFilter && empty.mayContain(1) === false);
});

test('damaged filter bytes are CorruptError, never another exception or a crash', () => {
  const good = Buffer.from(filterBytes(buildFilter(hashSetOf(Array.from({ length: 500 }, xorshift(9))))));
  const bad = (b: Uint8Array, why: string) => assert.throws(() => filterFromBytes(b), CorruptError, why);
  bad(Buffer.concat([good.subarray(0, 4), Buffer.from([2]), good.subarray(5)]), 'unknown kind');
  bad(good.subarray(0, good.length - 1), 'short fingerprints');
  bad(Buffer.concat([good, Buffer.from([0])]), 'a byte too many');
  const odd = Buffer.from(good);
  odd.writeUInt32LE(1000, 9); // segment length not a power of two
  bad(odd, 'segment length');
  const huge = Buffer.from(good);
  huge.writeUInt32LE(0xffffffff, 13); // segment count
  bad(huge, 'segment count');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      try {
        filterFromBytes(b);
      } catch (err) {
        assert.ok(err instanceof CorruptError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
  // Random bytes after a valid fuse header prefix, too.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 12, maxLength: 40 }), (b) => {
      try {
        filterFromBytes(Buffer.concat([Buffer.from([0, 0, 0, 0, FILTER_FUSE8]), b]));
      } catch (err) {
        assert.ok(err instanceof CorruptError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});
