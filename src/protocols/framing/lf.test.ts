import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_TRUNCATED, LfFramer } from './index.js';
import type { FramerOptions, FramingEventKind } from './framer.js';
import { type Frame, b, checkAllSplits, opts, run, splitAt, str } from './test-helpers.js';

const T = FRAME_TRUNCATED;
const f = (s: string, flags = 0): Frame => ({ s, flags });

describe('LfFramer: basics (every split point, and 1-byte chunks)', () => {
  const cases: Array<{
    name: string;
    input: string;
    o?: Partial<FramerOptions>;
    frames: Frame[];
    events?: Array<[FramingEventKind, number]>;
  }> = [
    { name: 'LF lines', input: 'a\nbc\n', frames: [f('a'), f('bc')] },
    { name: 'CRLF lines', input: 'a\r\nbc\r\n', frames: [f('a'), f('bc')] },
    { name: 'only one CR stripped', input: 'a\r\r\n', frames: [f('a\r')] },
    { name: 'CR inside a line kept', input: 'a\rb\n', frames: [f('a\rb')] },
    { name: 'leading CR kept', input: '\rab\n', frames: [f('\rab')] },
    { name: 'blank lines skipped', input: '\n\na\n\n\nb\n\n', frames: [f('a'), f('b')] },
    { name: 'lone CRLF skipped', input: '\r\n\r\na\r\n\r\n', frames: [f('a')] },
    { name: 'trailing frame at end()', input: 'a\nlast', frames: [f('a'), f('last')] },
    { name: 'trailing CR of last frame stripped', input: 'a\nlast\r', frames: [f('a'), f('last')] },
    { name: 'lone CR at end() is empty', input: 'a\n\r', frames: [f('a')] },
    { name: 'empty stream', input: '', frames: [] },
    { name: 'NUL is data without nulDelimiter', input: 'a\0b\n\0\n', frames: [f('a\0b'), f('\0')] },
    { name: 'NUL delimiter', input: 'a\0b\0', o: { nulDelimiter: true }, frames: [f('a'), f('b')] },
    { name: 'GELF msg\\0\\n is one frame', input: 'm1\0\nm2\0\n', o: { nulDelimiter: true }, frames: [f('m1'), f('m2')] },
    { name: 'NUL and LF mixed', input: 'a\nb\0c\r\n\0\0d', o: { nulDelimiter: true }, frames: [f('a'), f('b'), f('c'), f('d')] },
    { name: 'CR before NUL stripped', input: 'a\r\0', o: { nulDelimiter: true }, frames: [f('a')] },
    { name: 'digits are never counts in lf mode', input: '5 hello\n3 abcdef\n', frames: [f('5 hello'), f('3 abcdef')] },
    { name: 'exactly maxFrame', input: 'abcd\nabcd\r\nabcd', o: { maxFrame: 4 }, frames: [f('abcd'), f('abcd'), f('abcd')] },
    {
      name: 'maxFrame+1 truncated',
      input: 'abcde\nxy\n',
      o: { maxFrame: 4 },
      frames: [f('abcd', T), f('xy')],
      events: [['truncated', 5]],
    },
    {
      name: 'maxFrame + CR + more is oversize',
      input: 'abcd\rx\nxy\n',
      o: { maxFrame: 4 },
      frames: [f('abcd', T), f('xy')],
      events: [['truncated', 6]],
    },
    {
      name: 'drop',
      input: 'ok\nabcdefgh\r\nok2\nlongtail',
      o: { maxFrame: 4, onOversize: 'drop' },
      frames: [f('ok'), f('ok2')],
      events: [['oversize_dropped', 8], ['oversize_dropped', 8]],
    },
    {
      name: 'oversize trailing frame reported at end()',
      input: 'abcdefg',
      o: { maxFrame: 4 },
      frames: [f('abcd', T)],
      events: [['truncated', 7]],
    },
    { name: 'invalid UTF-8 passes through', input: '\xff\xfe\xc3\x28\x80\n', frames: [f('\xff\xfe\xc3\x28\x80')] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      checkAllSplits(opts('lf', c.o), b(c.input), { frames: c.frames, events: c.events ?? [] });
    });
  }
});

