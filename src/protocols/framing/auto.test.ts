import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_TRUNCATED, createAutoFramer } from './index.js';
import type { FramingEventKind } from './framer.js';
import { type Frame, b, checkAllSplits, opts, run, splitAt, str } from './test-helpers.js';

const f = (s: string, flags = 0): Frame => ({ s, flags });

/**
 * A mixed stream for auto mode. Counted frames: any bytes. LF frames: must not
 * start with 1-9 (that would be a count) nor with a separator (LF/CR/NUL are
 * skipped between frames in auto mode), contain no LF (nor NUL with
 * nulDelimiter) and not end in CR.
 */
const mixedStream = (nul: boolean) => {
  const octet = fc.record({
    kind: fc.constant('octet' as const),
    body: fc.uint8Array({ minLength: 1, maxLength: 20 }),
    sep: fc.constantFrom('', '', '\n', '\r\n', '\0'),
  });
  const lf = fc.record({
    kind: fc.constant('lf' as const),
    body: fc
      .tuple(
        fc.constantFrom(...'<{0-aZ \t\xff'.split('')),
        fc.uint8Array({ maxLength: 20 }).map((a) => a.map((x) => (x === 10 || (nul && x === 0) ? 0x20 : x))),
      )
      .map(([first, rest]) => Buffer.concat([b(first), rest]))
      .filter((a) => a[a.length - 1] !== 13),
    sep: fc.constantFrom(...(nul ? ['\n', '\r\n', '\0', '\0\n'] : ['\n', '\r\n', '\n\n'])),
  });
  return fc.array(fc.oneof(octet, lf), { maxLength: 8 }).map((items) => ({
    frames: items.map((it) => str(it.body)),
    stream: b(
      items
        .map((it) => (it.kind === 'octet' ? `${it.body.length} ${str(it.body)}${it.sep}` : `${str(it.body)}${it.sep}`))
        .join(''),
    ),
  }));
};

describe('auto mode: mixed octet-counted and LF frames', () => {
  for (const nul of [false, true]) {
    it(`every split point gives the original frames (nulDelimiter=${nul})`, () => {
      fc.assert(
        fc.property(mixedStream(nul), ({ frames, stream }) => {
          checkAllSplits(opts('auto', { nulDelimiter: nul }), stream, { frames: frames.map((s) => f(s)), events: [] });
        }),
        { numRuns: 150 },
      );
    });

    it(`random chunkings give the original frames (nulDelimiter=${nul})`, () => {
      fc.assert(
        fc.property(mixedStream(nul), fc.array(fc.nat(400), { maxLength: 80 }), ({ frames, stream }, cuts) => {
          const r = run(opts('auto', { nulDelimiter: nul }), splitAt(stream, cuts));
          assert.deepEqual(r.frames, frames.map((s) => f(s)));
          assert.deepEqual(r.events, []);
        }),
        { numRuns: 400 },
      );
    });
  }

  it('octet mode reads the same mixed stream identically, reporting each LF frame', () => {
    fc.assert(
      fc.property(mixedStream(false), fc.array(fc.nat(400), { maxLength: 20 }), ({ frames, stream }, cuts) => {
        const r = run(opts('octet'), splitAt(stream, cuts));
        assert.deepEqual(r.frames, frames.map((s) => f(s)));
        for (const [kind] of r.events) assert.equal(kind, 'bad_octet_count');
      }),
      { numRuns: 200 },
    );
  });

  it('a digit-led LF line with a plausible count is read as counted (documented ambiguity)', () => {
    const r = run(opts('auto'), [b('3 apples\n')]);
    assert.deepEqual(r.frames, [f('app'), f('les')]);
    const lf = run(opts('lf'), [b('3 apples\n')]);
    assert.deepEqual(lf.frames, [f('3 apples')]);
  });

  it('createAutoFramer gives an auto framer', () => {
    const events: FramingEventKind[] = [];
    const fr = createAutoFramer(opts('auto', { onEvent: (k) => events.push(k) }));
    const got: string[] = [];
    const sink = (buf: Buffer, s: number, e: number, flags: number): void => {
      assert.equal(flags & FRAME_TRUNCATED, 0);
      got.push(buf.toString('latin1', s, e));
    };
    fr.push(b('<1>x\n2 ok'), sink);
    fr.end(sink);
    assert.deepEqual(got, ['<1>x', 'ok']);
    assert.deepEqual(events, []);
  });
});
