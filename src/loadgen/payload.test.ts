import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  FORMATS,
  FRAMINGS,
  MAX_SEQ,
  MessageTemplate,
  messagesPerChunk,
  minSize,
  octetBodyLength,
  parseSeq,
  type Framing,
  type MessageFormat,
} from './payload.js';

const TIME = new Date('2026-11-22T10:00:00.000Z');

/** Checks one frame: exact size, framing correct, parseSeq round-trips, format well-formed. */
function checkFrame(frame: Buffer, format: MessageFormat, framing: Framing, size: number, conn: number, seq: number): void {
  assert.equal(frame.length, size, 'frame size');
  const text = frame.toString('latin1');
  let body: string;
  if (framing === 'lf') {
    assert.equal(text.at(-1), '\n', 'lf frame ends with LF');
    body = text.slice(0, -1);
    assert.ok(!body.includes('\n'), 'no LF inside the message');
  } else {
    const m = /^([1-9]\d*) /.exec(text);
    assert.ok(m, `octet prefix "LEN SP": ${JSON.stringify(text.slice(0, 12))}`);
    body = text.slice(m[0].length);
    assert.equal(Number(m[1]), Buffer.byteLength(body), 'octet count = MSG length');
    assert.ok(!body.endsWith('\n'));
  }
  assert.deepEqual(parseSeq(body), { conn, seq });
  assert.deepEqual(parseSeq(text), { conn, seq });
  switch (format) {
    case 'rfc5424':
      assert.match(body, /^<134>1 2026-11-22T10:00:00\.000000Z bench-host ringlog-bench 4242 - \[bench@32473 conn="\d+" seq="\d{9}"\]/);
      break;
    case 'rfc3164':
      assert.match(body, /^<134>Nov 22 10:00:00 bench-host ringlog-bench\[4242\]: conn=\d+ seq=\d{9}( |$)/);
      break;
    case 'json': {
      const obj = JSON.parse(body) as Record<string, unknown>;
      assert.equal(obj.conn, conn);
      assert.equal(obj.seq, seq);
      assert.equal(obj.host, 'bench-host');
      assert.equal(obj.app, 'ringlog-bench');
      assert.equal(typeof obj.msg, 'string');
      break;
    }
  }
}

describe('octetBodyLength', () => {
  it('splits LEN SP MSG exactly, or says it cannot', () => {
    assert.equal(octetBodyLength(128), 124); // "124 " + 124
    assert.equal(octetBodyLength(11), 9); // "9 " + 9
    assert.equal(octetBodyLength(101), 98);
    for (const impossible of [12, 103, 1004, 10005]) assert.equal(octetBodyLength(impossible), -1, String(impossible));
    for (let size = 3; size < 20_000; size++) {
      const len = octetBodyLength(size);
      if (len >= 0) assert.equal(String(len).length + 1 + len, size);
    }
  });
});

