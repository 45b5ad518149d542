/**
 * The native RFC 5424 pass (native/syslog5424.cc, rfc5424-native.ts) against its
 * definition, the JavaScript parsers: ParseStage gives the same columns, the same key
 * dictionary and the same counts with the native pass as without it, for valid lines
 * of every shape, mutated lines and random bytes (header fields compared by their
 * bytes: the native pass may point a repeated one at the previous record's); and the
 * native pass takes every frame that rfc5424.ts parses without an error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FUTURE_LIMIT_MS, ParseStage } from './parse-stage.js';
import { FRAME_TRUNCATED } from '../framing/framer.js';
import type { FormatName } from './format.js';
import { RECEIVED_MS, applyEdits, frameBatchOf, stageSnapshots, type ByteEdit } from './test-helpers.js';
import { nativeScan5424, nativeSdFields, scanRfc5424, scanned, sdFieldsRun, setNative5424 } from './rfc5424-native.js';
import { sdItemFields } from './rfc5424.js';
import { RecordWriter, type RecordBatch } from '../../record/record-batch.js';
import { recordAt } from '../../record/record.js';
import { buildBlock, buildBlocks, parse } from '../../store/test-helpers.js';
import { Parsers } from '../../store/parsers.js';
import { filterBytes } from '../../store/block-filter.js';

const skip = nativeScan5424() === null ? 'native addon not built (or RINGLOG_NATIVE=off)' : false;

const digits = (n: number, v: number): string => String(v).padStart(n, '0');

const pri = fc.oneof(fc.integer({ min: 0, max: 191 }).map(String), fc.constantFrom('013', '0', '00', '191', '192', '999', '', '1x', '0013'));
const version = fc.constantFrom('1', '1', '1', '2', '12', '123', '1234', '', 'a');
const fraction = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1, max: 10 }).chain((n) => fc.stringMatching(new RegExp(`^[0-9]{${n}}$`)).map((d) => '.' + d)),
  fc.constant('.'),
);
const offset = fc.oneof(
  fc.constantFrom('Z', 'z', '+00:00', '-00:00', '+05:30', '-08:00', '+0530', '-1159', '+23:59', '+24:00', '+05:60', '+5:30', '', 'Q', '+05:'),
  fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.boolean()).map(
    ([s, h, m, colon]) => `${s}${digits(2, h)}${colon ? ':' : ''}${digits(2, m)}`,
  ),
);
const timestamp = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('-', '--', '2026-02-29T10:00:00Z', '2024-02-29T10:00:00Z', '0000-01-01T00:00:00Z', '0000-03-01T00:00:00Z', '9999-12-31T23:59:60.999999999+00:00', '1969-12-31T23:59:59.999Z', '2026-13-01T00:00:00Z', '2026-04-31T00:00:00Z', '2026-11-22 10:00:00Z', '2026-11-22t10:00:00z') },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }),
        fc.constantFrom('T', 't', 'T', 'x'), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 61 }),
        fraction, offset,
      )
      .map(([y, mo, d, t, h, mi, s, f, o]) => `${digits(4, y)}-${digits(2, mo)}-${digits(2, d)}${t}${digits(2, h)}:${digits(2, mi)}:${digits(2, s)}${f}${o}`),
  },
);
const printable = fc.stringMatching(/^[\x21-\x7e]{1,12}$/);
const headerField = fc.oneof(
  { weight: 6, arbitrary: printable },
  { weight: 2, arbitrary: fc.constant('-') },
  { weight: 1, arbitrary: fc.constantFrom('', 'a'.repeat(255), 'a'.repeat(256), 'hé', 'a\tb', '--') },
);
const sdNameArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('exampleSDID@32473', 'meta', 'origin', 'iut', 'eventSource', 'eventID', 'ip', 'sequenceId', 'a', 'a[b', 'x\\y') },
  { weight: 2, arbitrary: fc.stringMatching(/^[\x21-\x7e]{1,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom('', 'n'.repeat(255), 'n'.repeat(256), 'a=b', 'a"b', 'a b', 'é') },
);
const sdValue = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 20 }).map((s) => s.replace(/["\\\]]/g, '')) },
  { weight: 3, arbitrary: fc.array(fc.constantFrom('a', ' ', '\\"', '\\\\', '\\]', '\\x', ']', '[', 'é', '\u0000', '\n', '\\'), { maxLength: 8 }).map((p) => p.join('')) },
);
const sdParam = fc.tuple(sdNameArb, sdValue).map(([n, v]) => ` ${n}="${v}"`);
const sdElement = fc.tuple(sdNameArb, fc.array(sdParam, { maxLength: 4 })).map(([id, ps]) => `[${id}${ps.join('')}]`);
const structuredData = fc.oneof(
  { weight: 2, arbitrary: fc.constant('-') },
  { weight: 6, arbitrary: fc.array(sdElement, { minLength: 1, maxLength: 4 }).map((e) => e.join('')) },
  { weight: 1, arbitrary: fc.constantFrom('[', '[a', '[a b]', '[a b=]', '[a b="c]', '[a]x', '[a] [b]', '[]', '-x', '[a b="c"]]', '[a b="c" ]') },
);
const message = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 30 }).map((m) => ' ' + m),
  fc.constantFrom(' \ufeffhello', ' \ufeff', '  two spaces', ' tab\there', 'x', ' trailing\r\n', ' nul\u0000', ' \ufeff\ufeffa'),
);
const padding = fc.constantFrom('', '', '', ' ', '\t ', '\ufeff', '\ufeff ', ' \ufeff');
const ending = fc.constantFrom('', '', '\n', '\r\n', '\u0000', '\n\n');

const line = fc
  .tuple(padding, pri, version, timestamp, headerField, headerField, headerField, headerField, structuredData, message, ending)
  .map(([pad, p, v, ts, host, app, pid, msgid, sd, msg, end]) => Buffer.from(`${pad}<${p}>${v} ${ts} ${host} ${app} ${pid} ${msgid} ${sd}${msg}${end}`, 'utf8'));

/** A line with a few bytes changed, inserted or removed. */
const mutated = fc
  .tuple(line, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom<ByteEdit[2]>('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 }))
  .map(([b, edits]) => applyEdits(b, edits));

const randomFrame = fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.concat([Buffer.from('<13>1 '), Buffer.from(a)]));

/** Records that repeat their names (the SAME path), with near misses: same length other bytes, other element, params moved. */
const repeating = fc
  .tuple(
    fc.constantFrom('[a@1 x="1" y="2"]', '[a@1 x="1" y="2"][b z="3"]', '[a@2 x="1" y="2"]', '[a@1 y="1" x="2"]', '[a@1 x="1"][y]', '[a@1][x]', '[x][a@1 x="1" y="2"]', '-', '[a@1 x="1" y="2" z="3"]'),
    fc.nat(1000),
  )
  .map(([sd, seq]) => Buffer.from(`<134>1 2026-11-22T08:49:09.758000Z host app 42 - ${sd} seq ${seq}\n`));

const frameArb = fc.oneof({ weight: 5, arbitrary: line }, { weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: randomFrame }, { weight: 3, arbitrary: repeating });

/**
 * The text ranges of a batch's records: the message's as positions; the header fields'
 * (host, app, procid, msgid) as their bytes, since the native pass may give a field that
 * repeats the previous record's that record's range (checked by assertRangesPointBack).
 */
function ranges(b: RecordBatch): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < b.count; i++) {
    for (let slot = 0; slot < 4; slot++) {
      const s = b.spans[i * 10 + 2 * slot]!;
      const e = b.spans[i * 10 + 2 * slot + 1]!;
      out.push(s === e ? null : b.buf.subarray(s, e).toString('hex'));
    }
    out.push(b.spans[i * 10 + 8], b.spans[i * 10 + 9]);
  }
  return out;
}

