/**
 * BloomFilter: no false negatives ever, a false-positive rate near the documented
 * ~1.3% of the split-block design at 10 bits per key, a byte-exact marshal/unmarshal round trip, and garbage refused as CorruptError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BloomFilter, BITS_PER_KEY, K } from './bloom-filter.js';
import { HashSet32, tokenHashes } from './tokenizer.js';
import { ByteReader, ByteWriter, CorruptError } from './byte-buffer.js';
import { hashSetOf, xorshift } from './test-helpers.js';

test('never a false negative (any set of 32-bit hashes, 0 and 2^32-1 included)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 1, 0xffffffff, 0x80000000)), { maxLength: 2000 }), (xs) => {
      const set = hashSetOf(xs);
      const b = BloomFilter.build(set);
      for (const x of xs) assert.ok(b.mayContain(x), `false negative for ${x}`);
      assert.equal(b.m % 64, 0);
      assert.ok(b.m >= 64 && b.m >= set.size * BITS_PER_KEY && b.m <= Math.max(256, set.size * BITS_PER_KEY + 255), `m = ${b.m} for ${set.size} keys`);
      assert.equal(b.k, K);
      assert.equal(b.bits.length, b.m / 8);
    }),
    { numRuns: 200 },
  );
});

test('never a false negative for the tokens of any text', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 30 }), (texts) => {
      const set = new HashSet32();
      for (const t of texts) for (const h of tokenHashes(t)) set.add(h);
      const b = BloomFilter.build(set);
      for (const t of texts) for (const h of tokenHashes(t)) assert.ok(b.mayContain(h));
    }),
    { numRuns: 200 },
  );
});


/** False-positive rate of a filter of 10k keys, probed with 100k keys not in it. */
function fpRate(key: (i: number) => number): number {
  const present = new Set<number>();
  for (let i = 0; i < 10_000; i++) present.add(key(i));
  const b = BloomFilter.build(hashSetOf(present));
  for (const k of present) assert.ok(b.mayContain(k));
  let probes = 0;
  let fp = 0;
  for (let i = 10_000; probes < 100_000; i++) {
    const k = key(i);
    if (present.has(k)) continue;
    probes++;
    if (b.mayContain(k)) fp++;
  }
  return fp / probes;
}

const random = (() => {
  const next = xorshift(0x12345678);
  const memo: number[] = [];
  return (i: number) => {
    while (memo.length <= i) memo.push(next());
    return memo[i]!;
  };
})();
/** Real token hashes: FNV-1a of words that differ in their last characters (ids, counters). */
const tokens = (i: number) => tokenHashes(`user${i}`)[0]!;
const numbers = (i: number) => tokenHashes(String(i))[0]!;

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

test('false-positive rate at the documented design point (split blocks, 10 bits per key: "about 1.3%"): below 2% for 10k keys, 100k probes', () => {
  for (const [what, key] of [['random keys', random], ['token hashes user<i>', tokens], ['token hashes of numbers', numbers]] as const) {
    const rate = fpRate(key);
    assert.ok(rate < 0.02, `${what}: false-positive rate ${pct(rate)}`);
  }
});

test('keys that are not spread over all 32 bits (small integers) still get a useful filter (the block is chosen from a mixed hash)', () => {
  const rate = fpRate((i) => i);
  assert.ok(rate < 0.05, `sequential keys: false-positive rate ${pct(rate)}`);
});

test('marshal / unmarshal round trip: same bits, same answers, byteLength exact', () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 500 }), fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 50 }), (xs, probes) => {
      const b = BloomFilter.build(hashSetOf(xs));
      const w = new ByteWriter(1);
      w.u8(0xee); // at an offset
      b.marshal(w);
      w.u8(0xdd);
      assert.equal(w.pos, 2 + b.byteLength);
      const r = new ByteReader(w.view(), 1);
      const c = BloomFilter.unmarshal(r);
      assert.equal(r.u8(), 0xdd);
      assert.equal(c.m, b.m);
      assert.equal(c.k, b.k);
      assert.deepEqual(Buffer.from(c.bits), Buffer.from(b.bits));
      for (const p of [...xs, ...probes]) assert.equal(c.mayContain(p), b.mayContain(p));
    }),
    { numRuns: 200 },
  );
});

test('unmarshal of garbage throws CorruptError (bad m or k, truncated bits), never anything else', () => {
  const good = new ByteWriter(1);
  BloomFilter.build(hashSetOf([1, 2, 3])).marshal(good);
  const bytes = Buffer.from(good.view());
  const withHeader = (m: number, k: number, bits: number) => {
    const w = new ByteWriter(1);
    w.u32(m);
    w.u8(k);
    w.bytes(Buffer.alloc(bits));
    return Buffer.from(w.view());
  };
  const good0 = BloomFilter.build(hashSetOf([1, 2, 3]));
  const bad: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['m = 0', withHeader(0, good0.k, 8)],
    ['m not a whole number of blocks', withHeader(good0.m + 8, good0.k, good0.m / 8 + 1)],
    ['m past the cap', withHeader(0xffffff00, good0.k, 8)],
    ['k = 0', withHeader(good0.m, 0, good0.m / 8)],
    ['k another value', withHeader(good0.m, good0.k + 1, good0.m / 8)],
    ['bits cut short', withHeader(good0.m, good0.k, good0.m / 8 - 1)],
  ];
  assert.doesNotThrow(() => BloomFilter.unmarshal(new ByteReader(withHeader(good0.m, good0.k, good0.m / 8))), 'the header the cases vary');
  for (let cut = 0; cut < bytes.length; cut++) bad.push([`cut at ${cut}`, bytes.subarray(0, cut)]);
  for (const [what, buf] of bad) assert.throws(() => BloomFilter.unmarshal(new ByteReader(buf)), CorruptError, what);

  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (buf) => {
      try {
        const b = BloomFilter.unmarshal(new ByteReader(buf));
        // Garbage that happens to be well-formed is a filter of its own size: no out-of-range reads.
        assert.ok(b.m % 64 === 0 && b.bits.length === b.m / 8 && b.k >= 1 && b.k <= 32);
        for (let h = 0; h < 100; h++) b.mayContain(h * 0x9e3779b1);
      } catch (err) {
        assert.ok(err instanceof CorruptError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});
