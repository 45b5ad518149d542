/**
 * The native string finder (native/json_strings.cc, json-strings.ts) against its
 * definition, scanString(): the same list of strings for every frame, and the same
 * records from ParseStage with the hints as without them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { recordAt } from '../../record/record.js';
import { scanString, scanned } from './json-scanner.js';
import { hintedScanString, nativeJsonStrings, prepareHints, clearHints, hintFrame, setStringHints } from './json-strings.js';
import { ParseStage } from './parse-stage.js';
import type { FormatName } from './format.js';
import { frameBatchOf } from './test-helpers.js';

const ESC = 0x80000000;
const native = nativeJsonStrings();
const skip = native === null ? 'native addon not built (or RINGLOG_NATIVE=off)' : false;

/** The list the native code must give for frame [s, e): found with scanString(), string after string. */
function expected(buf: Buffer, s: number, e: number): number[] {
  const out: number[] = [];
  let p = s;
  if (e - p >= 3 && buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) p += 3;
  while (p < e && (buf[p] === 0x20 || buf[p] === 0x09 || buf[p] === 0x0a || buf[p] === 0x0d)) p++;
  if (p >= e || buf[p] !== 0x7b) return out;
  for (;;) {
    const q = buf.indexOf(0x22, p);
    if (q < 0 || q >= e) return out;
    const end = scanString(buf, q + 1, e);
    if (end < 0) return out;
    out.push(q + 1, (end | (scanned.esc ? ESC : 0)) >>> 0);
    p = end;
  }
}

/** Runs the native finder over a batch of frames laid out in one buffer with `gap` bytes between them. */
function run(frames: Buffer[], gap: number, outWords = 1 << 16): { buf: Buffer; offsets: Uint32Array; lists: number[][] } {
  const parts: Buffer[] = [];
  const offsets = new Uint32Array(frames.length * 2);
  let at = 0;
  frames.forEach((f, i) => {
    offsets[2 * i] = at;
    offsets[2 * i + 1] = at + f.length;
    parts.push(f, Buffer.alloc(gap, 0x22)); // quotes between frames: never part of a frame's list
    at += f.length + gap;
  });
  const buf = Buffer.concat(parts).subarray(0, Math.max(0, at - gap)); // the last frame ends the buffer
  const out = new Uint32Array(outWords);
  const frameAt = new Uint32Array(frames.length + 1);
  const words = native!(buf, offsets, frames.length, out, frameAt);
  assert.equal(frameAt[frames.length], words);
  const lists: number[][] = [];
  for (let i = 0; i < frames.length; i++) lists.push(Array.from(out.subarray(frameAt[i]!, frameAt[i + 1]!)));
  return { buf, offsets, lists };
}

/** Bytes of JSON-ish text: strings with and without escapes, controls, quotes, long runs crossing 64-byte blocks. */
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('{', '}', '[', ']', ':', ',', ' ', '\t', '\r', '\n', '"', '1', 'true', '-0.5e3') },
  { weight: 6, arbitrary: fc.string({ maxLength: 90 }).map((s) => JSON.stringify(s)) },
  { weight: 2, arbitrary: fc.constantFrom('\\', '\\"', '\\\\', '\\n', '\\u00e9', '\\u12', '\\x', '\u0001', '\u001f', '\u007f', '\u00ff', '\ufeff', '€') },
  { weight: 2, arbitrary: fc.nat(130).map((n) => 'a'.repeat(n)) },
);
const frameArb = fc
  .tuple(fc.constantFrom('', '{', ' {', '\ufeff{', '\ufeff \r\n{', 'x{', '"'), fc.array(piece, { maxLength: 40 }))
  .map(([head, ps]) => Buffer.from(head + ps.join(''), 'utf8'));
const objectLine = fc
  .tuple(fc.object({ maxDepth: 3 }), fc.constantFrom('', ' ', '\ufeff'))
  .map(([o, pre]) => Buffer.from(pre + JSON.stringify(o), 'utf8'));

