import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_TRUNCATED, OctetFramer } from './index.js';
import type { FrameSink, FramerOptions, FramingEventKind, FramingMode } from './framer.js';
import { nativeOctetFrames, setNativeOctet } from './octet.js';
import { BatchBuilder } from '../../pipeline/batch.js';
import { type Frame, b, checkAllSplits, opts, run, splitAt, str, takeMany } from './test-helpers.js';

const T = FRAME_TRUNCATED;
const f = (s: string, flags = 0): Frame => ({ s, flags });
type Ev = Array<[FramingEventKind, number]>;

interface Case {
  name: string;
  input: string;
  o?: Partial<FramerOptions>;
  frames: Frame[];
  /** Events in octet mode (default: none). */
  octet?: Ev;
  /** Events in auto mode (default: same as octet). */
  auto?: Ev;
}

// The same input through both modes: frames are identical, only the events differ
// (auto mode does not report frames that never looked counted).
const cases: Case[] = [
  { name: 'one counted frame', input: '5 hello', frames: [f('hello')] },
  { name: 'back-to-back counted frames', input: '5 hello3 abc1 x', frames: [f('hello'), f('abc'), f('x')] },
  { name: 'counted frames with trailing LF', input: '5 hello\n3 abc\r\n\n1 x\0', frames: [f('hello'), f('abc'), f('x')] },
  { name: 'body is byte-exact (LF, CR, NUL, digits)', input: '6 a\nb\r\0\n2 9 ', frames: [f('a\nb\r\0\n'), f('9 ')] },
  { name: 'body may end in CR', input: '2 a\r\n', frames: [f('a\r')] },
  { name: 'multi-digit count', input: `12 ${'x'.repeat(12)}`, frames: [f('x'.repeat(12))] },
  {
    name: 'octet then LF mixed',
    input: '5 hello<13>plain line\n3 abc{"j":1}\r\n',
    frames: [f('hello'), f('<13>plain line'), f('abc'), f('{"j":1}')],
    octet: [['bad_octet_count', 14], ['bad_octet_count', 7]],
    auto: [],
  },
  { name: '0 x', input: '0 x\n', frames: [f('0 x')], octet: [['bad_octet_count', 3]], auto: [] },
  { name: '-5 x', input: '-5 x\n', frames: [f('-5 x')], octet: [['bad_octet_count', 4]], auto: [] },
  { name: 'abc x', input: 'abc x\n', frames: [f('abc x')], octet: [['bad_octet_count', 5]], auto: [] },
  { name: '5x hello', input: '5x hello\n', frames: [f('5x hello')], octet: [['bad_octet_count', 8]] },
  { name: 'leading zero', input: '05 hello\n', frames: [f('05 hello')], octet: [['bad_octet_count', 8]], auto: [] },
  { name: 'count then LF', input: '12\n3 abc', frames: [f('12'), f('abc')], octet: [['bad_octet_count', 2]] },
  { name: 'count then tab', input: '3\tabc\n', frames: [f('3\tabc')], octet: [['bad_octet_count', 5]] },
  {
    name: '12345678901234 x (more than 10 digits)',
    input: '12345678901234 x\n2 ok',
    frames: [f('12345678901234 x'), f('ok')],
    octet: [['bad_octet_count', 16]],
  },
  {
    name: 'bad count resynchronises at the next LF',
    input: '7z garbage garbage\r\n4 next',
    frames: [f('7z garbage garbage'), f('next')],
    octet: [['bad_octet_count', 18]],
  },
  {
    name: 'digits only, then end()',
    input: '2 ok123',
    frames: [f('ok'), f('123')],
    octet: [['bad_octet_count', 3]],
  },
  {
    name: 'count larger than the remaining stream, then end(): emitted flagged truncated',
    input: '2 ok100 short',
    frames: [f('ok'), f('short', T)],
    octet: [['truncated', 5]],
  },
  {
    name: 'count larger than the remaining stream, drop policy',
    input: '2 ok100 short',
    o: { onOversize: 'drop' },
    frames: [f('ok')],
    octet: [['oversize_dropped', 5]],
  },
  { name: 'count then nothing: no frame, event', input: '9 ', frames: [], octet: [['truncated', 0]] },
  {
    name: 'count > maxFrame: truncate, skip the rest',
    input: '10 0123456789\n2 ok',
    o: { maxFrame: 4 },
    frames: [f('0123', T), f('ok')],
    octet: [['truncated', 10]],
  },
  {
    name: 'count > maxFrame: drop',
    input: '10 0123456789\n2 ok',
    o: { maxFrame: 4, onOversize: 'drop' },
    frames: [f('ok')],
    octet: [['oversize_dropped', 10]],
  },
  {
    name: 'count > maxFrame, stream ends while skipping',
    input: '10 0123456',
    o: { maxFrame: 4 },
    frames: [f('0123', T)],
    octet: [['truncated', 7]],
  },
  {
    name: 'count == maxFrame is fine',
    input: '4 abcd4 efgh',
    o: { maxFrame: 4 },
    frames: [f('abcd'), f('efgh')],
  },
  {
    name: 'fallback LF frame longer than maxFrame',
    input: '5xabcdef\n1 z',
    o: { maxFrame: 4 },
    frames: [f('5xab', T), f('z')],
    octet: [['truncated', 8], ['bad_octet_count', 8]],
  },
  {
    name: 'LF fallback with NUL delimiter',
    input: '<1>a\0<2>b\0\n3 abc',
    o: { nulDelimiter: true },
    frames: [f('<1>a'), f('<2>b'), f('abc')],
    octet: [['bad_octet_count', 4], ['bad_octet_count', 4]],
    auto: [],
  },
  {
    name: 'NUL kept inside LF frames without nulDelimiter, leading NUL skipped',
    input: '\0<1>a\0b\n',
    frames: [f('<1>a\0b')],
    octet: [['bad_octet_count', 6]],
    auto: [],
  },
  { name: 'separators only', input: '\n\r\n\0\0\n', frames: [] },
];

