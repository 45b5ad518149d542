/**
 * The native fuse filter (native/block_index.cc, indexBlock with filter 1) against
 * FuseFilter.build over the JavaScript tokenizer's hashes, its definition: the same
 * serialized bytes (seed, geometry, fingerprints) for any set of tokens, retries of the
 * seed included; no false negatives; null where FuseFilter.build gives null. And
 * filter 0 (or left out) still gives the bloom filter of BloomFilter.build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nativeIndexBlock } from './native-index.js';
import { FuseFilter, fuseGeometry, fuseSeed, MAX_FUSE_SLOTS } from './fuse-filter.js';
import { BloomFilter, BITS_PER_KEY, BLOCK_BITS, MAX_BITS } from './bloom-filter.js';
import { HashSet32, addTokens, addValueTokens, pairPrefix } from './tokenizer.js';
import { ByteReader, ByteWriter } from './byte-buffer.js';
import { xorshift } from './test-helpers.js';

/** indexBlock as the addon takes it: the filter argument may be left out (0), and bad ones are tried here. */
type IndexBlockAny = (
  msgs: Uint8Array, msgAt: Uint32Array, msgLen: Uint32Array, n: number,
  values: Uint8Array, fAt: Uint32Array, fLen: Uint32Array, fCol: Uint32Array, nf: number,
  prefixes: Uint32Array, extra: Uint32Array, bitsPerKey: number, maxBlocks: number, filter?: unknown,
) => Uint8Array | null;

const native = nativeIndexBlock() as unknown as IndexBlockAny | null;
const skip = native === null ? 'native addon not built (or RINGLOG_NATIVE=off)' : false;


const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_';
const SEPARATORS = [' ', ' ', ' ', '/', '-', '.', '=', ', ', ': '];

/** A block of messages: the texts, and the JavaScript tokenizer's hashes of them. */
interface Block {
  msgs: Buffer;
  msgAt: Uint32Array;
  msgLen: Uint32Array;
  n: number;
  /** Field values (optional): bytes, where, column, and each column's pairPrefix. */
  values: Buffer;
  fAt: Uint32Array;
  fLen: Uint32Array;
  fCol: Uint32Array;
  nf: number;
  prefixes: Uint32Array;
  extra: Uint32Array;
  /** The hashes as the JavaScript path collects them. */
  set: HashSet32;
}

/**
 * Random messages of 1–6 tokens (some repeated, some differing only in case) until the
 * JavaScript tokenizer has exactly `size` distinct hashes.
 */
function blockOf(size: number, seed: number): Block {
  const rnd = xorshift(seed);
  const set = new HashSet32();
  const texts: Buffer[] = [];
  const word = () => {
    const len = 1 + (rnd() % 12);
    let w = '';
    for (let i = 0; i < len; i++) w += ALPHABET[rnd() % ALPHABET.length];
    return w;
  };
  while (set.size < size) {
    let text: string;
    if (texts.length > 0 && rnd() % 8 === 0) {
      // A repeat, or a repeat in another case: no new hash.
      const t = texts[rnd() % texts.length]!.toString('latin1');
      text = rnd() % 2 ? t : t.toUpperCase();
    } else {
      const words = Math.min(1 + (rnd() % 6), size - set.size);
      text = '';
      for (let i = 0; i < words; i++) text += (i > 0 ? SEPARATORS[rnd() % SEPARATORS.length] : '') + word();
    }
    const b = Buffer.from(text, 'latin1');
    // Only tokens up to `size`: a message that would pass it is one token, new or not.
    const probe = new HashSet32();
    addTokens(probe, b, 0, b.length);
    let fresh = 0;
    probe.forEach((h) => {
      if (!set.has(h)) fresh++;
    });
    if (set.size + fresh > size) continue;
    addTokens(set, b, 0, b.length);
    texts.push(b);
  }
  return messagesBlock(texts, set);
}

function messagesBlock(texts: Buffer[], set: HashSet32, extra: Uint32Array = new Uint32Array(0)): Block {
  const msgAt = new Uint32Array(texts.length);
  const msgLen = new Uint32Array(texts.length);
  let at = 0;
  texts.forEach((t, i) => {
    msgAt[i] = at;
    msgLen[i] = t.length;
    at += t.length;
  });
  return {
    msgs: Buffer.concat(texts), msgAt, msgLen, n: texts.length,
    values: Buffer.alloc(0), fAt: new Uint32Array(0), fLen: new Uint32Array(0), fCol: new Uint32Array(0), nf: 0,
    prefixes: new Uint32Array(0), extra, set,
  };
}