describe('native JSON string finder', { skip }, () => {
  it('lists, for every frame that is an object, the strings scanString() finds, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(frameArb, objectLine), { minLength: 1, maxLength: 12 }), fc.nat(3), (frames, gap) => {
        const { buf, offsets, lists } = run(frames, gap);
        frames.forEach((_, i) => assert.deepEqual(lists[i], expected(buf, offsets[2 * i]!, offsets[2 * i + 1]!)));
      }),
      { numRuns: 3000 },
    );
  });

  it('handles strings across 64-byte blocks, frames that end at the buffer end, and empty frames', () => {
    const long = 'x'.repeat(61);
    const cases = [
      `{"${long}":"${long}${long}"}`,
      `{"a":"${'b'.repeat(62)}"}`, // a quote at byte 63 and 64
      `{"${'é'.repeat(40)}":"\u0001"}`, // a control inside the second string: the list stops before it
      `{"a":"b","c":"${'d'.repeat(100)}`, // unterminated at the end
      `{"a\\"b":"${'c'.repeat(70)}","d":"\\u00e9"}`,
      '',
      '{',
      '{"',
    ];
    for (const gap of [0, 1, 64]) {
      const frames = cases.map((c) => Buffer.from(c, 'utf8'));
      const { buf, offsets, lists } = run(frames, gap);
      frames.forEach((_, i) => assert.deepEqual(lists[i], expected(buf, offsets[2 * i]!, offsets[2 * i + 1]!), `case ${i}, gap ${gap}`));
    }
  });

  it('stops at the end of its output array with whole entries only', () => {
    const frame = Buffer.from(`{${Array.from({ length: 100 }, (_, k) => `"k${k}":"v"`).join(',')}}`);
    for (const words of [0, 1, 2, 7, 64, 65, 130, 401]) {
      const { buf, offsets, lists } = run([frame], 0, words);
      const all = expected(buf, offsets[0]!, offsets[1]!);
      assert.equal(lists[0]!.length % 2, 0);
      assert.ok(lists[0]!.length <= words);
      assert.deepEqual(lists[0], all.slice(0, lists[0]!.length), `${words} words`);
    }
  });

  it('refuses arguments that do not fit', () => {
    const buf = Buffer.from('{"a":1}');
    assert.throws(() => native!(buf, new Uint32Array(2), 2, new Uint32Array(8), new Uint32Array(3)), RangeError);
    assert.throws(() => native!(buf, new Uint32Array(2), 1, new Uint32Array(8), new Uint32Array(1)), RangeError);
    // Arrays of another element type are refused, not read as 32-bit words.
    assert.throws(() => native!(buf, new Uint16Array(2) as unknown as Uint32Array, 1, new Uint32Array(8), new Uint32Array(2)), TypeError);
    assert.throws(() => native!(buf, new Uint32Array(2), 1, new Uint8Array(8) as unknown as Uint32Array, new Uint32Array(2)), TypeError);
    const shared = new Uint8Array(new SharedArrayBuffer(buf.length));
    assert.throws(() => native!(shared as unknown as Buffer, new Uint32Array(2), 1, new Uint32Array(8), new Uint32Array(2)), TypeError);
    const words = new Uint32Array(10);
    assert.throws(() => native!(buf, new Uint32Array(2), 1, words.subarray(0, 8), words.subarray(7, 9)), RangeError, 'out and frameAt share a word');
    // A frame outside the buffer gets no hints (and no read past the buffer).
    const frameAt = new Uint32Array(2);
    assert.equal(native!(buf, Uint32Array.of(0, 99), 1, new Uint32Array(8), frameAt), 0);
  });
});

describe('hinted parsing', { skip }, () => {
  /** Records of a batch, parsed by a fresh stage with or without hints. */
  function records(format: FormatName, frames: Buffer[], hints: boolean): unknown[] {
    setStringHints(hints);
    try {
      const b = new ParseStage(format).parse(frameBatchOf(frames));
      return Array.from({ length: b.count }, (_, i) => recordAt(b, i));
    } finally {
      setStringHints(true);
    }
  }

  it('gives the same records as parsing without hints (json, gelf, auto)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(objectLine, frameArb), { minLength: 1, maxLength: 8 }), fc.constantFrom<FormatName>('json', 'gelf', 'auto'), (frames, format) => {
        assert.deepEqual(records(format, frames, true), records(format, frames, false));
      }),
      { numRuns: 1500 },
    );
  });

  it('uses a hint only for the buffer it was made for, and only where a string starts', () => {
    const line = Buffer.from('{"msg":"hello","n":"x"}');
    const batch = frameBatchOf([line]);
    assert.ok(prepareHints(batch));
    hintFrame(0);
    const copy = Buffer.from(batch.buf);
    copy[12] = 0x01; // a control inside "hello" in the copy only
    assert.equal(hintedScanString(copy, 8, copy.length), -1, 'another buffer: scanned, not hinted');
    assert.equal(hintedScanString(batch.buf, 9, batch.buf.length), 14, 'not where a string starts: scanned');
    assert.equal(hintedScanString(batch.buf, 8, 10), -1, 'the hint ends past the limit: scanned');
    clearHints();
    assert.equal(hintedScanString(batch.buf, 8, batch.buf.length), 14);
  });
});
