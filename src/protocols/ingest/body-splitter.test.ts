import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { IngestBodySplitter, type BodyKind, type SplitResult } from './body-splitter.js';
import { IngestDecodeError } from './types.js';

interface Run {
  frames: string[];
  rejected: { index: number; reason: string }[];
  error?: string;
  detected: BodyKind;
  /** Largest frame in bytes. */
  largest: number;
}

/**
 * Feeds `body` cut at `cuts` (sorted positions) and ends it: once collecting frames, once
 * handing them to a sink (as HTTP ingest does, into a BatchBuilder); both must agree.
 */
function run(kind: BodyKind, maxItem: number, body: Buffer | string, cuts: number[] = []): Run {
  const collected = runOnce(kind, maxItem, body, cuts, false);
  assert.deepEqual(runOnce(kind, maxItem, body, cuts, true), collected, 'with a sink as without');
  return collected;
}

function runOnce(kind: BodyKind, maxItem: number, body: Buffer | string, cuts: number[], withSink: boolean): Run {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const sunk: Buffer[] = [];
  // A sink reads the frame when it is handed over (the chunk is overwritten after push()).
  const s = new IngestBodySplitter(kind, maxItem, withSink ? (buf, start, end) => void sunk.push(Buffer.from(buf.subarray(start, end))) : null);
  const collect = (r: SplitResult) => {
    if (withSink) {
      assert.equal(r.frames.length, 0, 'with a sink, no frames are collected');
      r.frames = sunk.splice(0);
    }
    return r;
  };
  const out: Run = { frames: [], rejected: [], detected: 'auto', largest: 0 };
  let at = 0;
  try {
    for (const c of [...cuts, b.length]) {
      // Each chunk in its own buffer, overwritten once its frames are read (the caller's
      // side of the contract): a held partial line must not point into it.
      const chunk = Buffer.from(b.subarray(at, c));
      const r = collect(s.push(chunk));
      out.frames.push(...r.frames.map((f) => f.toString('utf8')));
      chunk.fill(0x3f);
      out.rejected.push(...r.rejected);
      for (const f of r.frames) out.largest = Math.max(out.largest, f.length);
      at = c;
    }
    const r = collect(s.end());
    for (const f of r.frames) out.largest = Math.max(out.largest, f.length);
    out.frames.push(...r.frames.map((f) => f.toString('utf8')));
    out.rejected.push(...r.rejected);
  } catch (e) {
    if (!(e instanceof IngestDecodeError)) throw e;
    out.error = e.reason;
    // Frames a sink had before the error count as the collected ones returned before it.
    if (withSink && sunk.length > 0) out.frames.push(...sunk.splice(0).map((f) => f.toString('utf8')));
  }
  if (withSink) assert.equal(s.emitted, out.frames.length);
  out.detected = s.detected;
  return out;
}

const everyByte = (len: number) => Array.from({ length: Math.max(0, len - 1) }, (_, i) => i + 1);

/** The whole body, byte by byte, and cut once at every position: all the same. */
function sameAtEverySplit(kind: BodyKind, maxItem: number, body: string): Run {
  const b = Buffer.from(body, 'utf8');
  const whole = run(kind, maxItem, b);
  assert.deepEqual(run(kind, maxItem, b, everyByte(b.length)), whole, 'byte by byte');
  for (let i = 0; i <= b.length; i++) assert.deepEqual(run(kind, maxItem, b, [i]), whole, `cut at ${i}`);
  return whole;
}

const ARRAY = ' [ {"a":"]","b":",","c":"\\"}{","d":"\\\\"} ,\n{"n":[[1,2],[3,{"x":"]]"}]],"e":{}},{"u":"é€😀","q":"\\u005d"}\t]\n';

test('json-array: elements with ], commas, escaped quotes, backslashes and nested arrays, at every split point', () => {
  const r = sameAtEverySplit('json-array', 1000, ARRAY);
  assert.deepEqual(r.frames, [
    '{"a":"]","b":",","c":"\\"}{","d":"\\\\"}',
    '{"n":[[1,2],[3,{"x":"]]"}]],"e":{}}',
    '{"u":"é€😀","q":"\\u005d"}',
  ]);
  assert.deepEqual(r.rejected, []);
  assert.deepEqual(r.frames.map((f) => JSON.parse(f) as unknown), JSON.parse(ARRAY) as unknown[]);
  assert.equal(run('auto', 1000, ARRAY).detected, 'json-array');
});

