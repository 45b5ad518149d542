/** Hostile and degenerate input, all modes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_TRUNCATED, createFramer } from './index.js';
import type { FrameSink, FramingEventKind, FramingMode } from './framer.js';
import { b, chunksOf, opts, run, splitAt } from './test-helpers.js';

const MODES: FramingMode[] = ['lf', 'octet', 'auto'];
const MiB = 1024 * 1024;

/** Garbage biased towards the bytes the framers care about. */
const garbage = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0x0a, 0x0d, 0x00, 0x20, 0x30, 0x31, 0x35, 0x39, 0x2d),
  ),
  { maxLength: 600 },
);

describe('hostile input', () => {
  for (const mode of MODES) {
    it(`${mode}: random garbage never throws, frames stay within maxFrame, buffered stays bounded`, () => {
      fc.assert(
        fc.property(
          garbage,
          fc.array(fc.nat(600), { maxLength: 60 }),
          fc.integer({ min: 1, max: 40 }),
          fc.boolean(),
          fc.boolean(),
          (bytes, cuts, maxFrame, drop, nul) => {
            const o = opts(mode, { maxFrame, onOversize: drop ? 'drop' : 'truncate', nulDelimiter: nul });
            const fr = createFramer(o);
            const sink: FrameSink = (_buf, s, e, flags) => {
              assert.ok(e > s && e - s <= maxFrame, `frame length ${e - s} within 1..${maxFrame}`);
              if (drop) assert.equal(flags, 0, 'drop never emits truncated frames');
            };
            for (const c of splitAt(Buffer.from(bytes), cuts)) {
              fr.push(c, sink);
              assert.ok(fr.buffered <= maxFrame + 16, `buffered ${fr.buffered} > ${maxFrame} + 16`);
            }
            fr.end(sink);
            assert.equal(fr.buffered, 0);
          },
        ),
        { numRuns: 500 },
      );
    });
  }

  it('lf: invalid UTF-8 and NUL bytes pass through byte-exact', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((x) => x !== 10 && x !== 13));
    const line = Buffer.concat([all, b('\xc3\x28\xf0\x28\x8c\x28\xed\xa0\x80\0\0')]);
    const stream = Buffer.concat([line, b('\n'), line]);
    for (const cs of [1, 7, 64, stream.length]) {
      const got: Buffer[] = [];
      const fr = createFramer(opts('lf'));
      const sink: FrameSink = (buf, s, e) => void got.push(Buffer.from(buf.subarray(s, e)));
      for (const c of chunksOf(stream, cs)) fr.push(c, sink);
      fr.end(sink);
      assert.equal(got.length, 2);
      assert.ok(got[0]!.equals(line) && got[1]!.equals(line), `byte-exact with ${cs}-byte chunks`);
    }
  });

  for (const mode of MODES) {
    for (const onOversize of ['truncate', 'drop'] as const) {
      it(`${mode}: a 10 MB line in 64 KiB chunks (${onOversize})`, () => {
        const maxFrame = 64 * 1024;
        const big = Buffer.alloc(10 * MiB, 0x61);
        for (let i = 0; i < big.length; i += 997) big[i] = 0x30 + (i % 10); // content to check the head
        big[0] = 0x3c; // '<': not a count in auto mode
        const stream = Buffer.concat([big, b('\n<1>after\n')]);
        const events: Array<[FramingEventKind, number]> = [];
        const fr = createFramer(opts(mode, { maxFrame, onOversize, onEvent: (k, n) => events.push([k, n]) }));
        const frames: Array<{ buf: Buffer; flags: number }> = [];
        const sink: FrameSink = (buf, s, e, flags) => void frames.push({ buf: Buffer.from(buf.subarray(s, e)), flags });
        let maxBuffered = 0;
        for (const c of chunksOf(stream, 64 * 1024)) {
          fr.push(c, sink);
          maxBuffered = Math.max(maxBuffered, fr.buffered);
        }
        fr.end(sink);
        assert.ok(maxBuffered <= maxFrame, `buffered ${maxBuffered}`);
        const last = frames.pop()!;
        assert.equal(last.buf.toString(), '<1>after');
        // octet mode: both lines are uncounted (reported after their frame ends)
        const bad: Array<[FramingEventKind, number]> =
          mode === 'octet' ? [['bad_octet_count', big.length], ['bad_octet_count', 8]] : [];
        if (onOversize === 'truncate') {
          assert.equal(frames.length, 1);
          assert.equal(frames[0]!.flags, FRAME_TRUNCATED);
          assert.equal(frames[0]!.buf.length, maxFrame);
          assert.ok(frames[0]!.buf.equals(big.subarray(0, maxFrame)));
          assert.deepEqual(events, [['truncated', big.length], ...bad]);
        } else {
          assert.equal(frames.length, 0);
          assert.deepEqual(events, [['oversize_dropped', big.length], ...bad]);
        }
      });
    }
  }

  it('octet: a 10 MB counted frame in 64 KiB chunks keeps buffered bounded', () => {
    const body = Buffer.alloc(10 * MiB, 0x62);
    const stream = Buffer.concat([b(`${body.length} `), body, b('2 ok')]);
    for (const onOversize of ['truncate', 'drop'] as const) {
      const r = run(opts('octet', { onOversize }), chunksOf(stream, 64 * 1024));
      assert.ok(r.maxBuffered <= 64 * 1024);
      const head = onOversize === 'truncate' ? [{ s: 'b'.repeat(64 * 1024), flags: FRAME_TRUNCATED }] : [];
      assert.deepEqual(r.frames, [...head, { s: 'ok', flags: 0 }]);
      assert.deepEqual(r.events, [[onOversize === 'truncate' ? 'truncated' : 'oversize_dropped', body.length]]);
    }
  });

  it('octet: huge, negative and non-numeric counts', () => {
    const cases: Array<[string, string[], Array<[FramingEventKind, number]>]> = [
      ['99999999999 eleven digits\n1 a', ['99999999999 eleven digits', 'a'], [['bad_octet_count', 25]]],
      ['9999999999 ten digits is valid but huge', ['9999999999 ten digits is valid but huge'.slice(11)], [['truncated', 28]]],
      ['-1 x\n1 a', ['-1 x', 'a'], [['bad_octet_count', 4]]],
      ['1e3 x\n1 a', ['1e3 x', 'a'], [['bad_octet_count', 5]]],
      ['0x10 abc\n1 a', ['0x10 abc', 'a'], [['bad_octet_count', 8]]],
      [' 5 hello\n1 a', [' 5 hello', 'a'], [['bad_octet_count', 8]]],
      ['1'.repeat(5000) + '\n1 a', ['1'.repeat(5000), 'a'], [['bad_octet_count', 5000]]],
    ];
    for (const [input, frames, events] of cases) {
      const r = run(opts('octet'), chunksOf(b(input), 3));
      assert.deepEqual(r.frames.map((x) => x.s), frames, input.slice(0, 40));
      assert.deepEqual(r.events, events, input.slice(0, 40));
      assert.ok(r.maxBuffered <= 64 * 1024 + 16);
    }
    // a huge valid count with maxFrame small: bounded, truncated flagged at end()
    const r = run(opts('octet', { maxFrame: 8 }), chunksOf(b('9999999999 ' + 'z'.repeat(100)), 7));
    assert.deepEqual(r.frames, [{ s: 'zzzzzzzz', flags: FRAME_TRUNCATED }]);
    assert.deepEqual(r.events, [['truncated', 100]]);
    assert.ok(r.maxBuffered <= 8 + 16);
  });

  describe('half frame followed by nothing', () => {
    it('lf: buffered reports it and end() emits it', () => {
      const r = run(opts('lf'), [b('done\nhalf a fra'), b('me')]);
      assert.equal(r.bufferedBeforeEnd, 'half a frame'.length);
      assert.deepEqual(r.frames, [{ s: 'done', flags: 0 }, { s: 'half a frame', flags: 0 }]);
      assert.deepEqual(r.events, []);
    });

    it('auto: an LF half frame is emitted by end() too', () => {
      const r = run(opts('auto'), [b('<1>half'), b(' frame')]);
      assert.equal(r.bufferedBeforeEnd, '<1>half frame'.length);
      assert.deepEqual(r.frames, [{ s: '<1>half frame', flags: 0 }]);
    });

    it('octet: an incomplete counted body is emitted flagged truncated by end()', () => {
      const r = run(opts('octet'), [b('20 only'), b(' half')]);
      assert.equal(r.bufferedBeforeEnd, 'only half'.length);
      assert.deepEqual(r.frames, [{ s: 'only half', flags: FRAME_TRUNCATED }]);
      assert.deepEqual(r.events, [['truncated', 9]]);
    });

    it('octet: ... or dropped with onOversize=drop', () => {
      const r = run(opts('octet', { onOversize: 'drop' }), [b('20 only'), b(' half')]);
      assert.equal(r.bufferedBeforeEnd, 9);
      assert.deepEqual(r.frames, []);
      assert.deepEqual(r.events, [['oversize_dropped', 9]]);
    });

    it('a framer is reusable after end()', () => {
      const fr = createFramer(opts('auto'));
      const got: string[] = [];
      const sink: FrameSink = (buf, s, e) => void got.push(buf.toString('latin1', s, e));
      fr.push(b('10 abc'), sink);
      fr.end(sink);
      fr.push(b('3 xyz<1>line\n'), sink);
      fr.end(sink);
      assert.deepEqual(got, ['abc', 'xyz', '<1>line']);
    });
  });
});
