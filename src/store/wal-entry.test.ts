/**
 * WAL entries: encodeEntry, then checkEntry + decodeEntryBody, gives back frame
 * batches that, parsed again with a ParseStage of the same format, give the records
 * the original batches gave (this is how recovery and readers see the WAL). Both ways
 * frames are copied (one stretch of LF-framed lines; frame by frame when they lie far
 * apart or out of order), and damage: CorruptError or "not an entry", never a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FORMATS, type FormatName } from '../protocols/formats/format.js';
import { FRAME_TRUNCATED } from '../protocols/framing/framer.js';
import { ParseStage } from '../protocols/formats/parse-stage.js';
import type { RecordBatch } from '../record/record-batch.js';
import type { LogRecord } from '../record/record.js';
import { CorruptError } from './byte-buffer.js';
import { WAL_ENTRY_HEADER_SIZE, WAL_ENTRY_MAGIC } from './consts.js';
import { checkEntry, decodeEntryBody, encodeEntry, type DecodedEntry } from './wal-entry.js';
import { Parsers } from './parsers.js';
import { LAYOUTS, RECEIVED, anyFrame, buildBlock, frameBatch, parse, recordsOf, type Layout } from './test-helpers.js';

/** What recovery does with an entry: check it, decode it, parse every batch again with a fresh stage of its format. */
function replay(entry: Buffer): { decoded: DecodedEntry; records: LogRecord[]; regions: number[] } {
  const len = checkEntry(entry, 0, entry.length);
  assert.equal(len, entry.length - WAL_ENTRY_HEADER_SIZE, 'a valid entry, exactly as long as written');
  const decoded = decodeEntryBody(entry, WAL_ENTRY_HEADER_SIZE, entry.length);
  // A decoded batch's `retained` is its region's length (parsing adds the columns to it).
  const regions = decoded.batches.map((b) => b.retained);
  const records = decoded.batches.flatMap((b) => recordsOf(new ParseStage(b.format).parse(b)));
  return { decoded, records, regions };
}

const FRAMES: Record<string, { format: FormatName; frames: (string | Buffer)[] }> = {
  rfc5424: { format: 'rfc5424', frames: ['<165>1 2026-11-22T09:00:00.123456789Z web-1 nginx 1234 ID47 [o@1 ip="10.0.0.1" q="a\\"b\\\\c\\]d"][e@1] GET /x 200', '<13>1 - - - - - -', '<0>1 - h - 7 - - \ufeffBOM'] },
  rfc3164: { format: 'rfc3164', frames: ['<13>Nov 22 09:00:01 host2 sshd[99]: Accepted', 'Nov 22 09:00:02 cron: no pri'] },
  json: { format: 'json', frames: ['{"time":"2026-11-22T09:00:02Z","level":"error","msg":"a\\nb \\"c\\" \\u00e9","host":"h\\u0031","req":{"id":7},"a":1,"a":2}', '{"bad"', '{}'] },
  logfmt: { format: 'logfmt', frames: ['level=warn msg="disk full" host=db-2', 'no pairs here'] },
  raw: { format: 'raw', frames: ['raw', Buffer.from([0xff, 0xfe, 0x00, 0x0a]), '', 'x'.repeat(3000)] },
  auto: { format: 'auto', frames: ['<14>Nov 22 09:00:08 w kernel: x', '{"msg":"j"}', 'k=v', 'text', ''] },
  gelf: { format: 'gelf', frames: ['{"version":"1.1","host":"g","short_message":"hi","_u":"b"}'] },
};

function tableBatches(layout: Layout): RecordBatch[] {
  const out: RecordBatch[] = [];
  let k = 0;
  for (const { format, frames } of Object.values(FRAMES)) {
    out.push(parse(format, frames, { layout, received: RECEIVED + k++ * 0.001, source: { listener: `l${k}`, transport: 'tcp', peer: `10.0.0.${k}:1` } }));
  }
  // A datagram batch with a peer per frame, and one with truncated frames.
  out.push(parse('syslog', ['<13>1 - a1 - - - - one', '<13>Nov 22 09:00:11 a2 x: two'], { layout, source: { listener: 'udp', transport: 'udp', peer: '0.0.0.0:514' }, peers: ['192.0.2.1:514', '[2001:db8::1]:5514'] }));
  out.push(parse('auto', ['<13>1 - h a - - - cut', '{"msg":"cut'], { layout, flags: Uint8Array.from([FRAME_TRUNCATED, FRAME_TRUNCATED]) }));
  return out;
}