describe('MessageTemplate', () => {
  it('default size 128 for every format and framing', () => {
    for (const format of FORMATS) {
      for (const framing of FRAMINGS) {
        const t = new MessageTemplate({ format, framing, size: 128, conn: 3, time: TIME });
        checkFrame(t.render(123), format, framing, 128, 3, 123);
        checkFrame(t.render(0), format, framing, 128, 3, 0);
        checkFrame(t.render(MAX_SEQ), format, framing, 128, 3, MAX_SEQ);
      }
    }
  });

  it('matches the documented examples', () => {
    const t5424 = new MessageTemplate({ format: 'rfc5424', framing: 'lf', size: 128, conn: 3, time: TIME });
    assert.ok(t5424.render(123).toString().startsWith(
      '<134>1 2026-11-22T10:00:00.000000Z bench-host ringlog-bench 4242 - [bench@32473 conn="3" seq="000000123"] '));
    const t3164 = new MessageTemplate({ format: 'rfc3164', framing: 'lf', size: 128, conn: 3, time: TIME });
    assert.ok(t3164.render(123).toString().startsWith('<134>Nov 22 10:00:00 bench-host ringlog-bench[4242]: conn=3 seq=000000123 '));
    const tjson = new MessageTemplate({ format: 'json', framing: 'lf', size: 200, conn: 3, time: TIME });
    assert.match(tjson.render(123).toString(), /^\{"time":"2026-11-22T10:00:00Z","level":"info","host":"bench-host","app":"ringlog-bench","conn":3,"seq": +123,"msg":"/);
  });

  it('space-pads the day in RFC 3164', () => {
    const t = new MessageTemplate({ format: 'rfc3164', framing: 'lf', size: 128, conn: 0, time: new Date('2026-01-02T03:04:05Z') });
    assert.ok(t.render(1).toString().startsWith('<134>Jan  2 03:04:05 '));
  });

  it('property: exact size and parseSeq round-trip for any format, framing, size, conn, seq', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...FORMATS),
        fc.constantFrom(...FRAMINGS),
        fc.integer({ min: 0, max: 99_999 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: MAX_SEQ }),
        (format, framing, conn, extra, seq) => {
          let size = minSize(format, framing, conn) + extra;
          if (framing === 'octet' && octetBodyLength(size) < 0) size++;
          const t = new MessageTemplate({ format, framing, size, conn, time: TIME });
          checkFrame(t.render(seq), format, framing, size, conn, seq);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('chunks: copies of the template with seqs patched in place, reusable', () => {
    for (const format of FORMATS) {
      for (const framing of FRAMINGS) {
        const size = 150;
        const t = new MessageTemplate({ format, framing, size, conn: 7, time: TIME });
        const count = 37;
        const chunk = t.newChunk(count);
        assert.equal(chunk.length, count * size);
        for (const start of [0, 999_999_950, 5, 123_456]) {
          // Patch a shorter run after a longer one, as the last chunk of a run does.
          const n = start === 5 ? 3 : count;
          t.patch(chunk, start, n);
          for (let i = 0; i < n; i++) {
            const frame = chunk.subarray(i * size, (i + 1) * size);
            checkFrame(Buffer.from(frame), format, framing, size, 7, start + i);
            assert.deepEqual(frame, t.render(start + i));
          }
        }
      }
    }
  });

  it('rejects sizes that are too small or cannot be octet-framed exactly', () => {
    const min = minSize('rfc5424', 'lf', 0);
    assert.doesNotThrow(() => new MessageTemplate({ format: 'rfc5424', framing: 'lf', size: min, conn: 0 }));
    assert.throws(() => new MessageTemplate({ format: 'rfc5424', framing: 'lf', size: min - 1, conn: 0 }), /too small/);
    assert.throws(() => new MessageTemplate({ format: 'json', framing: 'octet', size: 1004, conn: 0 }), /use 1003 or 1005/);
    assert.throws(() => new MessageTemplate({ format: 'json', framing: 'lf', size: 0, conn: 0 }), RangeError);
  });

  it('messagesPerChunk fills about 256 KiB', () => {
    assert.equal(messagesPerChunk(128), 2048);
    assert.equal(messagesPerChunk(1_000_000), 1);
  });
});

describe('parseSeq', () => {
  it('reads each format, and returns null when there is no seq', () => {
    assert.deepEqual(parseSeq('<134>1 - h a 1 - [bench@32473 conn="12" seq="000000042"] x'), { conn: 12, seq: 42 });
    assert.deepEqual(parseSeq('<134>Nov 22 10:00:00 h a[1]: conn=0 seq=000000007 x'), { conn: 0, seq: 7 });
    assert.deepEqual(parseSeq('{"conn":5,"seq":      77,"msg":"x"}'), { conn: 5, seq: 77 });
    assert.deepEqual(parseSeq('{"conn":5,"seq":77}'), { conn: 5, seq: 77 });
    assert.equal(parseSeq('hello world'), null);
    assert.equal(parseSeq(''), null);
  });
});
