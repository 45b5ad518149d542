/**
 * gather (gather.ts): the native copy against gatherJs, its definition; and the block
 * builder's deferred copies against copying text by text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { gatherJs, nativeGather, type GatherFn } from './gather.js';
import { BlockBuilder } from './block-builder.js';
import { Parsers } from './parsers.js';
import { buildBlock, parse } from './test-helpers.js';

const native = nativeGather();
const skip = native === null ? 'native addon not built (or RINGLOG_NATIVE=off)' : false;

/** What both must do: the bytes of the ranges, in order, after dst[0, dstAt). */
function expected(dst: Uint8Array, dstAt: number, src: Uint8Array, at: Uint32Array, len: Uint32Array, order: Uint32Array | null, from: number, to: number): Uint8Array {
  const parts: number[] = Array.from(dst.subarray(0, dstAt));
  for (let k = from; k < to; k++) {
    const i = order === null ? k : order[k]!;
    parts.push(...src.subarray(at[i]!, at[i]! + len[i]!));
  }
  const out = Uint8Array.from(dst);
  out.set(parts);
  return out;
}

const caseArb = fc
  .record({
    src: fc.uint8Array({ minLength: 1, maxLength: 400 }),
    ranges: fc.array(fc.tuple(fc.nat(400), fc.nat(120)), { maxLength: 30 }),
    dstAt: fc.nat(20),
    extra: fc.nat(40),
    ordered: fc.boolean(),
    seed: fc.nat(),
  })
  .map(({ src, ranges, dstAt, extra, ordered, seed }) => {
    const fit = ranges.map(([a, l]) => [a % src.length, Math.min(l, src.length - (a % src.length))] as const);
    const at = Uint32Array.from(fit.map((r) => r[0]));
    const len = Uint32Array.from(fit.map((r) => r[1]));
    const n = fit.length;
    const order = ordered ? Uint32Array.from({ length: n }, (_, k) => (k * 7 + seed) % Math.max(1, n)) : null;
    const from = n === 0 ? 0 : seed % (n + 1);
    let total = 0; // an order may pick a range more than once
    for (let k = from; k < n; k++) total += len[order === null ? k : order[k]!]!;
    const dst = new Uint8Array(dstAt + total + extra).fill(0xaa);
    return { src, at, len, order, dst, dstAt, from, to: n };
  });

function both(fn: (g: GatherFn, name: string) => void): void {
  fn(gatherJs, 'js');
  if (native !== null) fn(native, 'native');
}

describe('gather', () => {
  it('copies the ranges in order (order or none, any from), the same natively as in JavaScript', () => {
    fc.assert(
      fc.property(caseArb, ({ src, at, len, order, dst, dstAt, from, to }) => {
        const want = expected(dst, dstAt, src, at, len, order, from, to);
        both((g, name) => {
          const d = Uint8Array.from(dst);
          const n = g(d, dstAt, src, at, len, order, from, to);
          let total = 0;
          for (let k = from; k < to; k++) total += len[order === null ? k : order[k]!]!;
          assert.equal(n, total, name);
          assert.deepEqual(d, want, name);
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses what does not fit, and copies nothing then', () => {
    const src = Buffer.from('0123456789');
    const at = Uint32Array.of(0, 5, 8);
    const len = Uint32Array.of(3, 5, 3); // the last one runs past src
    both((g, name) => {
      const dst = new Uint8Array(16);
      assert.throws(() => g(dst, 0, src, at, len, null, 0, 3), RangeError, name);
      assert.deepEqual(dst, new Uint8Array(16), `${name}: nothing copied`);
      assert.throws(() => g(new Uint8Array(7), 0, src, at, len, null, 0, 2), RangeError, `${name}: dst too short`);
      assert.throws(() => g(dst, 17, src, at, len, null, 0, 0), RangeError, `${name}: dstAt past dst`);
      assert.throws(() => g(dst, 0, src, at, len, Uint32Array.of(0, 9), 0, 2), RangeError, `${name}: order points past at`);
      assert.throws(() => g(dst, 0, src, at, len, null, 2, 1), RangeError, `${name}: from after to`);
      assert.throws(() => g(dst, 0, src, at, len, Uint32Array.of(1), 0, 2), RangeError, `${name}: to past order`);
      assert.equal(g(dst, 0, src, at, len, Uint32Array.of(1, 0), 0, 2), 8, name);
      assert.equal(Buffer.from(dst.subarray(0, 8)).toString(), '56789012', name);
    });
  });
});

describe('native gather arguments', { skip }, () => {
  it('refuses a dst that shares memory with at, len or order (they are read while it is written), and a SharedArrayBuffer', () => {
    const g = native!;
    const src = Buffer.from('0123456789');
    const mem = new ArrayBuffer(64);
    const at = new Uint32Array(mem, 0, 2).fill(0);
    const len = Uint32Array.of(3, 3);
    assert.throws(() => g(new Uint8Array(mem, 0, 64), 16, src, at, len, null, 0, 2), RangeError);
    assert.throws(() => g(new Uint8Array(mem, 4, 60), 16, src, Uint32Array.of(0, 1), new Uint32Array(mem, 8, 2).fill(1), null, 0, 2), RangeError);
    assert.throws(() => g(new Uint8Array(mem, 0, 64), 32, src, Uint32Array.of(0, 1), len, new Uint32Array(mem, 16, 2), 0, 2), RangeError);
    assert.equal(g(new Uint8Array(mem, 32, 32), 0, src, at, len, null, 0, 2), 6);
    assert.throws(() => g(new Uint8Array(new SharedArrayBuffer(16)), 0, src, Uint32Array.of(0), Uint32Array.of(3), null, 0, 1), TypeError);
  });
});

describe('block builder copies', { skip }, () => {
  it('deferred native copies give the same block bytes as copying text by text', () => {
    const lines = Array.from({ length: 4000 }, (_, i) => i % 4 === 0
      ? `<${i % 192}>1 2026-11-22T09:00:0${i % 10}Z h${i % 3} a - - [s@1 i="${i}" j="x\\"y"] ${'m'.repeat(i % 90)} ${i}`
      : i % 4 === 1 ? `{"msg":"m\\t${i}","n":${i},"o":{"k":"${'v'.repeat(i % 70)}"}}`
      : i % 4 === 2 ? `{"time":"2026-11-22T09:00:00Z","message":"${'w '.repeat(i % 40)}","host":"h${i % 5}"}` : `plain ${i}`);
    const entries = [[parse('auto', lines.slice(0, 1500))], [parse('auto', lines.slice(1500, 1510)), parse('auto', lines.slice(1510))]];
    const a = buildBlock(entries, { builder: new BlockBuilder(), parsers: new Parsers() });
    const b = buildBlock(entries, { builder: new BlockBuilder({ copy: 'js' }), parsers: new Parsers() });
    assert.ok(a.sealed.bytes.equals(b.sealed.bytes));
  });
});
