import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_TRUNCATED, frameDatagram, type DatagramOptions } from './index.js';
import type { FramingEventKind } from './framer.js';
import { b } from './test-helpers.js';

function dg(input: Buffer | string, o: Partial<DatagramOptions> = {}) {
  const buf = typeof input === 'string' ? b(input) : input;
  const events: Array<[FramingEventKind, number]> = [];
  const frames: Array<{ s: string; flags: number; view: boolean }> = [];
  const n = frameDatagram(
    buf,
    { maxFrame: 64 * 1024, onOversize: 'truncate', onEvent: (k, len) => events.push([k, len]), ...o },
    (out, s, e, flags) => frames.push({ s: out.toString('latin1', s, e), flags, view: out === buf && s === 0 }),
  );
  assert.equal(n, frames.length);
  return { frames, events };
}

describe('frameDatagram', () => {
  const cases: Array<[string, string[]]> = [
    ['msg', ['msg']],
    ['msg\n', ['msg']],
    ['msg\r\n', ['msg']],
    ['msg\0', ['msg']],
    ['msg\n\n', ['msg\n']], // only one delimiter stripped
    ['msg\0\n', ['msg\0']],
    ['msg\r', ['msg\r']], // a lone CR is data
    ['a\nb\nc\n', ['a\nb\nc']], // one datagram is one frame, whatever it holds
    ['12 not a count', ['12 not a count']],
    ['', []],
    ['\n', []],
    ['\r\n', []],
    ['\0', []],
  ];
  for (const [input, frames] of cases) {
    it(JSON.stringify(input), () => {
      const r = dg(input);
      assert.deepEqual(r.frames.map((f) => f.s), frames);
      assert.deepEqual(r.events, []);
      for (const f of r.frames) {
        assert.equal(f.flags, 0);
        assert.ok(f.view, 'zero-copy view of the datagram');
      }
    });
  }

  it('truncates to maxFrame with the event', () => {
    const r = dg('abcdefgh\n', { maxFrame: 5 });
    assert.deepEqual(r.frames.map((f) => [f.s, f.flags]), [['abcde', FRAME_TRUNCATED]]);
    assert.deepEqual(r.events, [['truncated', 8]]);
  });

  it('drops with the event', () => {
    const r = dg('abcdefgh\r\n', { maxFrame: 5, onOversize: 'drop' });
    assert.deepEqual(r.frames, []);
    assert.deepEqual(r.events, [['oversize_dropped', 8]]);
  });

  it('exactly maxFrame after stripping the delimiter is not oversize', () => {
    const r = dg('abcde\r\n', { maxFrame: 5 });
    assert.deepEqual(r.frames.map((f) => [f.s, f.flags]), [['abcde', 0]]);
    assert.deepEqual(r.events, []);
  });

  it('works without onEvent', () => {
    const got: string[] = [];
    frameDatagram(b('abcdef'), { maxFrame: 3, onOversize: 'truncate' }, (buf, s, e) => got.push(buf.toString('latin1', s, e)));
    assert.deepEqual(got, ['abc']);
  });

  it('property: any bytes give at most one frame within maxFrame, byte-exact prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 70 }), (bytes, maxFrame) => {
        const buf = Buffer.from(bytes);
        const r = dg(buf, { maxFrame });
        assert.ok(r.frames.length <= 1);
        for (const f of r.frames) {
          assert.ok(f.s.length >= 1 && f.s.length <= maxFrame);
          assert.ok(buf.toString('latin1').startsWith(f.s));
          assert.equal(f.flags !== 0, r.events.length === 1);
        }
      }),
    );
  });
});