/** indexBlock over a block; `filter` 'omitted' makes the 13-argument call. */
function callNative(b: Block, filter: unknown): Uint8Array | null {
  const f = native!;
  const maxBlocks = MAX_BITS / BLOCK_BITS;
  return filter === 'omitted'
    ? f(b.msgs, b.msgAt, b.msgLen, b.n, b.values, b.fAt, b.fLen, b.fCol, b.nf, b.prefixes, b.extra, BITS_PER_KEY, maxBlocks)
    : f(b.msgs, b.msgAt, b.msgLen, b.n, b.values, b.fAt, b.fLen, b.fCol, b.nf, b.prefixes, b.extra, BITS_PER_KEY, maxBlocks, filter);
}

function marshalled(f: FuseFilter): Buffer {
  const w = new ByteWriter(16);
  f.marshal(w);
  return Buffer.from(w.view());
}

/** Native fuse bytes equal to FuseFilter.build's, and every hash found; the filter. */
function checkFuse(b: Block, what: string): FuseFilter {
  const js = FuseFilter.build(b.set);
  assert.ok(js !== null, `${what}: FuseFilter.build gave null`);
  const got = callNative(b, 1);
  assert.ok(got instanceof Uint8Array, `${what}: native gave ${String(got)}`);
  const want = marshalled(js);
  if (!Buffer.from(got).equals(want)) {
    const g = FuseFilter.unmarshal(new ByteReader(got));
    assert.deepEqual({ seed: g.seed, segmentLength: g.segmentLength, segmentCount: g.segmentCount },
      { seed: js.seed, segmentLength: js.segmentLength, segmentCount: js.segmentCount }, `${what}: header`);
    assert.fail(`${what}: native and JavaScript fingerprints differ`);
  }
  const f = FuseFilter.unmarshal(new ByteReader(got));
  assert.equal(f.byteLength, got.length);
  b.set.forEach((h) => assert.ok(f.mayContain(h), `${what}: false negative for ${h}`));
  return f;
}

const SIZES = [0, 1, 2, 3, 7, 100, 5000, 70_000];

test('filter 1: the same bytes as FuseFilter.build over the JavaScript tokens, for sets of 0 to 70 000 hashes', { skip }, () => {
  for (const size of SIZES) {
    for (let seed = 1; seed <= (size < 1000 ? 5 : 2); seed++) {
      const b = blockOf(size, seed * 0x9e3779b1 + size);
      assert.equal(b.set.size, size);
      const f = checkFuse(b, `${size} hashes, seed ${seed}`);
      if (size === 0) {
        assert.deepEqual([f.seed, f.segmentLength, f.segmentCount, f.fingerprints.length], [0, 0, 0, 0]);
        assert.equal(f.mayContain(12345), false);
      } else {
        assert.equal(f.fingerprints.length, (f.segmentCount + 2) * f.segmentLength);
      }
    }
  }
});

test('filter 1: no false negatives (every hash of the block is found in the native filter), and few false positives', { skip }, () => {
  for (const size of SIZES) {
    const b = blockOf(size, 0x51ed + size);
    const got = callNative(b, 1)!;
    const f = FuseFilter.unmarshal(new ByteReader(got));
    let found = 0;
    b.set.forEach((h) => {
      if (f.mayContain(h)) found++;
    });
    assert.equal(found, size, `${size} hashes`);
    if (size >= 5000) {
      const rnd = xorshift(0xfeed + size);
      let probes = 0;
      let fp = 0;
      while (probes < 200_000) {
        const h = rnd();
        if (b.set.has(h)) continue;
        probes++;
        if (f.mayContain(h)) fp++;
      }
      assert.ok(fp / probes < 0.006, `${size} hashes: false-positive rate ${((fp / probes) * 100).toFixed(2)}%`);
    }
  }
});

test('filter 1: many small sets, where seeds fail and the next is tried: the same seeds and bytes', { skip }, () => {
  let retried = 0;
  for (let i = 0; i < 3000; i++) {
    const b = blockOf(2 + (i % 40), 0xabc00 + i);
    const f = checkFuse(b, `set ${i} of ${b.set.size}`);
    let xor = 0;
    for (const h of b.set.slots) xor ^= h;
    if (f.seed !== fuseSeed(xor >>> 0, 0)) retried++;
  }
  assert.ok(retried > 0, 'no set needed a second seed: the retry path is not compared');
});