for (const layout of LAYOUTS) {
  test(`encode → check → decode → parse again gives the same records (${layout} frames)`, () => {
    const batches = tableBatches(layout);
    const expected = batches.flatMap(recordsOf);
    const { entry, records: n, rawBytes } = encodeEntry(batches, 42);
    assert.equal(n, expected.length);
    assert.equal(rawBytes, batches.reduce((s, b) => s + b.bytes, 0));
    const { decoded, records } = replay(entry);
    assert.equal(decoded.lsn, 42);
    assert.deepStrictEqual(records, expected);
    decoded.batches.forEach((d, i) => {
      const b = batches[i]!;
      assert.equal(d.format, b.format);
      assert.equal(d.received, b.received);
      assert.deepEqual(d.source, b.source);
      assert.deepEqual(d.peers, b.peers);
      assert.deepEqual(d.flags, b.flags);
      assert.equal(d.count, b.count);
      assert.equal(d.bytes, b.bytes);
      assert.equal(d.buf, entry, 'frames are views of the entry, not copies');
      for (let f = 0; f < d.count; f++) {
        assert.deepEqual(d.buf.subarray(d.offsets[2 * f], d.offsets[2 * f + 1]), b.buf.subarray(b.offsets[2 * f], b.offsets[2 * f + 1]), `frame ${f} of batch ${i}`);
      }
    });
  });
}

test('LF-framed lines are copied as one stretch (delimiters included); far-apart or out-of-order frames one by one', () => {
  const frames = ['<13>1 - h a - - - one', '<13>1 - h a - - - two', '<13>1 - h a - - - three'];
  const bytes = frames.reduce((s, f) => s + f.length, 0);
  const regionOf = (layout: Layout) => {
    const b = parse('rfc5424', frames, { layout });
    const { entry } = encodeEntry([b], 1);
    const { records, regions } = replay(entry);
    assert.deepStrictEqual(records, recordsOf(b), layout);
    return { region: regions[0]!, entry: entry.length, span: b.offsets[5]! - b.offsets[0]! };
  };
  const lines = regionOf('lines');
  assert.equal(lines.region, lines.span, 'stretch: the region runs from the first frame to the end of the last');
  assert.equal(lines.region, bytes + 2, 'two LFs between three lines');
  const adjacent = regionOf('adjacent');
  assert.equal(adjacent.region, bytes);
  const scattered = regionOf('scattered');
  assert.equal(scattered.region, bytes, 'frame by frame: only the frames');
  assert.ok(scattered.span > bytes + 500);
  assert.ok(scattered.entry < lines.entry + 16, 'the padding between scattered frames is not copied');
  const reversed = regionOf('reversed');
  assert.equal(reversed.region, bytes, 'frames out of order in the buffer: one by one');
  // CRLF-delimited lines: still within the per-frame gap allowance.
  const crlf = Buffer.from(frames.join('\r\n'));
  const offsets = new Uint32Array(6);
  let at = 0;
  frames.forEach((f, i) => {
    offsets[2 * i] = at;
    offsets[2 * i + 1] = at + f.length;
    at += f.length + 2;
  });
  const fb = { ...frameBatch(frames), buf: crlf, offsets };
  const b = new ParseStage('rfc5424').parse(fb);
  const { entry } = encodeEntry([b], 1);
  const r = replay(entry);
  assert.equal(r.regions[0], bytes + 4);
  assert.deepStrictEqual(r.records, recordsOf(b));
});

test('an entry of several batches, empty ones among them, and big frames', () => {
  const big = 'B'.repeat(1 << 20);
  const batches = [
    parse('raw', [], {}),
    parse('raw', [big, 'small'], { layout: 'scattered' }),
    parse('json', [], { layout: 'lines' }),
    parse('auto', [`{"msg":"${'m'.repeat(70_000)}"}`, 'x'], { layout: 'lines' }),
  ];
  const { entry, records: n } = encodeEntry(batches, 7);
  assert.equal(n, 4);
  const { decoded, records } = replay(entry);
  assert.equal(decoded.batches.length, 4);
  assert.equal(decoded.batches[0]!.count, 0);
  assert.deepStrictEqual(records, batches.flatMap(recordsOf));
  assert.ok(entry.length < big.length + 70_000 + 500);
});

// ---- property ----

const batchArb = fc.record({
  format: fc.constantFrom(...FORMATS),
  frames: fc.array(anyFrame, { maxLength: 8 }),
  layout: fc.constantFrom<Layout>(...LAYOUTS),
  received: fc.oneof(fc.constant(RECEIVED), fc.double({ min: 0, max: 4e12, noNaN: true })),
  datagram: fc.boolean(),
  truncated: fc.boolean(),
  listener: fc.string({ unit: 'binary', maxLength: 8 }),
  peer: fc.string({ unit: 'binary', maxLength: 20 }),
});