for (const mode of ['octet', 'auto'] as const satisfies FramingMode[]) {
  describe(`${mode} mode: basics (every split point, and 1-byte chunks)`, () => {
    for (const c of cases) {
      it(c.name, () => {
        const events = mode === 'octet' ? c.octet ?? [] : c.auto ?? c.octet ?? [];
        checkAllSplits(opts(mode, c.o), b(c.input), { frames: c.frames, events });
      });
    }
  });
}

describe('octet framing: zero-copy, buffering', () => {
  it('a counted body inside a chunk is a view of that chunk', () => {
    const chunk = b('5 hello\n3 abc');
    const seen: Array<[Buffer, number, number]> = [];
    new OctetFramer(opts('octet')).push(chunk, (buf, s, e) => seen.push([buf, s, e]));
    assert.deepEqual(seen.map(([, s, e]) => [s, e]), [[2, 7], [10, 13]]);
    for (const [buf] of seen) assert.equal(buf, chunk);
  });

  it('buffered counts digits and partial bodies, bounded by maxFrame', () => {
    const fr = new OctetFramer(opts('octet', { maxFrame: 8 }));
    const sink = (): void => {};
    fr.push(b('12'), sink);
    assert.equal(fr.buffered, 2, 'digits of an unfinished count');
    fr.push(b('3 abc'), sink);
    assert.equal(fr.buffered, 3, 'partial body');
    fr.push(b('defghijk'), sink);
    assert.equal(fr.buffered, 0, 'truncated head emitted, rest skipped');
    fr.push(b('x'.repeat(500)), sink);
    assert.equal(fr.buffered, 0);
  });

  it('a body split over chunks is assembled into one fresh buffer', () => {
    const c1 = b('5 he');
    const c2 = b('llo');
    const got: Array<[Buffer, number, number]> = [];
    const fr = new OctetFramer(opts('octet'));
    fr.push(c1, (buf, s, e) => got.push([buf, s, e]));
    fr.push(c2, (buf, s, e) => got.push([buf, s, e]));
    assert.equal(got.length, 1);
    const [buf, s, e] = got[0]!;
    assert.notEqual(buf, c1);
    assert.notEqual(buf, c2);
    c1.fill(0);
    c2.fill(0);
    assert.equal(buf.toString('latin1', s, e), 'hello');
  });
});

/** Counted frames: any bytes (count >= 1), optionally followed by separators. */
const octetStream = (maxLen = 30) =>
  fc
    .array(
      fc.record({
        body: fc.uint8Array({ minLength: 1, maxLength: maxLen }),
        sep: fc.constantFrom('', '', '\n', '\r\n', '\0'),
      }),
      { maxLength: 8 },
    )
    .map((items) => ({
      frames: items.map((it) => str(it.body)),
      stream: b(items.map((it) => `${it.body.length} ${str(it.body)}${it.sep}`).join('')),
    }));