test('filter 1: field values, extra hashes and hash 0 (stored as 1) make the same set and the same filter', { skip }, () => {
  const rnd = xorshift(0x7777);
  const texts = Array.from({ length: 500 }, (_, i) => Buffer.from(`GET /api/v${i % 3}/orders/${i} ${rnd() % 1000} ok`));
  const cols = ['host', 'req.id', 'msg'];
  const prefixes = Uint32Array.from(cols, pairPrefix);
  const vals = Array.from({ length: 900 }, (_, i) => Buffer.from(i % 3 === 0 ? `web-${i % 7}` : i % 3 === 1 ? String(i) : i % 5 ? `two words ${i % 13}` : ''));
  const fCol = Uint32Array.from(vals, (_v, i) => i % 3);
  const fAt = new Uint32Array(vals.length);
  const fLen = new Uint32Array(vals.length);
  vals.reduce((at, v, i) => {
    fAt[i] = at;
    fLen[i] = v.length;
    return at + v.length;
  }, 0);
  const values = Buffer.concat(vals);
  // Extra hashes: 1 (what hash 0 becomes), 2^32 − 1, and zeros (skipped), as the caller's HashSet32 slots.
  const extraSet = new HashSet32(16);
  for (const h of [0, 0xffffffff, 0x80000000, 12345]) extraSet.add(h);
  const set = new HashSet32();
  extraSet.forEach((h) => set.add(h));
  for (const t of texts) addTokens(set, t, 0, t.length);
  vals.forEach((_v, i) => addValueTokens(set, prefixes[fCol[i]!]!, values, fAt[i]!, fAt[i]! + fLen[i]!));
  const b: Block = { ...messagesBlock(texts, set, extraSet.slots), values, fAt, fLen, fCol, nf: vals.length, prefixes };
  const f = checkFuse(b, 'messages, values and extra hashes');
  assert.ok(f.mayContain(0) && f.mayContain(1) && f.mayContain(0xffffffff));
});

test('filter 1: the geometry of fuseGeometry on both sides of the sizes where it changes (Math.log and std::log agree there)', { skip }, () => {
  const changes: number[] = [];
  let prev = fuseGeometry(1);
  for (let n = 2; n <= 250_000; n++) {
    const g = fuseGeometry(n);
    if (g.segmentLength !== prev.segmentLength || g.segmentCount !== prev.segmentCount) changes.push(n);
    prev = g;
  }
  // Every change of segment length, and every 4th of segment count (169 changes up to 250 000).
  const picked = changes.filter((n, k) => k % 4 === 0 || fuseGeometry(n).segmentLength !== fuseGeometry(n - 1).segmentLength);
  assert.ok(picked.length > 40, `${picked.length} sizes`);
  for (const at of picked) {
    for (const n of [at - 1, at]) {
      // n distinct non-zero hashes: (i + 1) × an odd number is one-to-one mod 2^32.
      const extra = new Uint32Array(n);
      for (let i = 0; i < n; i++) extra[i] = Math.imul(i + 1, 0x2545f491) >>> 0;
      const got = callNative({ ...messagesBlock([], new HashSet32(16)), extra }, 1);
      assert.ok(got !== null, `${n} hashes`);
      const r = new ByteReader(got);
      r.u32();
      const g = fuseGeometry(n);
      assert.deepEqual([r.u32(), r.u32()], [g.segmentLength, g.segmentCount], `${n} hashes`);
    }
  }
});

test('filter 1: null, as FuseFilter.build, when the set needs more than MAX_FUSE_SLOTS slots', { skip }, () => {
  const set = new HashSet32(2_000_000);
  const rnd = xorshift(0x1234567);
  while (set.size < 1_900_000) set.add(rnd());
  assert.equal(FuseFilter.build(set), null, 'the JavaScript gives up too');
  const b = messagesBlock([], set, set.slots);
  assert.equal(callNative(b, 1), null);
  // Just under the limit: a filter.
  const small = new HashSet32(2_000_000);
  const rnd2 = xorshift(0x7654321);
  while (small.size < 1_700_000) small.add(rnd2());
  const js = FuseFilter.build(small)!;
  assert.ok(js !== null && js.fingerprints.length <= MAX_FUSE_SLOTS);
  assert.ok(Buffer.from(callNative(messagesBlock([], small, small.slots), 1)!).equals(marshalled(js)));
});

test('filter 0, undefined or left out: the bloom filter of BloomFilter.build, as before', { skip }, () => {
  for (const size of SIZES) {
    const b = blockOf(size, 0xb100 + size);
    const want = Buffer.from(BloomFilter.build(b.set).bits);
    for (const filter of [0, undefined, 'omitted']) {
      const got = callNative(b, filter);
      assert.ok(got !== null && Buffer.from(got).equals(want), `${size} hashes, filter ${String(filter)}`);
    }
  }
});

test('a filter argument other than 0 or 1 is refused', { skip }, () => {
  const b = blockOf(10, 3);
  for (const bad of [2, -1, 0.5, NaN]) assert.throws(() => callNative(b, bad), RangeError, String(bad));
  for (const bad of ['1', null, true]) assert.throws(() => callNative(b, bad), TypeError, String(bad));
});