test('property: any batches, any layout: replaying the entry gives the records recordAt() gave', () => {
  fc.assert(
    fc.property(fc.array(batchArb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (spec, lsn) => {
      const batches = spec.map((s) => parse(s.format, s.frames, {
        layout: s.layout,
        received: s.received,
        source: { listener: s.listener, transport: s.datagram ? 'udp' : 'tcp', peer: s.peer },
        peers: s.datagram ? s.frames.map((_, i) => `${s.peer}#${i}`) : null,
        flags: s.truncated ? Uint8Array.from(s.frames.map((_, i) => (i % 3 === 0 ? FRAME_TRUNCATED : 0))) : null,
      }));
      const expected = batches.flatMap(recordsOf);
      const { entry } = encodeEntry(batches, lsn);
      const { decoded, records } = replay(entry);
      assert.equal(decoded.lsn, lsn);
      assert.deepStrictEqual(records, expected);
    }),
    { numRuns: 400 },
  );
});

// ---- one worker, many entries (as the store uses it) ----

test('one worker parser across entries while its key dictionary grows: field names in blocks stay right', () => {
  // The block builder caches key id → column per key dictionary; the worker's parser
  // keeps one dictionary that grows (and is replaced when full) across entries.
  const stage = new ParseStage('json');
  const parsers = new Parsers();
  const wide = `{"a":"2",${Array.from({ length: 200 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
  const messages = [['{"a":"1"}'], [wide], ['{"b":"x","a":"3"}'], ['{"a":"4","c":"y"}'], ['{"zz":"5"}', '{"a":"6"}']];
  messages.forEach((frames, m) => {
    const b = parse('json', frames, {}, stage);
    const expected = recordsOf(b);
    const { decoded } = buildBlock([[b]], { parsers, firstLsn: m + 1 });
    const got = Array.from({ length: decoded.n }, (_, i) => decoded.record(i));
    assert.deepStrictEqual(got, expected, `message ${m}`);
  });
});

// ---- damage ----

function sampleEntry(): Buffer {
  return encodeEntry(tableBatches('lines'), 9).entry;
}

test('checkEntry refuses a flipped byte anywhere in the entry, a cut entry and a length past the end', () => {
  const entry = sampleEntry();
  assert.equal(checkEntry(entry, 0, entry.length), entry.length - WAL_ENTRY_HEADER_SIZE);
  for (let i = 0; i < entry.length; i += i < 64 ? 1 : 7) {
    const bad = Buffer.from(entry);
    bad[i]! ^= 0x20;
    assert.equal(checkEntry(bad, 0, bad.length), -1, `byte ${i} flipped`);
  }
  for (let cut = 0; cut < entry.length; cut += cut < 64 ? 1 : 13) assert.equal(checkEntry(entry, 0, cut), -1, `cut at ${cut}`);
  // At an offset inside a larger buffer, with bytes after it.
  const inside = Buffer.concat([Buffer.alloc(5, 1), entry, Buffer.alloc(9, 2)]);
  assert.equal(checkEntry(inside, 5, inside.length), entry.length - WAL_ENTRY_HEADER_SIZE);
  assert.equal(checkEntry(inside, 4, inside.length), -1);
  // A huge length field.
  const huge = Buffer.from(entry);
  huge.writeUInt32LE(0xfffffff0, 4);
  assert.equal(checkEntry(huge, 0, huge.length), -1);
});

test('decodeEntryBody: every strict prefix of a body throws CorruptError', () => {
  const entry = sampleEntry();
  for (let cut = WAL_ENTRY_HEADER_SIZE; cut < entry.length; cut++) {
    assert.throws(() => decodeEntryBody(entry, WAL_ENTRY_HEADER_SIZE, cut), CorruptError, `cut at ${cut}`);
  }
});

test('decodeEntryBody: a damaged body (CRC bypassed) throws CorruptError or gives frames inside the body, never a crash', () => {
  const entry = sampleEntry();
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (flips) => {
      const bad = Buffer.from(entry);
      for (const [at, x] of flips) bad[WAL_ENTRY_HEADER_SIZE + (at % (bad.length - WAL_ENTRY_HEADER_SIZE))]! ^= x;
      try {
        const d = decodeEntryBody(bad, WAL_ENTRY_HEADER_SIZE, bad.length);
        for (const b of d.batches) {
          for (let i = 0; i < 2 * b.count; i++) assert.ok(b.offsets[i]! >= WAL_ENTRY_HEADER_SIZE && b.offsets[i]! <= bad.length);
          // And parsing it is safe.
          new ParseStage(b.format).parse(b);
        }
      } catch (err) {
        assert.ok(err instanceof CorruptError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (body) => {
      try {
        decodeEntryBody(Buffer.from(body), 0, body.length);
      } catch (err) {
        assert.ok(err instanceof CorruptError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('decodeEntryBody refuses: unknown kind, bad LSN, unknown format, stray bytes', () => {
  const entry = Buffer.from(encodeEntry([parse('raw', ['a'])], 5).entry);
  const body = entry.subarray(WAL_ENTRY_HEADER_SIZE);
  const variant = (patch: (b: Buffer) => Buffer) => () => {
    const b = patch(Buffer.from(body));
    decodeEntryBody(b, 0, b.length);
  };
  assert.doesNotThrow(variant((b) => b));
  assert.throws(variant((b) => ((b[0] = 2), b)), CorruptError, 'kind');
  for (const lsn of [0, -1, 1.5, NaN, 2 ** 53]) assert.throws(variant((b) => (b.writeDoubleLE(lsn, 1), b)), CorruptError, `lsn ${lsn}`);
  // The format string follows the batch count: "raw" → "rav".
  const fmt = body.indexOf('raw');
  assert.throws(variant((b) => ((b[fmt + 2] = 0x76), b)), CorruptError, 'format');
  assert.throws(variant((b) => Buffer.concat([b, Buffer.from([0])])), CorruptError, 'stray byte');
  // The magic is what the reader looks for.
  assert.equal(entry.readUInt32LE(0), WAL_ENTRY_MAGIC);
});