describe('octet framing: properties', () => {
  for (const mode of ['octet', 'auto'] as const) {
    it(`${mode}: every split point gives the original frames`, () => {
      fc.assert(
        fc.property(octetStream(), ({ frames, stream }) => {
          checkAllSplits(opts(mode), stream, { frames: frames.map((s) => f(s)), events: [] });
        }),
        { numRuns: 150 },
      );
    });

    it(`${mode}: random chunkings give the original frames`, () => {
      fc.assert(
        fc.property(octetStream(), fc.array(fc.nat(400), { maxLength: 80 }), ({ frames, stream }, cuts) => {
          const r = run(opts(mode), splitAt(stream, cuts));
          assert.deepEqual(r.frames, frames.map((s) => f(s)));
          assert.deepEqual(r.events, []);
        }),
        { numRuns: 400 },
      );
    });
  }

  for (const onOversize of ['truncate', 'drop'] as const) {
    it(`counts above maxFrame (${onOversize}) at every split point`, () => {
      fc.assert(
        fc.property(octetStream(16), fc.integer({ min: 1, max: 12 }), ({ frames, stream }, maxFrame) => {
          const exp: Frame[] = [];
          const events: Ev = [];
          for (const s of frames) {
            if (s.length <= maxFrame) exp.push(f(s));
            else if (onOversize === 'truncate') {
              exp.push(f(s.slice(0, maxFrame), T));
              events.push(['truncated', s.length]);
            } else events.push(['oversize_dropped', s.length]);
          }
          checkAllSplits(opts('octet', { maxFrame, onOversize }), stream, { frames: exp, events });
        }),
        { numRuns: 150 },
      );
    });
  }
});