/** Every header field range lies in its own frame, or is the range of the same field of an earlier record. */
function assertRangesPointBack(b: RecordBatch): void {
  for (let i = 0; i < b.count; i++) {
    for (let slot = 0; slot < 4; slot++) {
      const s = b.spans[i * 10 + 2 * slot]!;
      const e = b.spans[i * 10 + 2 * slot + 1]!;
      if (s === e || (s >= b.offsets[2 * i]! && e <= b.offsets[2 * i + 1]!)) continue;
      let earlier = false;
      for (let j = 0; j < i && !earlier; j++) earlier = b.spans[j * 10 + 2 * slot] === s && b.spans[j * 10 + 2 * slot + 1] === e;
      assert.ok(earlier, `record ${i} slot ${slot}: [${s}, ${e}) is neither in its frame nor an earlier record's`);
    }
  }
}

/** Parses the batches with one stage, the native pass on or off: snapshots (header fields by their bytes) and counts. */
function parseAll(format: FormatName, batches: Buffer[][], native: boolean, reuse: boolean): unknown[] {
  setNative5424(native);
  try {
    return stageSnapshots(format, batches, reuse, undefined, (b) => {
      assertRangesPointBack(b);
      return ranges(b);
    });
  } finally {
    setNative5424(true);
  }
}