describe('LfFramer: zero-copy and ownership', () => {
  it('frames inside a chunk are views of that chunk', () => {
    const chunk = b('one\ntwo\r\nthree\n');
    const seen: Array<[Buffer, number, number]> = [];
    const fr = new LfFramer(opts('lf'));
    fr.push(chunk, (buf, s, e) => seen.push([buf, s, e]));
    assert.equal(seen.length, 3);
    for (const [buf] of seen) assert.equal(buf, chunk);
    assert.deepEqual(seen.map(([, s, e]) => [s, e]), [[0, 3], [4, 7], [9, 14]]);
  });

  it('a straddling frame is a fresh buffer that is never written again', () => {
    const fr = new LfFramer(opts('lf'));
    const kept: Array<[Buffer, number, number]> = [];
    const sink = (buf: Buffer, s: number, e: number): void => void kept.push([buf, s, e]);
    const c1 = b('aaa\nbb');
    const c2 = b('b\ncc');
    const c3 = b('c\ndd');
    fr.push(c1, sink);
    assert.equal(fr.buffered, 2);
    fr.push(c2, sink);
    fr.push(c3, sink);
    fr.push(b('d\n'), sink);
    c1.fill(0x21);
    c2.fill(0x21);
    c3.fill(0x21);
    const texts = kept.map(([buf, s, e]) => buf.toString('latin1', s, e));
    assert.deepEqual(texts.slice(1), ['bbb', 'ccc', 'ddd']);
    assert.notEqual(kept[1]![0], kept[2]![0]);
  });

  it('the truncated head of a line longer than maxFrame inside one chunk is a view', () => {
    const fr = new LfFramer(opts('lf', { maxFrame: 4 }));
    const chunk = b('ok\nabcdefg');
    const seen: Array<[Buffer, number, number, number]> = [];
    fr.push(chunk, (buf, s, e, fl) => seen.push([buf, s, e, fl]));
    assert.equal(seen.length, 2, 'head emitted before the line ends');
    assert.equal(seen[1]![0], chunk);
    assert.deepEqual(seen[1]!.slice(1), [3, 7, FRAME_TRUNCATED]);
    assert.equal(fr.buffered, 0);
  });

  it('buffered counts the partial frame and never exceeds maxFrame', () => {
    const fr = new LfFramer(opts('lf', { maxFrame: 10 }));
    const sink = (): void => {};
    fr.push(b('abc'), sink);
    assert.equal(fr.buffered, 3);
    fr.push(b('defghij'), sink);
    assert.equal(fr.buffered, 10);
    fr.push(b('\r'), sink);
    assert.equal(fr.buffered, 10, 'maxFrame bytes + CR: may still be a CRLF line of exactly maxFrame');
    fr.push(b('k'), sink);
    assert.equal(fr.buffered, 0, 'oversize now certain: head emitted, buffer released');
    fr.push(b('lmnop'), sink);
    assert.equal(fr.buffered, 0);
    fr.push(b('\nxy'), sink);
    assert.equal(fr.buffered, 2);
  });
});

/** LF frame content: no LF (no NUL if nul), non-empty, not ending in CR (it would be stripped). */
const lfFrame = (nul: boolean, maxLen = 24): fc.Arbitrary<Uint8Array> =>
  fc
    .uint8Array({ minLength: 1, maxLength: maxLen })
    .map((a) => a.map((x) => (x === 10 || (nul && x === 0) ? 0x41 : x)))
    .filter((a) => a[a.length - 1] !== 13);

const terminators = (nul: boolean): string[] => (nul ? ['\n', '\r\n', '\0', '\0\n', '\r\0'] : ['\n', '\r\n']);

/** A stream of frames with random terminators, optional blank lines, last frame maybe unterminated. */
const lfStream = (nul: boolean, maxLen?: number) =>
  fc
    .array(
      fc.record({
        frame: lfFrame(nul, maxLen),
        term: fc.constantFrom(...terminators(nul)),
        blank: fc.constantFrom('', '', '', '\n', '\r\n', '\n\n'),
      }),
      { maxLength: 8 },
    )
    .chain((items) => fc.record({ items: fc.constant(items), unterminatedLast: fc.boolean() }))
    .map(({ items, unterminatedLast }) => {
      let s = '';
      items.forEach((it, i) => {
        s += it.blank + str(it.frame);
        if (!(unterminatedLast && i === items.length - 1)) s += it.term;
      });
      return { frames: items.map((it) => str(it.frame)), stream: b(s) };
    });

describe('LfFramer: properties', () => {
  for (const nul of [false, true]) {
    it(`every split point gives the original frames (nulDelimiter=${nul})`, () => {
      fc.assert(
        fc.property(lfStream(nul), ({ frames, stream }) => {
          checkAllSplits(opts('lf', { nulDelimiter: nul }), stream, { frames: frames.map((s) => f(s)), events: [] });
        }),
        { numRuns: 150 },
      );
    });

    it(`random chunkings give the original frames (nulDelimiter=${nul})`, () => {
      fc.assert(
        fc.property(lfStream(nul), fc.array(fc.nat(400), { maxLength: 60 }), ({ frames, stream }, cuts) => {
          const r = run(opts('lf', { nulDelimiter: nul }), splitAt(stream, cuts));
          assert.deepEqual(r.frames, frames.map((s) => f(s)));
          assert.deepEqual(r.events, []);
        }),
        { numRuns: 400 },
      );
    });
  }

  for (const onOversize of ['truncate', 'drop'] as const) {
    it(`oversize frames (${onOversize}) behave the same at every split point`, () => {
      fc.assert(
        fc.property(lfStream(false, 14), fc.integer({ min: 1, max: 12 }), ({ frames, stream }, maxFrame) => {
          const exp: Frame[] = [];
          const events: Array<[FramingEventKind, number]> = [];
          for (const s of frames) {
            if (s.length <= maxFrame) exp.push(f(s));
            else if (onOversize === 'truncate') {
              exp.push(f(s.slice(0, maxFrame), T));
              events.push(['truncated', s.length]);
            } else events.push(['oversize_dropped', s.length]);
          }
          checkAllSplits(opts('lf', { maxFrame, onOversize }), stream, { frames: exp, events });
        }),
        { numRuns: 150 },
      );
    });
  }
});