describe('octet framing: the native run of counted frames (native/octet_frames.cc)', { skip: nativeOctetFrames() === null ? 'native addon not built (or RINGLOG_NATIVE=off)' : false }, () => {
  const kinds = [['octet', 'counted frames', 0], ['auto', 'every third frame a line', 3], ['auto', 'lines only', 1]] as const;
  for (const [mode, what, lineEvery] of kinds) it(`${mode}, ${what}: hands a chunk's whole frames over in one go, and batches are the same as frame by frame`, () => {
    const body = (k: number) => `<13>1 - h a - - - message ${k}`;
    // Counted frames (some with an LF after them), or lines (LF or CR LF).
    const frame = (k: number) => (lineEvery > 0 && k % lineEvery === 0 ? `${body(k)}${k % 2 ? '\r\n' : '\n'}` : `${body(k).length} ${body(k)}${k % 7 === 0 ? '\n' : ''}`);
    const stream = Buffer.from(Array.from({ length: 3000 }, (_, k) => frame(k)).join(''), 'latin1');
    const batches = (native: boolean) => {
      setNativeOctet(native);
      try {
        const out: string[][] = [];
        let singles = 0;
        let many = 0;
        const builder = new BatchBuilder({ listener: 'l', transport: 'tcp', peer: 'p' }, (bt) => {
          const frames: string[] = [];
          for (let i = 0; i < bt.count; i++) frames.push(bt.buf.toString('latin1', bt.offsets[2 * i]!, bt.offsets[2 * i + 1]!));
          assert.equal(bt.bytes, frames.reduce((n, s) => n + s.length, 0));
          out.push(frames);
        });
        const sink: FrameSink = (buf, s, e, fl) => {
          singles++;
          builder.emit(buf, s, e, fl);
        };
        sink.many = (buf, offsets, n, bytes) => {
          many += n;
          builder.emit.many!(buf, offsets, n, bytes);
        };
        const framer = new OctetFramer(opts(mode), mode === 'octet');
        for (const c of splitAt(stream, [65536, 131072, 140000])) {
          framer.push(c, sink);
          builder.flush();
        }
        framer.end(sink);
        builder.flush();
        return { out, singles, many };
      } finally {
        setNativeOctet(true);
      }
    };
    const on = batches(true);
    const off = batches(false);
    assert.deepEqual(on.out, off.out);
    assert.equal(on.out.flat().length, 3000);
    assert.equal(off.many, 0);
    // Only the frames the chunk ends cut (and the first of each chunk after one) go one by one.
    assert.ok(on.singles <= 8 && on.many >= 2990, `${on.singles} one by one, ${on.many} at once`);
  });

  it('a framer reused after end() (its run state carried over): the same frames, flags and events, in order, as frame by frame', () => {
    const streams = [
      'x\n5 hello\n12 over the max!tail\n', // a line (bad in octet mode), a frame, one over maxFrame (8)
      '3 abc',                                // ends mid-stream: end() in Start
      'line\r\n4 ab',                       // ends in a counted body: end() truncates
      '\0\n7 1234567',
    ];
    for (const mode of ['octet', 'auto'] as const) {
      const log = (many: boolean) => {
        const out: string[] = [];
        const framer = new OctetFramer({ ...opts(mode, { maxFrame: 8 }), onEvent: (k, n) => out.push(`${k} ${n}`) }, mode === 'octet');
        const sink: FrameSink = (buf, s, e, fl) => out.push(`${buf.toString('latin1', s, e)}/${fl}`);
        if (many) takeMany(sink);
        for (let r = 0; r < 3; r++) {
          for (const st of streams) {
            for (const c of splitAt(Buffer.from(st, 'latin1'), [3, 9])) framer.push(c, sink);
            framer.end(sink);
            out.push('end');
          }
        }
        return out;
      };
      assert.deepEqual(log(true), log(false), mode);
    }
  });

  it('refuses arguments that do not fit', () => {
    const fn = nativeOctetFrames()!;
    const chunk = Buffer.from('3 abc2 de1 f');
    const out = new Uint32Array(8);
    const st = new Float64Array(2);
    assert.equal(fn(chunk, 0, 100, 0, out, st), 3);
    assert.deepEqual([...out.subarray(0, 6), ...st], [2, 5, 7, 9, 11, 12, 12, 6]);
    // As many as fit, and where it stopped; a count over maxFrame stops it.
    assert.equal(fn(chunk, 0, 100, 0, new Uint32Array(3), st), 1);
    assert.deepEqual([...st], [5, 3]);
    assert.equal(fn(chunk, 0, 2, 0, out, st), 0);
    assert.deepEqual([...st], [0, 0]);
    assert.throws(() => fn(chunk, 99, 100, 0, out, st), RangeError);
    assert.throws(() => fn(chunk, 0, 100, 0, out, new Float64Array(1)), RangeError);
    assert.throws(() => fn(chunk, 0.5, 100, 0, out, st), TypeError);
    assert.throws(() => fn(chunk, 0, 100, 4, out, st), TypeError);
    assert.throws(() => fn(chunk, 0, 100, 0, new Uint16Array(8) as unknown as Uint32Array, st), TypeError);
    assert.throws(() => fn(new Uint8Array(new SharedArrayBuffer(4)), 0, 100, 0, out, st), TypeError);
    const words = new Float64Array(6);
    assert.throws(() => fn(chunk, 0, 100, 0, new Uint32Array(words.buffer, 0, 8), words.subarray(3, 5)), RangeError);
  });

  it('takes lines in auto mode (LINES): to LF, or NUL with NUL, one CR before it stripped; stops at a line the chunk cuts or over maxFrame', () => {
    const fn = nativeOctetFrames()!;
    const out = new Uint32Array(16);
    const st = new Float64Array(2);
    const frames = (chunk: Buffer, n: number) => Array.from({ length: n }, (_, k) => chunk.toString('latin1', out[2 * k]!, out[2 * k + 1]!));
    const chunk = Buffer.from('ab\r\n\n3 xyzc\0d\r\r\ne\ntail', 'latin1');
    // Strict octet mode: no lines.
    assert.equal(fn(chunk, 0, 100, 0, out, st), 0);
    assert.equal(fn(chunk, 0, 100, 1, out, st), 4);
    assert.deepEqual(frames(chunk, 4), ['ab', 'xyz', 'c\0d\r', 'e']);
    assert.deepEqual([...st], [chunk.length - 4, 2 + 3 + 4 + 1]);
    assert.equal(fn(chunk, 0, 100, 3, out, st), 5);
    assert.deepEqual(frames(chunk, 5), ['ab', 'xyz', 'c', 'd\r', 'e']);
    // A frame longer than maxFrame stops it before that frame: a count (xyz: 3 > 2), a line (abcd: 4 > 3).
    assert.equal(fn(chunk, 0, 2, 3, out, st), 1);
    assert.deepEqual([...st], [4, 2]);
    assert.equal(fn(Buffer.from('abcd\n'), 0, 3, 1, out, st), 0);
    assert.deepEqual([...st], [0, 0]);
  });
});