test('json-array: elements that are not objects are rejected, objects kept; [] is empty', () => {
  const r = sameAtEverySplit('json-array', 100, '[1, -2.5e3 ,"s]\\"", [1,{"a":2}], {"ok":1}, null,true]');
  assert.deepEqual(r.frames, ['{"ok":1}']);
  assert.deepEqual(r.rejected, [0, 1, 2, 3, 5, 6].map((index) => ({ index, reason: 'not_object' })));
  assert.deepEqual(run('json-array', 10, ' [ ] '), { frames: [], rejected: [], detected: 'json-array', largest: 0 });
});

test('json-array: an over-long element is rejected and the others kept, at every split point', () => {
  const long = JSON.stringify({ m: 'x]'.repeat(30), n: [[[]]] });
  const r = sameAtEverySplit('json-array', 40, `[{"a":1},${long},{"b":"${'y'.repeat(32)}"},{"c":3}]`);
  // 40 bytes: exactly maxItem, kept.
  assert.deepEqual(r.frames, ['{"a":1}', `{"b":"${'y'.repeat(32)}"}`, '{"c":3}']);
  assert.deepEqual(r.rejected, [{ index: 1, reason: 'too_large' }]);
});

test('json-array: what is not an array is a bad_json error', () => {
  for (const body of ['{"a":1}', '[{"a":1} {"b":2}]', '[{"a":1}]x', '[{"a":1}', '[{]', '[,{"a":1}]', '[{"a":1},]', '', '[' + '['.repeat(600)]) {
    const r = run('json-array', 10_000, body);
    assert.equal(r.error, 'bad_json', JSON.stringify(body));
  }
  // Elements before the error were complete and are returned.
  assert.deepEqual(run('json-array', 100, '[{"a":1},{"b":2} x').frames, ['{"a":1}', '{"b":2}']);
});

test('ndjson and text: lines, CR LF, blank lines, no final LF, at every split point', () => {
  const body = '{"a":1}\r\n\n   \n{"b":"x\\ny"}\nplain text line\r\nlast';
  for (const kind of ['ndjson', 'text', 'auto'] as const) {
    const r = sameAtEverySplit(kind, 100, body);
    assert.deepEqual(r.frames, ['{"a":1}', '{"b":"x\\ny"}', 'plain text line', 'last'], kind);
    assert.deepEqual(r.rejected, []);
  }
  assert.equal(run('auto', 100, '\n {"a":1}').detected, 'ndjson');
});

test('lines: an over-long line is rejected and the next kept; a line of exactly maxItem bytes (and its CR) is kept', () => {
  const r = sameAtEverySplit('ndjson', 8, `12345678\r\n123456789\n${'z'.repeat(40)}\nok\n123456789`);
  assert.deepEqual(r.frames, ['12345678', 'ok']);
  assert.deepEqual(r.rejected, [{ index: 1, reason: 'too_large' }, { index: 2, reason: 'too_large' }, { index: 4, reason: 'too_large' }]);
});

test('a UTF-8 BOM is dropped, even split across chunks; bytes that only begin like one are kept', () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const body = Buffer.concat([bom, Buffer.from('[{"a":1}]')]);
  for (const cuts of [[], [1], [2], [1, 2], [3], everyByte(body.length)]) {
    assert.deepEqual(run('auto', 100, body, cuts).frames, ['{"a":1}'], String(cuts));
  }
  const notBom = Buffer.from([0xef, 0xbb, 0x41, 0x0a]);
  assert.deepEqual(run('text', 100, notBom, [1]).frames, [Buffer.from([0xef, 0xbb, 0x41]).toString('utf8')]);
  assert.deepEqual(run('text', 100, Buffer.from([0xef])).frames, [Buffer.from([0xef]).toString('utf8')]);
});

test('property: random splits give the same result as one push; arrays of random objects split into their elements', () => {
  const arb = fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), { maxLength: 6 });
  fc.assert(fc.property(arb, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), (objs, rawCuts, pretty) => {
    const body = JSON.stringify(objs, null, pretty ? 2 : 0);
    const len = Buffer.byteLength(body);
    const cuts = [...new Set(rawCuts.map((c) => c % (len + 1)))].sort((a, b) => a - b);
    const whole = run('auto', 1 << 20, body);
    assert.deepEqual(run('auto', 1 << 20, body, cuts), whole);
    assert.equal(whole.error, undefined);
    assert.deepEqual(whole.frames.map((f) => JSON.parse(f) as unknown), JSON.parse(body) as unknown);
  }), { numRuns: 300 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 6 }), fc.constantFrom<BodyKind>('ndjson', 'json-array', 'text', 'auto'), fc.integer({ min: 1, max: 40 }), (bytes, rawCuts, kind, max) => {
    const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const whole = run(kind, max, Buffer.from(bytes));
    const split = run(kind, max, Buffer.from(bytes), cuts);
    assert.deepEqual(split, whole);
    assert.ok(whole.largest <= max, 'frames are bounded by maxItem');
  }), { numRuns: 1000 });
});
