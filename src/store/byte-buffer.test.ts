/**
 * ByteWriter / ByteReader: every encoding round trips over its whole documented range,
 * and a reader never reads past its end: truncated input throws CorruptError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, CorruptError } from './byte-buffer.js';

/** Integers around the powers of two where the encodings change gear (2^7k, 2^31, 2^32, 2^52, 2^53). */
function nearPowers(max: number): fc.Arbitrary<number> {
  const edges: number[] = [];
  for (let p = 0; p <= 53; p++) for (const d of [-2, -1, 0, 1, 2]) {
    const v = 2 ** p + d;
    if (v >= 0 && v <= max) edges.push(v);
  }
  return fc.constantFrom(...edges);
}
const uv = fc.oneof(nearPowers(Number.MAX_SAFE_INTEGER), fc.integer({ min: 0, max: 0x7fffffff }), fc.maxSafeNat());
const sv = fc.oneof(
  nearPowers(2 ** 52 - 1),
  nearPowers(2 ** 52 - 1).map((v) => (v === 0 ? 0 : -v)),
  fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 }),
  fc.integer(),
);
const u32 = fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff));
const f64 = fc.oneof(fc.double(), fc.constantFrom(0, -0, 2 ** 52, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, Infinity, -Infinity, 1.8e12 + 0.123));
const bytes = fc.uint8Array({ maxLength: 300 });

type Op =
  | { k: 'u8'; v: number }
  | { k: 'u32'; v: number }
  | { k: 'f64'; v: number }
  | { k: 'uvarint'; v: number }
  | { k: 'svarint'; v: number }
  | { k: 'lenBytes'; v: Uint8Array }
  | { k: 'string'; v: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((v) => ({ k: 'u8' as const, v })),
  u32.map((v) => ({ k: 'u32' as const, v })),
  f64.map((v) => ({ k: 'f64' as const, v })),
  uv.map((v) => ({ k: 'uvarint' as const, v })),
  sv.map((v) => ({ k: 'svarint' as const, v })),
  bytes.map((v) => ({ k: 'lenBytes' as const, v })),
  fc.string({ unit: 'binary', maxLength: 30 }).map((v) => ({ k: 'string' as const, v })),
);

function write(w: ByteWriter, ops: Op[]): void {
  for (const o of ops) {
    switch (o.k) {
      case 'u8': w.u8(o.v); break;
      case 'u32': w.u32(o.v); break;
      case 'f64': w.f64(o.v); break;
      case 'uvarint': w.uvarint(o.v); break;
      case 'svarint': w.svarint(o.v); break;
      case 'lenBytes': w.lenBytes(o.v); break;
      case 'string': w.string(o.v); break;
    }
  }
}

function read(r: ByteReader, ops: Op[]): unknown[] {
  return ops.map((o) => {
    switch (o.k) {
      case 'u8': return r.u8();
      case 'u32': return r.u32();
      case 'f64': return r.f64();
      case 'uvarint': return r.uvarint();
      case 'svarint': return r.svarint();
      case 'lenBytes': return Buffer.from(r.lenBytes());
      case 'string': return r.string();
    }
  });
}

const expected = (ops: Op[]) => ops.map((o) => (o.k === 'lenBytes' ? Buffer.from(o.v) : o.v));

test('uvarint round trips over [0, 2^53), near every power of two; at most 8 bytes', () => {
  fc.assert(
    fc.property(uv, (v) => {
      const w = new ByteWriter(1);
      w.uvarint(v);
      assert.ok(w.pos <= 8, `${v} took ${w.pos} bytes`);
      assert.equal(w.pos, Math.max(1, Math.ceil(BigInt(v).toString(2).length / 7)), `${v}: LEB128 length`);
      const r = new ByteReader(w.view());
      assert.equal(r.uvarint(), v);
      assert.equal(r.remaining, 0);
    }),
    { numRuns: 2000 },
  );
});