describe('native RFC 5424 pass', { skip }, () => {
  it('gives the same columns, keys and counts as the JavaScript parsers (auto, syslog, rfc5424)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(frameArb, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom<FormatName>('auto', 'syslog', 'rfc5424'),
        fc.boolean(),
        (batches, format, reuse) => {
          assert.deepEqual(parseAll(format, batches, true, reuse), parseAll(format, batches, false, reuse));
        },
      ),
      { numRuns: 1200 },
    );
  });

  it('marks frames cut at max-frame truncated and replaces absurd timestamps, in batches it takes whole and in mixed ones', () => {
    const frames = [
      '<13>1 2026-11-22T10:00:00Z h a - - - cut here',
      '<13>1 1969-12-31T23:59:59Z h a - - [x@1 k="v"] before 1970',
      '<13>1 2099-01-01T00:00:00Z h a - - - far future',
      '<13>1 2026-11-22T10:00:01Z h a - - - whole',
    ];
    for (const batch of [frames, [...frames, 'not syslog']]) {
      const records = (native: boolean) => {
        setNative5424(native);
        try {
          const fb = frameBatchOf(batch);
          fb.flags = Uint8Array.from(batch.map((_, i) => (i === 0 || i === 2 ? FRAME_TRUNCATED : 0)));
          const b = new ParseStage('auto', true).parse(fb);
          return Array.from({ length: b.count }, (_, i) => recordAt(b, i));
        } finally {
          setNative5424(true);
        }
      };
      const got = records(true);
      assert.deepEqual(got, records(false));
      assert.deepEqual(got.map((r) => r.fields['truncated'] ?? null), batch.map((_, i) => (i === 0 || i === 2 ? 'true' : null)));
      assert.deepEqual(got.map((r) => r.fields['original_timestamp'] ?? null).slice(0, 4), [null, '1969-12-31T23:59:59.000000000Z', '2099-01-01T00:00:00.000000000Z', null]);
    }
  });

  it('parses each timestamp whole when it differs from the previous frame\'s in one place only (the pass reuses the previous second)', () => {
    // Each one differs from the one before in one byte, every byte of the date and time in turn; some are invalid.
    const times = [
      '2026-11-22T10:20:30', '2026-11-22T10:20:31', '2026-11-22T10:20:41', '2026-11-22T10:21:41', '2026-11-22T10:31:41',
      '2026-11-22T11:31:41', '2026-11-22T21:31:41', '2026-11-23T21:31:41', '2026-11-13T21:31:41', '2026-12-13T21:31:41',
      '2026-02-13T21:31:41', '2027-02-13T21:31:41', '2037-02-13T21:31:41', '2137-02-13T21:31:41', '1137-02-13T21:31:41',
      '1137-02-13t21:31:41', '1137-02-13x21:31:41', '1137-02-13t21:31:41', '1137-02-31t21:31:41', '1137-02-21t21:31:41',
      '1137-02-21t21:31:61', '1137-02-21t21:31:60', '1137-02-21t21-31:60', '1137-02-21t21:31:60',
    ];
    const frames = times.map((t, i) => Buffer.from(`<13>1 ${t}.${i}Z h a - - - m${i}`));
    assert.deepEqual(parseAll('rfc5424', [frames], true, true), parseAll('rfc5424', [frames], false, true));
    setNative5424(true);
    const b = new ParseStage('rfc5424', true).parse(frameBatchOf(frames));
    const got = Array.from({ length: b.count }, (_, i) => recordAt(b, i));
    const invalid = new Set(['1137-02-13x21:31:41', '1137-02-31t21:31:41', '1137-02-21t21:31:61', '1137-02-21t21-31:60']);
    times.forEach((t, i) => {
      const r = got[i]!;
      if (invalid.has(t)) return assert.ok(r.fields['parse_error'] !== undefined, `${t}: a parse error`);
      // Before 1970 or days ahead of the receive time: kept as original_timestamp (the receive time replaces it).
      const kept = r.fields['original_timestamp'];
      const ms = kept !== undefined ? Date.parse(kept) : Number(r.timestamp / 1_000_000n);
      const leap = t.endsWith(':60') ? 1000 : 0; // Date.parse takes no leap second: :60 is a second after :59
      assert.equal(ms, Date.parse(`${t.replace('t', 'T').replace(/:60$/, ':59')}.${i}Z`) + leap, t);
    });
  });

  it('takes every frame that rfc5424.ts parses without an error, and no other', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(line, repeating), { minLength: 1, maxLength: 10 }), (frames) => {
        setNative5424(false);
        let js: RecordBatch;
        try {
          js = new ParseStage('rfc5424').parse(frameBatchOf(frames));
        } finally {
          setNative5424(true);
        }
        const ok = Array.from({ length: js.count }, (_, i) => recordAt(js, i).fields['parse_error'] === undefined);
        const w = new RecordWriter();
        const batch = frameBatchOf(frames);
        w.begin(batch);
        const taken = scanRfc5424(w, batch);
        assert.deepEqual(Array.from({ length: frames.length }, (_, i) => taken?.[i] === 1), ok);
      }),
      { numRuns: 1000 },
    );
  });

  it('handles many structured-data items (past the 64 it compares with the record before)', () => {
    const sd = Array.from({ length: 30 }, (_, k) => `[e${k % 7} p="${k}" q="x\\"y"]`).join('');
    const frames = [0, 1, 2].map((k) => Buffer.from(`<14>1 2026-12-03T08:00:00Z h a - - ${sd}${k === 1 ? '[extra]' : ''} m${k}\n`));
    const w = new RecordWriter();
    const batch = frameBatchOf(frames);
    w.begin(batch);
    assert.deepEqual(Array.from(scanRfc5424(w, batch)!.subarray(0, 3)), [1, 1, 1]);
    for (const reuse of [false, true]) assert.deepEqual(parseAll('auto', [frames, frames], true, reuse), parseAll('auto', [frames, frames], false, reuse));
  });

  it('makes room for batches whose records carry many items, and leaves frames over 4096 items to JavaScript', () => {
    const sd = '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"][meta sequenceId="1" sysUpTime="37" language="EN"]';
    const frames = Array.from({ length: 5000 }, (_, k) => Buffer.from(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 ${sd} m${k}\n`));
    const huge = Buffer.from(`<14>1 - h a - - ${'[x a="1"]'.repeat(2100)} big\n`); // 4,200 items
    frames.splice(2500, 0, huge);
    const w = new RecordWriter();
    const batch = frameBatchOf(frames);
    w.begin(batch);
    const taken = Array.from(scanRfc5424(w, batch)!.subarray(0, frames.length));
    assert.equal(taken.filter((t) => t === 1).length, 5000);
    assert.equal(taken[2500], 0, 'over 4096 items: not taken');
    assert.deepEqual(parseAll('auto', [frames], true, true), parseAll('auto', [frames], false, true));
  });

  it("gives a header field that repeats the previous record's that record's range", () => {
    const frames = ['<14>1 - host app 42 id - a', '<14>1 - host app 43 id - b', '<14>1 - host2 app 42 id - c', '<14>1 - host app - id - d']
      .map((f) => Buffer.from(f + '\n'));
    const b = new ParseStage('auto').parse(frameBatchOf(frames));
    const span = (i: number, slot: number) => [b.spans[i * 10 + 2 * slot], b.spans[i * 10 + 2 * slot + 1]];
    assert.deepEqual(span(1, 0), span(0, 0), 'host repeated');
    assert.deepEqual(span(1, 1), span(0, 1), 'app repeated');
    assert.notDeepEqual(span(1, 2), span(0, 2), 'procid changed');
    assert.deepEqual(span(1, 3), span(0, 3), 'msgid repeated');
    assert.notDeepEqual(span(2, 0), span(1, 0), 'host changed');
    assert.deepEqual(span(2, 1), span(0, 1), 'app repeated from the first record, through the second');
    assert.equal(b.buf.subarray(span(3, 0)[0], span(3, 0)[1]).toString(), 'host', 'host back after a change: its own range');
    assert.deepEqual(span(3, 2), [0, 0], 'absent');
    assert.deepEqual(frames.map((_, i) => recordAt(b, i).host), ['host', 'host', 'host2', 'host']);
  });

  it('builds the same blocks as the JavaScript parsers (header ranges of earlier records included)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.oneof(line, repeating, mutated), { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 3 }), fc.boolean(), (entries, reuse) => {
        const block = (native: boolean) => {
          setNative5424(native);
          try {
            // One block per hour, as the store builds them (a block's times are within its partition).
            const built = buildBlocks(entries.map((frames) => [parse('auto', frames)]), { parsers: new Parsers(undefined, reuse) });
            return built.map((b) => ({ bytes: b.sealed.bytes.toString('hex'), filter: Buffer.from(filterBytes(b.sealed.filter)).toString('hex') }));
          } finally {
            setNative5424(true);
          }
        };
        assert.deepEqual(block(true), block(false));
      }),
      { numRuns: 300 },
    );
    // Entries whose records have their hosts at the same place in the buffer, with other bytes.
    const entries = ['hostA', 'hostB', 'hostA'].map((h) => [parse('auto', [`<14>1 - ${h} app - - - x`, `<14>1 - ${h} app - - - y`])]);
    const d = buildBlock(entries).decoded;
    const hosts = Array.from({ length: d.n }, (_, i) => `${d.record(i).host} ${d.record(i).message}`).sort();
    assert.deepEqual(hosts, ['hostA x', 'hostA x', 'hostA y', 'hostA y', 'hostB x', 'hostB y']);
  });

  it('adds the fields of records that repeat the names before them natively, many a call, and stops where JavaScript takes over', () => {
    const frames = Array.from({ length: 200 }, (_, k) => {
      // 130–139: escaped values under names that repeat (stored with the escapes: ENC_SD);
      // 140–149: an element without params after one with (a field of its own, empty).
      const sd = k === 100 ? '[b@1 z="1"]' : k === 120 ? '[a@1 x="e\\"s" y="2"][c]' : k >= 130 && k < 140 ? `[a@1 x="e\\"${k}" y="2"]`
        : k >= 140 && k < 150 ? `[a@1 x="${k}"][c]` : `[a@1 x="${k}" y="2"]`;
      const time = k === 170 ? '1969-12-31T23:59:59Z' : '2026-11-22T09:00:00Z';
      return Buffer.from(`<14>1 ${time} h a - - ${sd} m${k}\n`);
    });
    const flags = new Uint8Array(frames.length);
    flags[150] = FRAME_TRUNCATED;
    const limit = RECEIVED_MS + FUTURE_LIMIT_MS;
    const w = new RecordWriter(true);
    const batch = frameBatchOf(frames);
    batch.flags = flags;
    w.begin(batch);
    assert.equal(scanRfc5424(w, batch)!.subarray(0, frames.length).every((t) => t === 1), true);
    // Record 0 in JavaScript (nothing before it to repeat), then the native loop from 1.
    const js = (i: number) => {
      sdItemFields(w, scanned.items, scanned.itemAt[i]!, scanned.itemAt[i + 1]!);
      w.next(i);
    };
    js(0);
    const stops: number[] = [];
    for (let i = 1; i < frames.length;) {
      const j = sdFieldsRun(w, i, frames.length, flags, limit);
      stops.push(j);
      if (j === frames.length) break;
      js(j);
      i = j + 1;
    }
    // Other names (100), names after them repeating nothing (101), another element (120),
    // fewer items than the record before (140: 'c' at the place of 'y'), the frame flag
    // (150; 151 repeats its names), a timestamp before 1970 (170).
    assert.deepEqual(stops, [100, 101, 120, 140, 150, 170, 200]);
    // The same fields as ParseStage without the native passes (records 150 and 170 aside,
    // which it ends with `truncated` and `original_timestamp`: the test's loop did not).
    const fields = (b: RecordBatch, i: number) => {
      const out: unknown[] = [];
      for (let f = b.fieldStart[i]!; f < b.fieldStart[i + 1]!; f++) out.push([b.keys.strings[b.fieldKey[f]!], b.fieldSpans[2 * f], b.fieldSpans[2 * f + 1], b.fieldEnc[f]]);
      return out;
    };
    const mine = w.finish('auto');
    setNative5424(false);
    let theirs: RecordBatch;
    try {
      const fb = frameBatchOf(frames);
      fb.flags = flags;
      theirs = new ParseStage('auto', true).parse(fb);
    } finally {
      setNative5424(true);
    }
    for (let i = 0; i < frames.length; i++) {
      if (i === 150 || i === 170) continue;
      assert.deepEqual(fields(mine, i), fields(theirs, i), `record ${i}`);
    }
  });

  it('sdFields refuses arguments that do not fit, and stops where the fields have no room', () => {
    const fn = nativeSdFields()!;
    const frames = ['<14>1 - h a - - [a x="1"] m', '<14>1 - h a - - [a x="2"] m', '<14>1 - h a - - [a x="3"] m'].map((f) => Buffer.from(f));
    const w = new RecordWriter(true);
    const batch = frameBatchOf(frames);
    w.begin(batch);
    scanRfc5424(w, batch);
    const ids = new Uint32Array(64);
    const args = (o: Partial<{ from: number; count: number; ids: Uint32Array; key: Uint32Array; spans: Uint32Array; enc: Uint8Array; start: Uint32Array; flags: Uint8Array }> = {}) =>
      [scanned.items, scanned.itemAt, o.ids ?? ids, o.from ?? 1, o.count ?? 3, o.flags ?? new Uint8Array(0), w.timeMs, 1e15,
        o.key ?? new Uint32Array(16), o.spans ?? new Uint32Array(32), o.enc ?? new Uint8Array(16), o.start ?? new Uint32Array(4)] as const;
    assert.equal(fn(...args()), 3);
    assert.throws(() => fn(...args({ from: 4 })), RangeError);
    assert.throws(() => fn(...args({ count: 9 })), RangeError);
    assert.throws(() => fn(...args({ ids: new Uint32Array(8) })), RangeError);
    assert.throws(() => fn(...args({ flags: new Uint8Array(2) })), RangeError);
    assert.throws(() => fn(...args({ from: 1.5 })), TypeError);
    assert.throws(() => fn(...(args() as unknown as Parameters<typeof fn>).map((a, k) => (k === 9 ? new Uint16Array(32) : a)) as unknown as Parameters<typeof fn>), TypeError);
    assert.throws(() => fn(...args({ key: new Uint32Array(new SharedArrayBuffer(64)) })), TypeError);
    // An output over another argument (the field keys written over fieldStart).
    const words = new Uint32Array(24);
    assert.throws(() => fn(...args({ key: words.subarray(0, 16), start: words.subarray(12, 16) })), RangeError);
    // No room for a record's fields (room is counted by items: two here, one field): it stops there.
    assert.equal(fn(...args({ key: new Uint32Array(2), spans: new Uint32Array(4), enc: new Uint8Array(2) })), 2);
    assert.equal(fn(...args({ key: new Uint32Array(3), spans: new Uint32Array(4), enc: new Uint8Array(3) })), 2);
    assert.equal(fn(...args({ key: new Uint32Array(0) })), 1);
  });

  it('refuses arguments that do not fit', () => {
    const fn = nativeScan5424()!;
    const buf = Buffer.from('<13>1 - h a p m - x');
    const cols = (n: number) => [new Float64Array(n), new Uint32Array(n), new Uint8Array(n), new Uint8Array(n), new Uint32Array(10 * n), new Uint8Array(n), new Uint32Array(64), new Uint32Array(n + 1)] as const;
    assert.equal(fn(buf, Uint32Array.of(0, buf.length), 1, ...cols(1)), 1);
    assert.throws(() => fn(buf, Uint32Array.of(0, buf.length), 2, ...cols(1)), RangeError);
    assert.throws(() => fn(buf, Uint16Array.of(0, buf.length) as unknown as Uint32Array, 1, ...cols(1)), TypeError);
    // A frame outside the buffer is not taken (and not read).
    const c = cols(1);
    assert.equal(fn(buf, Uint32Array.of(0, 999), 1, ...c), 0);
    assert.equal(c[5][0], 0);
    // Arrays over a SharedArrayBuffer (another thread could change them under the pass) are refused,
    const shared = new Uint8Array(new SharedArrayBuffer(buf.length));
    shared.set(buf);
    assert.throws(() => fn(shared, Uint32Array.of(0, buf.length), 1, ...cols(1)), TypeError);
    // and so is an output that shares memory with another argument (spans written over itemAt).
    const [timeMs, timeNs, facility, severity, , taken, items] = cols(1);
    const words = new Uint32Array(16);
    assert.throws(() => fn(buf, Uint32Array.of(0, buf.length), 1, timeMs, timeNs, facility, severity, words.subarray(0, 10), taken, items, words.subarray(8, 10)), RangeError);
  });
});