test('uvarint is LEB128: known encodings', () => {
  const cases: [number, number[]][] = [
    [0, [0]], [1, [1]], [127, [0x7f]], [128, [0x80, 1]], [300, [0xac, 0x02]], [16383, [0xff, 0x7f]], [16384, [0x80, 0x80, 1]],
    [2 ** 31 - 1, [0xff, 0xff, 0xff, 0xff, 0x07]], [2 ** 31, [0x80, 0x80, 0x80, 0x80, 0x08]], [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
    [2 ** 53 - 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];
  for (const [v, enc] of cases) {
    const w = new ByteWriter(2);
    w.uvarint(v);
    assert.deepEqual([...w.view()], enc, `encoding of ${v}`);
    assert.equal(new ByteReader(Buffer.from(enc)).uvarint(), v);
  }
});

test('svarint (zigzag) round trips for |v| < 2^52, near every power of two and its negative', () => {
  fc.assert(
    fc.property(sv, (v) => {
      const w = new ByteWriter(1);
      w.svarint(v);
      const r = new ByteReader(w.view());
      assert.equal(r.svarint(), v);
      assert.equal(r.remaining, 0);
    }),
    { numRuns: 2000 },
  );
  const w = new ByteWriter(1);
  for (const v of [0, -1, 1, -2, 2]) w.svarint(v);
  assert.deepEqual([...w.view()], [0, 1, 2, 3, 4], 'zigzag order');
});

test('u32, f64, lenBytes, string and mixed sequences round trip; the writer grows from any size', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (ops, initial) => {
      const w = new ByteWriter(initial);
      write(w, ops);
      const r = new ByteReader(w.view());
      const got = read(r, ops);
      assert.equal(r.remaining, 0);
      const want = expected(ops);
      got.forEach((g, i) => {
        if (ops[i]!.k === 'f64') assert.ok(Object.is(g, want[i]), `f64 ${String(want[i])} came back as ${String(g)}`);
        else assert.deepEqual(g, want[i]);
      });
    }),
    { numRuns: 1000 },
  );
});

test('a reader over a sub-range reads only that range (start offset, unaligned views)', () => {
  const w = new ByteWriter(4);
  w.u8(0xaa);
  w.f64(Math.PI);
  w.u32(0xdeadbeef);
  w.uvarint(2 ** 40);
  const whole = Buffer.concat([Buffer.from([1, 2, 3]), w.view(), Buffer.from([9, 9])]);
  // A view at an odd byteOffset of a larger ArrayBuffer.
  const view = new Uint8Array(whole.buffer, whole.byteOffset + 1, whole.length - 1);
  const r = new ByteReader(view, 2, 2 + w.pos);
  assert.equal(r.u8(), 0xaa);
  assert.equal(r.f64(), Math.PI);
  assert.equal(r.u32(), 0xdeadbeef);
  assert.equal(r.uvarint(), 2 ** 40);
  assert.equal(r.remaining, 0);
  assert.throws(() => r.u8(), CorruptError, 'the bytes after `end` are not readable');
});

test('truncated input throws CorruptError at every cut point, never reading past `end`', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 12 }), (ops) => {
      const w = new ByteWriter(16);
      write(w, ops);
      const full = Buffer.from(w.view());
      for (let cut = 0; cut < full.length; cut++) {
        // The bytes after the cut are still in the buffer: a reader that ignored `end` would succeed.
        const r = new ByteReader(full, 0, cut);
        assert.throws(() => read(r, ops), CorruptError, `cut at ${cut} of ${full.length}`);
        assert.ok(r.pos <= cut, `read up to ${r.pos}, past the end ${cut}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('malformed varints and lengths throw CorruptError', () => {
  // Nine continuation bytes: longer than the 8 a value < 2^53 needs.
  assert.throws(() => new ByteReader(Buffer.alloc(9, 0x80)).uvarint(), CorruptError);
  assert.throws(() => new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).uvarint(), CorruptError);
  assert.throws(() => new ByteReader(Buffer.from([0x80])).uvarint(), CorruptError);
  assert.throws(() => new ByteReader(Buffer.alloc(0)).uvarint(), CorruptError);
  assert.throws(() => new ByteReader(Buffer.alloc(0)).svarint(), CorruptError);
  // A length far larger than what is left.
  const w = new ByteWriter(8);
  w.uvarint(2 ** 40);
  w.u8(1);
  assert.throws(() => new ByteReader(w.view()).lenBytes(), CorruptError);
  assert.throws(() => new ByteReader(w.view()).string(), CorruptError);
  assert.throws(() => new ByteReader(Buffer.alloc(10)).bytes(-1), CorruptError);
  assert.throws(() => new ByteReader(Buffer.alloc(3)).u32(), CorruptError);
  assert.throws(() => new ByteReader(Buffer.alloc(7)).f64(), CorruptError);
});

test('any bytes: a reader throws only CorruptError, and never moves past its end', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), fc.array(fc.constantFrom('u8', 'u32', 'f64', 'uvarint', 'svarint', 'lenBytes', 'string'), { maxLength: 20 }), (buf, kinds) => {
      const r = new ByteReader(buf);
      try {
        for (const k of kinds) (r as unknown as Record<string, () => unknown>)[k]!.call(r);
      } catch (err) {
        assert.ok(err instanceof CorruptError, String(err));
      }
      assert.ok(r.pos <= buf.length);
    }),
    { numRuns: 1000 },
  );
});
