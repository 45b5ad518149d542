/**
 * The block round trip, as the store runs it: frames parsed by the real ParseStage →
 * encodeEntry (wal-entry.ts) → decodeEntryBody → Parsers (as the store worker) → BlockBuilder.append
 * for every record (one builder per hourly partition, as the worker) → seal (zstd) →
 * decodeBlock → DecodedBlock.record(i): each block holds exactly the recordAt() records
 * of its partition, field for field, in the documented row order (grouped by app and
 * host, arrival order within a group). Plus the header's summary
 * (times, count, masks, LSN), the index's bloom filter (rebuilt alike from a decoded
 * block) and damage: a flipped byte anywhere is a CorruptError, never a crash or
 * silently wrong data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Compressor } from 'zstd-napi';
import { crc32c } from '@node-rs/crc32';
import { FORMATS, type FormatName } from '../protocols/formats/format.js';
import { FRAME_TRUNCATED } from '../protocols/framing/framer.js';
import type { RecordBatch } from '../record/record-batch.js';
import type { LogRecord } from '../record/record.js';
import { BlockBuilder } from './block-builder.js';
import { nativeIndexBlock } from './native-index.js';
import { ST_DICT_SIZE, ST_LIMIT, ST_MAX_MS, ST_MAX_RECORDS, ST_MIN_MS, ST_N, ST_NF, ST_SIZE, ST_STATUS, ST_TOKENS_SIZE, nativeAppendRun } from './block-append.js';
import { BLOCK_HEADER_SIZE, marshalBlockHeader, unmarshalBlockHeader, type BlockHeader } from './block-header.js';
import { decodeBlock, filterOfBlock, type DecodedBlock } from './block-decoder.js';
import { filterBytes } from './block-filter.js';
import { CorruptError } from './byte-buffer.js';
import { Parsers } from './parsers.js';
import { LAYOUTS, RECEIVED, anyFrame, buildBlock, buildBlocks, parse, recordsOf, wellFormed, type Layout, type PartitionBlock } from './test-helpers.js';
import { partitionOf } from './partition.js';

const H = Date.UTC(2026, 10, 22, 9, 0, 0);

/** A record as comparable text (bigints as strings, fields in key order). */
function canon(r: LogRecord): string {
  const fields = Object.fromEntries(Object.entries(r.fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ ...r, timestamp: String(r.timestamp), received: String(r.received), fields, source: [r.source.listener, r.source.transport, r.source.peer] });
}

/**
 * The block holds exactly the expected records (what recordAt() said, lone surrogates
 * aside: see wellFormed), in the documented row order: grouped by app, by host within
 * an app, in arrival order within a group (the groups themselves in any order).
 */
function assertBlockHolds(d: DecodedBlock, expected: LogRecord[]): void {
  assert.equal(d.n, expected.length, 'record count');
  const got = Array.from({ length: d.n }, (_, i) => d.record(i));
  const want = expected.map(wellFormed);
  // Same records, ignoring order (clear diffs when this fails).
  const g = got.map(canon).sort();
  const w = want.map(canon).sort();
  for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) assert.deepStrictEqual(JSON.parse(g[i]!), JSON.parse(w[i]!), `sorted record ${i} of ${g.length}`);
  // Row order: each app's rows contiguous, each (app, host) run contiguous, arrival order within it.
  const runs = (key: (r: LogRecord) => string) => {
    const seen = new Set<string>();
    let prev: string | null = null;
    for (const r of got) {
      const k = key(r);
      if (k !== prev) {
        assert.ok(!seen.has(k), `rows of ${k} are not together`);
        seen.add(k);
        prev = k;
      }
    }
  };
  runs((r) => JSON.stringify([r.app]));
  runs((r) => JSON.stringify([r.app, r.host]));
  const groups = (list: LogRecord[]) => {
    const m = new Map<string, string[]>();
    for (const r of list) {
      const k = JSON.stringify([r.app, r.host]);
      if (!m.has(k)) m.set(k, []);
      m.get(k)!.push(canon(r));
    }
    return m;
  };
  const gg = groups(got);
  for (const [k, list] of groups(want)) assert.deepEqual(gg.get(k), list, `arrival order within ${k}`);
  // The per-record accessors queries use agree with record().
  got.forEach((r, i) => {
    assert.equal(d.message(i), r.message);
    for (const [k, v] of Object.entries(r.fields)) assert.equal(d.field(i, k), v, `field ${k} of row ${i}`);
    assert.equal(d.field(i, '\u0000no such field'), undefined);
    assert.deepEqual(d.fieldsOf(i), r.fields);
  });
}

/** Every partition's block holds that partition's records; the blocks together hold every record once. */
function assertBlocksHold(blocks: PartitionBlock[], all: LogRecord[], epoch: number): void {
  let total = 0;
  for (const b of blocks) {
    assertBlockHolds(b.decoded, b.expected);
    checkHeader(b.sealed.header, b.expected, b.maxLsn, epoch);
    for (const r of b.expected) assert.equal(partitionOf(Number(r.timestamp / 1_000_000n)), b.key);
    // The token filter an index is rebuilt with is the one the block was built with.
    const again = filterOfBlock(b.decoded);
    assert.deepEqual(Buffer.from(filterBytes(again)), Buffer.from(filterBytes(b.sealed.filter)), 'filter rebuilt from the decoded block');
    total += b.decoded.n;
  }
  assert.equal(total, all.length);
}

function expectedOf(entries: RecordBatch[][]): LogRecord[] {
  return entries.flatMap((batches) => batches.flatMap(recordsOf));
}

function checkHeader(h: BlockHeader, recs: LogRecord[], maxLsn: number, epoch: number): void {
  assert.equal(h.count, recs.length);
  assert.equal(h.epoch, epoch);
  assert.equal(h.maxLsn, maxLsn);
  let min = recs[0]!.timestamp;
  let max = min;
  let fac = 0;
  let sev = 0;
  for (const r of recs) {
    if (r.timestamp < min) min = r.timestamp;
    if (r.timestamp > max) max = r.timestamp;
    fac |= 1 << r.facility;
    sev |= 1 << r.severity;
  }
  assert.equal(BigInt(h.minMs) * 1_000_000n + BigInt(h.minNs), min, 'minMs/minNs');
  assert.equal(BigInt(h.maxMs) * 1_000_000n + BigInt(h.maxNs), max, 'maxMs/maxNs');
  assert.equal(h.facMask >>> 0, fac >>> 0, 'facMask');
  assert.equal(h.sevMask, sev, 'sevMask');
}

/** Frames of every kind the parsers know, with the hostile cases. */
const TABLE: { name: string; format: FormatName; frames: (string | Buffer)[]; peers?: string[]; flags?: number[]; transport?: 'udp' | 'tcp' }[] = [
  {
    name: 'RFC 5424: structured data with escapes, NILVALUEs, BOM, ns timestamps, trailing LF',
    format: 'rfc5424',
    frames: [
      '<165>1 2026-11-22T09:00:00.123456789Z web-1 nginx 1234 ID47 [origin@32473 ip="10.0.0.1" q="a\\"b\\\\c\\]d"][empty@1] GET /x 200',
      '<34>1 2026-11-22T09:30:00.5+01:00 - - - - - ',
      '<13>1 2026-11-22T09:00:01Z host app - - [a@1 k="v"][a@1 k="second"] duplicate sd ids\n',
      '<0>1 - host2 - 77 - - \ufeffBOM message with ünïcödé',
      '<191>1 2026-11-22T09:59:59.999999Z h a p m [x@1 z=""] last',
      '<13>1 2026-11-22T09:00:02Z h a - - [bad sd',
    ],
  },
  {
    name: 'RFC 3164: with and without PRI, host, pid',
    format: 'rfc3164',
    frames: [
      '<13>Nov 22 09:00:01 host2 sshd[99]: Accepted password for bob',
      'Nov 22 09:00:02 cron: no pri, no host',
      '<38>Nov 22 09:00:03 myhost postfix/smtpd[123]: connect from x',
      '<86>2026-11-22T09:00:04.5Z h2 su: rfc3339 stamp',
      '<13>garbage timestamp: the rest is the message',
    ],
  },
  {
    name: 'JSON: nested objects, escapes, duplicate keys, numbers, arrays, host/app/pid/msgid',
    format: 'json',
    frames: [
      '{"time":"2026-11-22T09:00:02Z","level":"error","msg":"line\\nwith \\"esc\\" \\u00e9 \\ud83d\\ude00","host":"h\\u0031","req":{"id":7,"h":{"x":"y","e":{}}},"a":1,"a":2}',
      '{"ts":1795338000123,"level":30,"message":"pino","pid":812,"hostname":"api-2","app":"svc","msgid":"M1","arr":[1,"two",{"3":4}],"n":null,"t":true,"big":123456789012345678901234567890}',
      '{"msg":"","host":"","k\\u0020ey":"v\\tal","é":"ü"}',
      '{"log":{"level":"warn","logger":"x"},"@timestamp":"2026-11-22 09:00:05,123","service":"2ms"}',
      '{"not":"closed"',
      '[1,2]',
      '{}',
    ],
  },
  {
    name: 'logfmt: quoted values, escapes, bare keys',
    format: 'logfmt',
    frames: [
      'level=warn msg="disk full" path=/var host=db-2 ts=2026-11-22T09:00:06Z',
      'msg="a \\"quoted\\" value" empty= k=v app=worker',
      'just words without pairs',
      'a=1 a=2 a=3',
    ],
  },
  {
    name: 'raw: any bytes, invalid UTF-8, empty, CR/LF/NUL tails',
    format: 'raw',
    frames: [
      'just raw text',
      Buffer.from([0x66, 0xff, 0xfe, 0x20, 0xc3]),
      Buffer.from([0xed, 0xa0, 0x80, 0x41]), // an encoded surrogate: invalid UTF-8
      '',
      '   ',
      'trailing\r\n\u0000',
      'x'.repeat(5000),
    ],
  },
  {
    name: 'auto: every kind mixed in one batch',
    format: 'auto',
    frames: [
      '<134>1 2026-11-22T09:00:07Z web-3 app - - [m@1 a="1"] auto 5424',
      '<14>Nov 22 09:00:08 web-4 kernel: auto 3164',
      '{"level":"debug","msg":"auto json","user":{"id":"u1"}}',
      'level=info msg="auto logfmt" user_id=42',
      'plain text line',
      Buffer.from([0xc0, 0x80, 0xf5]),
      '',
      '{"version":"1.1","host":"g","short_message":"gelf-ish","_extra":"x","level":3}',
    ],
  },
  {
    name: 'GELF over a stream (JSON)',
    format: 'gelf',
    frames: ['{"version":"1.1","host":"g1","short_message":"hello","full_message":"long","timestamp":1795338000.5,"level":4,"_user":"bob"}', '{"host":"nomsg"}'],
  },
  {
    name: 'absurd timestamps become the receive time with original_timestamp',
    format: 'rfc5424',
    frames: ['<13>1 1960-01-01T00:00:00Z h a - - - before 1970', '<13>1 2099-01-01T00:00:00Z h a - - - far future'],
  },
  {
    name: 'truncated frames (flags) get truncated=true',
    format: 'auto',
    frames: ['<13>1 2026-11-22T09:00:09Z h a - - - cut her', '{"msg":"cut', 'raw cut'],
    flags: [FRAME_TRUNCATED, FRAME_TRUNCATED, 0],
  },
  {
    name: 'a datagram batch with a peer per record',
    format: 'syslog',
    transport: 'udp',
    frames: ['<13>1 2026-11-22T09:00:10Z a1 - - - - from one', '<13>Nov 22 09:00:11 a2 x: from two', '<13>1 - a3 - - - - from one again'],
    peers: ['192.0.2.1:514', '[2001:db8::1]:5514', '192.0.2.1:514'],
  },
];

for (const layout of LAYOUTS) {
  test(`block round trip, table of formats and hostile frames (${layout} frames)`, () => {
    const entries: RecordBatch[][] = [];
    // One entry per table row (its own LSN); the datagram and truncated rows share an entry with the row before.
    TABLE.forEach((row, k) => {
      const b = parse(row.format, row.frames, {
        layout,
        received: RECEIVED + k * 1.5,
        source: { listener: `l-${row.format}`, transport: row.transport ?? 'tcp', peer: row.transport === 'udp' ? '0.0.0.0:514' : `10.0.0.${k}:1` },
        peers: row.peers ?? null,
        flags: row.flags ? Uint8Array.from(row.flags) : null,
      });
      if (row.peers || row.flags) entries[entries.length - 1]!.push(b);
      else entries.push([b]);
    });
    const expected = expectedOf(entries);
    const blocks = buildBlocks(entries, { epoch: 9, firstLsn: 100 });
    assert.ok(blocks.length >= 2, 'the table spans several hours');
    assertBlocksHold(blocks, expected, 9);
    for (const b of blocks) assert.deepEqual(unmarshalBlockHeader(b.sealed.bytes, 0), b.sealed.header);
    // Spot checks that the table covers what it says.
    const all = expected.map((r) => r.fields);
    assert.ok(all.some((f) => f['origin@32473.q'] === 'a"b\\c]d'), 'SD escapes');
    assert.ok(all.some((f) => f['truncated'] === 'true'), 'truncated flag');
    assert.ok(all.some((f) => f['parse_error'] !== undefined), 'parse errors');
    assert.ok(all.some((f) => f['original_timestamp'] !== undefined), 'absurd timestamps');
    assert.ok(all.some((f) => f['req.h.x'] === 'y'), 'nested JSON');
    assert.ok(expected.some((r) => r.source.peer === '[2001:db8::1]:5514'), 'per-record peers');
    assert.ok(expected.some((r) => r.message.includes('\ufffd')), 'invalid UTF-8');
  });
}

test('field names and values: duplicate keys keep the last value, as recordAt() does (one app/host group: arrival order)', () => {
  const b = parse('json', ['{"a":"first","a":"second","b":{"c":1},"b.c":"flat"}', '{"a":"only"}', '{"x":"1"}']);
  const { decoded } = buildBlock([[b]]);
  assert.deepEqual(decoded.fieldsOf(0), recordsOf(b)[0]!.fields);
  assert.equal(decoded.field(0, 'a'), 'second');
  assert.equal(decoded.field(0, 'b.c'), recordsOf(b)[0]!.fields['b.c']);
  assert.equal(decoded.field(1, 'a'), 'only');
  assert.equal(decoded.field(2, 'a'), undefined);
  assert.equal(decoded.field(1, 'x'), undefined);
});

test('a block whose records repeat a key more often than it has records decodes (every duplicate value is stored)', () => {
  // Regression: decodeBlock refused a field column with more values than records
  // ("field a has 3 values in 1 records"), so such a block was unreadable.
  for (const [format, frame] of [['json', '{"a":1,"a":2,"a":3,"msg":"x"}'], ['logfmt', 'a=1 a=2 a=3 msg=x']] as const) {
    const b = parse(format, [frame]);
    const { decoded } = buildBlock([[b]]);
    assert.equal(decoded.fields.find((f) => f.name === 'a')?.rows.length, 3, format);
    assert.deepStrictEqual(decoded.record(0), recordsOf(b)[0], format);
    assert.equal(decoded.field(0, 'a'), '3');
  }
});

test('a lone surrogate (JSON "\\ud800") cannot be stored in UTF-8: it comes back as U+FFFD', () => {
  // Documented here because the WAL (re-parsed by readers) still yields the surrogate:
  // a reader sees '\ud800x' before the commit and '\ufffdx' after it.
  const b = parse('json', ['{"msg":"\\ud800x","k":"\\udfff","host":"h\\ud800"}']);
  const r = recordsOf(b)[0]!;
  assert.equal(r.message, '\ud800x');
  const got = buildBlock([[b]]).decoded.record(0);
  assert.equal(got.message, '\ufffdx');
  assert.equal(got.fields['k'], '\ufffd');
  assert.equal(got.host, 'h\ufffd');
});

test('a builder is reusable: after seal it is empty, and blocks past 2^15 records (array growth and shrink) round trip', () => {
  const builder = new BlockBuilder();
  const parsers = new Parsers();
  const many = Array.from({ length: 33_000 }, (_, i) => `<${i % 192}>1 2026-11-22T09:${String(i % 60).padStart(2, '0')}:00.${String(i).padStart(6, '0')}Z h${i % 7} a - - [s@1 i="${i}"] message ${i}`);
  const first = [[parse('rfc5424', many.slice(0, 20_000))], [parse('rfc5424', many.slice(20_000))]];
  const big = buildBlock(first, { builder, parsers });
  const expected = expectedOf(first);
  assertBlockHolds(big.decoded, expected);
  checkHeader(big.sealed.header, expected, 2, 1);
  assert.equal(builder.n, 0);
  assert.equal(builder.bytes, 0);
  // The same builder, a small block: nothing of the first one leaks into it.
  const second = [[parse('json', ['{"msg":"after","host":"z"}', '{"msg":"reset"}'])]];
  const small = buildBlock(second, { builder, parsers, epoch: 2, firstLsn: 7 });
  assertBlockHolds(small.decoded, expectedOf(second));
  checkHeader(small.sealed.header, expectedOf(second), 7, 2);
  assert.equal(small.decoded.fields.length, 0, 'no field columns of the previous block');
  assert.deepEqual(small.decoded.slotDicts[0], ['z']);
});

test('the native block index (when the addon is built) gives the same token filter as the JavaScript one, repeated texts included', (t) => {
  if (nativeIndexBlock() === null) {
    t.skip('native addon not built (or RINGLOG_NATIVE=off)');
    return;
  }
  const parsers = new Parsers();
  // Repeats (the same message, the same value in another column), texts differing in one
  // byte or in case, empty values, many distinct ids (the native cache of recent texts
  // evicts), and more than one block per builder.
  const lines = Array.from({ length: 20_000 }, (_, i) =>
    `<${i % 192}>1 2026-11-22T09:00:00Z h${i % 3} a${i % 5} - - [s@1 i="${i % 7000}" j="${i % 3}" k="${i % 2 ? 'X y' : ''}" l="${i % 11 === 0 ? 'x Y' : 'x y'}"] ` +
    `${i % 4 === 0 ? `unique message ${i}` : i % 4 === 1 ? 'the same message' : i % 4 === 2 ? 'the Same message' : 'ünïcode wörds & 1.2.3'}`);
  const json = Array.from({ length: 3000 }, (_, i) => `{"msg":"m ${i % 50}","n":${i % 97},"s":"${i % 13 ? 'a-b' : ''}","e":""}`);
  const native = new BlockBuilder();
  const js = new BlockBuilder({ index: 'js' });
  for (let round = 0; round < 2; round++) {
    const entries = [[parse('rfc5424', lines.slice(round * 10_000, round * 10_000 + 10_000))], [parse('json', json)]];
    const a = buildBlock(entries, { builder: native, parsers });
    const b = buildBlock(entries, { builder: js, parsers });
    assert.ok(Buffer.from(filterBytes(a.sealed.filter)).equals(Buffer.from(filterBytes(b.sealed.filter))), `round ${round}: native and JavaScript token filters differ`);
    assert.ok(Buffer.from(filterBytes(filterOfBlock(a.decoded))).equals(Buffer.from(filterBytes(a.sealed.filter))), 'rebuilt from the decoded block');
  }
});

test('parsers that reuse their column memory (the store worker\'s) give the same blocks', () => {
  const lines = Array.from({ length: 3000 }, (_, i) => i % 3 === 0
    ? `<${i % 192}>1 2026-11-22T09:00:0${i % 10}Z h${i % 3} a - - [s@1 i="${i}" j="x\\"y"] m ${i}`
    : i % 3 === 1 ? `{"msg":"m ${i}","n":${i},"lvl":"warn","o":{"k":"v ${i % 7}"}}` : `plain ${i}`);
  // Batches of different sizes, largest in the middle: columns grow, then are reused for fewer records.
  const entries = [[parse('auto', lines.slice(0, 100))], [parse('auto', lines.slice(100, 2500)), parse('auto', lines.slice(2500, 2600))], [parse('auto', lines.slice(2600))]];
  const a = buildBlocks(entries, { parsers: new Parsers(undefined, true) });
  const b = buildBlocks(entries, { parsers: new Parsers() });
  assert.equal(a.length, b.length);
  for (let k = 0; k < a.length; k++) assert.ok(a[k]!.sealed.bytes.equals(b[k]!.sealed.bytes), `block ${k}`);
  assertBlocksHold(a, expectedOf(entries), 1);
});

// ---- property: arbitrary frames, formats, layouts, sources ----

const batchArb = fc.record({
  format: fc.constantFrom(...FORMATS),
  frames: fc.array(anyFrame, { minLength: 0, maxLength: 8 }),
  layout: fc.constantFrom<Layout>(...LAYOUTS),
  received: fc.oneof(fc.constant(RECEIVED), fc.double({ min: H - 86_400_000, max: H + 86_400_000, noNaN: true }), fc.integer({ min: 0, max: 2 ** 42 })),
  datagram: fc.boolean(),
  truncated: fc.boolean(),
  listener: fc.constantFrom('a', 'b', 'ünï', ''),
});

type BatchSpec = typeof batchArb extends fc.Arbitrary<infer T> ? T : never;

/** The entries (lists of parsed batches) that batchArb's specs describe. */
function entriesOf(spec: BatchSpec[][]): RecordBatch[][] {
  return spec.map((batches) => batches.map((s) => parse(s.format, s.frames, {
    layout: s.layout,
    received: s.received,
    source: { listener: s.listener, transport: s.datagram ? 'udp' : 'tcp', peer: s.datagram ? '' : 'p:1' },
    peers: s.datagram ? s.frames.map((_, i) => `10.1.0.${i % 3}:${i}`) : null,
    flags: s.truncated ? Uint8Array.from(s.frames.map((_, i) => (i % 2 === 0 ? FRAME_TRUNCATED : 0))) : null,
  })));
}

test('property: any frames of any format, however laid out, come back from a block as recordAt() says', () => {
  let compared = 0;
  fc.assert(
    fc.property(fc.array(fc.array(batchArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 1e9 }), (spec, firstLsn) => {
      const entries = entriesOf(spec);
      const expected = expectedOf(entries);
      if (expected.length === 0) return; // the store never builds an empty block
      assertBlocksHold(buildBlocks(entries, { firstLsn, epoch: firstLsn % 1000 }), expected, firstLsn % 1000);
      compared += expected.length;
    }),
    { numRuns: 250 },
  );
  assert.ok(compared > 1000, `only ${compared} records compared`);
});

// ---- the native append loop (block-append.ts) against append() ----

/** Blocks of the same entries built with the native loop and with append() only: byte for byte the same, filters too. */
function assertSameBlocks(entries: RecordBatch[][], limit: number, what: string): PartitionBlock[] {
  const opts = { parsers: new Parsers(), limit };
  const a = buildBlocks(entries, { ...opts, builder: () => new BlockBuilder() });
  const b = buildBlocks(entries, { ...opts, builder: () => new BlockBuilder({ append: 'js' }) });
  assert.equal(a.length, b.length, `${what}: partitions`);
  for (let k = 0; k < a.length; k++) {
    assert.equal(a[k]!.key, b[k]!.key);
    assert.equal(a[k]!.expected.length, b[k]!.expected.length, `${what}: block ${k} records`);
    assert.ok(a[k]!.sealed.bytes.equals(b[k]!.sealed.bytes), `${what}: block ${k} differs`);
    assert.ok(Buffer.from(filterBytes(a[k]!.sealed.filter)).equals(Buffer.from(filterBytes(b[k]!.sealed.filter))), `${what}: block ${k} filter differs`);
  }
  return a;
}

test('the native append loop builds the same blocks as append(): growth of every array, arena, dictionary and the token set, new field keys, escapes, partitions, limits', (t) => {
  if (nativeAppendRun() === null || nativeIndexBlock() === null) {
    t.skip('native addon not built (or RINGLOG_NATIVE=off)');
    return;
  }
  // Many distinct hosts, apps, pids and message ids (dictionaries and the token set grow
  // inside a run), field keys that first appear late in a batch, escaped values, messages
  // long and empty, and times that cross partitions inside a batch.
  const lines = Array.from({ length: 30_000 }, (_, i) => {
    const hour = 9 + (Math.floor(i / 7000) % 2) + (i % 997 === 0 ? 3 : 0);
    const sd = i % 5 === 0 ? '-' : `[s@1 i="${i}"${i > 12_000 ? ` late${i % 40}="v"` : ''}${i % 9 === 0 ? ' e="a\\"b\\]"' : ''}]`;
    const msg = i % 13 === 0 ? '' : i % 101 === 0 ? 'x'.repeat(70_000) : `message ${i % 3000} ÿ words`;
    // Ties on ms broken by ns, the way that moves the minimum (falling ns at the first ms) and the maximum (rising at the last).
    const frac = i % 2 ? 999 - (i % 1000) : 999_000 + (i % 1000);
    return `<${i % 192}>1 2026-11-22T${String(hour).padStart(2, '0')}:00:00.${String(frac).padStart(6, '0')}Z h${i % 4000} a${i % 50} ${i % 3 ? i : '-'} ${i % 7 ? `ID${i % 2500}` : '-'} ${sd} ${msg}`;
  });
  const json = Array.from({ length: 2000 }, (_, i) => `{"msg":"m \\u00e9 ${i % 50}","host":"j${i % 3}","n${i % 30}":${i},"s":"a\\"b"}`);
  const entries = [
    [parse('rfc5424', lines.slice(0, 10_000))],
    [parse('auto', lines.slice(10_000, 10_500)), parse('json', json), parse('auto', lines.slice(10_500, 20_000))],
    [parse('rfc5424', lines.slice(20_000), { peers: lines.slice(20_000).map((_, i) => `10.0.0.${i % 5}:1`) })],
  ];
  for (const limit of [Infinity, 256 * 1024, 50_000]) {
    const blocks = assertSameBlocks(entries, limit, `limit ${limit}`);
    assertBlocksHold(blocks, expectedOf(entries), 1);
  }
  // The native loop does take the records (append() gets the ones it leaves: new keys, escapes, growth, datagram peers).
  class Counting extends BlockBuilder {
    calls = 0;
    override append(b: RecordBatch, i: number, lsn: number): void {
      this.calls++;
      super.append(b, i, lsn);
    }
  }
  const counting: Counting[] = [];
  buildBlocks(entries.slice(0, 1), { parsers: new Parsers(), builder: () => { const c = new Counting(); counting.push(c); return c; } });
  const calls = counting.reduce((a, c) => a + c.calls, 0);
  assert.ok(calls > 0 && calls < 2000, `append() took ${calls} of 10,000 records`);
  // A block full at 65,536 records (MAX_BLOCK_RECORDS) before any byte limit: sealed at the same record both ways.
  const tiny = Array.from({ length: 70_000 }, (_, i) => `<13>1 2026-11-22T09:00:00Z h a - - - ${i % 10}`);
  const full = assertSameBlocks([[parse('rfc5424', tiny.slice(0, 40_000))], [parse('rfc5424', tiny.slice(40_000))]], Infinity, 'full blocks');
  assert.deepEqual(full.map((b) => b.decoded.n), [65_536, 70_000 - 65_536]);
  // A block per record or two.
  const few = [[parse('rfc5424', lines.slice(0, 300))], [parse('auto', lines.slice(12_000, 12_300))]];
  assertSameBlocks(few, 1, 'limit 1');
  assertSameBlocks(few, 150, 'limit 150');
});

test('property: the native append loop and append() build the same blocks from any frames', (t) => {
  if (nativeAppendRun() === null || nativeIndexBlock() === null) {
    t.skip('native addon not built (or RINGLOG_NATIVE=off)');
    return;
  }
  fc.assert(
    fc.property(fc.array(fc.array(batchArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }), fc.constantFrom(Infinity, 1, 200, 5000), (spec, limit) => {
      const entries = entriesOf(spec);
      if (expectedOf(entries).length === 0) return;
      assertSameBlocks(entries, limit, `limit ${limit}`);
    }),
    { numRuns: 200 },
  );
});

test('the native append loop refuses arrays that share memory, a bad state, and leaves a range outside the buffer to append()', (t) => {
  const run = nativeAppendRun();
  if (run === null) {
    t.skip('native addon not built (or RINGLOG_NATIVE=off)');
    return;
  }
  const n = 4;
  const args = () => {
    const u32 = (k: number) => new Uint32Array(k);
    const dict = () => [new Int32Array(16), new Int32Array(8), u32(8), u32(8), new Uint8Array(64)];
    const st = new Float64Array(ST_SIZE);
    st[ST_MIN_MS] = Infinity;
    st[ST_MAX_MS] = -Infinity;
    st[ST_LIMIT] = Infinity;
    st[ST_MAX_RECORDS] = 1 << 16;
    const buf = Buffer.from('hostmessage');
    const spans = u32(n * 10);
    for (let i = 0; i < n; i++) spans.set([0, 4, 0, 0, 0, 0, 0, 0, 4, 11], i * 10);
    const batch = [buf, new Float64Array(n), u32(n), new Uint8Array(n), new Uint8Array(n), spans, new Uint8Array(n * 5), u32(n + 1), u32(1), new Uint8Array(1), u32(2)];
    const builder: Uint8Array[] | unknown[] = [new Float64Array(8), u32(8), new Float64Array(8), u32(8), new Uint8Array(8), new Uint8Array(8), u32(8), u32(8), u32(8), u32(8), u32(8),
      u32(8), u32(8), new Uint8Array(64), u32(9), u32(8), u32(8), u32(8), new Uint8Array(64), new Int32Array(8), u32(8)];
    return { batch, builder, dicts: [...dict(), ...dict(), ...dict(), ...dict()], tokens: u32(64), st, spans };
  };
  const call = (a: ReturnType<typeof args>) => (run as (...x: unknown[]) => number)(...a.batch, 0, n, ...a.builder, ...a.dicts, a.tokens, a.st);
  const ok = args();
  assert.equal(call(ok), n);
  assert.equal(ok.st[ST_N], n);
  assert.equal(ok.st[ST_STATUS], 0);
  assert.equal(ok.st[ST_DICT_SIZE], 1, 'one host interned');
  assert.equal(ok.st[ST_TOKENS_SIZE], 1, 'its host= pair');
  const shared = args();
  shared.builder[7] = new Uint32Array(shared.spans.buffer, 0, 8); // the host ids written over the spans read
  assert.throws(() => call(shared), RangeError);
  const badState = args();
  badState.st[ST_DICT_SIZE] = 1e9;
  assert.throws(() => call(badState), RangeError);
  const wrongType = args();
  wrongType.builder[0] = new Uint32Array(8);
  assert.throws(() => call(wrongType), TypeError);
  const badFields = args();
  badFields.st[ST_NF] = 100; // past the builder's field arrays (8 long)
  assert.throws(() => call(badFields), RangeError);
  const fullTokens = args();
  fullTokens.tokens = new Uint32Array(64).fill(7); // a full token set that says it is empty: the host's pair finds no room
  assert.equal(call(fullTokens), 0);
  assert.equal(fullTokens.st[ST_STATUS], 1, 'record 0 is left to append()');
  const outside = args();
  outside.spans[2 * 10 + 9] = 1000; // record 2's message ends past the buffer
  assert.equal(call(outside), 2);
  assert.equal(outside.st[ST_STATUS], 1, 'record 2 is left to append()');
  assert.equal(outside.st[ST_N], 2);
});

// ---- damage ----

function smallBlock() {
  const b = parse('auto', [
    '<165>1 2026-11-22T09:00:00.123Z web-1 nginx 1 ID [o@1 ip="10.0.0.1"] GET /x 200',
    '{"level":"error","msg":"boom","req":{"id":7}}',
    'level=warn msg="disk full" host=db',
    'raw',
  ], { peers: ['a:1', 'b:2', 'a:1', 'c:3'] });
  return buildBlock([[b]]);
}

test('a flipped byte anywhere in the compressed payload makes decodeBlock throw CorruptError', () => {
  const { sealed } = smallBlock();
  const h = sealed.header;
  const comp = sealed.bytes.subarray(BLOCK_HEADER_SIZE);
  for (let i = 0; i < comp.length; i++) {
    for (const x of [0x01, 0x80, 0xff]) {
      const bad = Buffer.from(comp);
      bad[i]! ^= x;
      assert.throws(() => decodeBlock(h, bad), CorruptError, `byte ${i} ^ ${x}`);
    }
  }
  // Cut short or lengthened.
  assert.throws(() => decodeBlock(h, comp.subarray(0, comp.length - 1)), CorruptError);
  assert.throws(() => decodeBlock(h, Buffer.concat([comp, Buffer.alloc(1)])), CorruptError);
});

test('a flipped byte anywhere in a block header is refused (CorruptError); so is another version inside the store (only FORMAT gates versions)', () => {
  const { sealed } = smallBlock();
  const hdr = sealed.bytes.subarray(0, BLOCK_HEADER_SIZE);
  for (let i = 0; i < BLOCK_HEADER_SIZE; i++) {
    const bad = Buffer.from(hdr);
    bad[i]! ^= 0x10;
    assert.throws(() => unmarshalBlockHeader(bad, 0), CorruptError, `header byte ${i}`);
  }
  assert.throws(() => unmarshalBlockHeader(hdr.subarray(0, 71), 0), CorruptError);
  const remarshal = (patch: Partial<BlockHeader>) => {
    const out = Buffer.alloc(BLOCK_HEADER_SIZE + 3);
    marshalBlockHeader({ ...sealed.header, ...patch }, out, 3);
    return () => unmarshalBlockHeader(out, 3);
  };
  assert.deepEqual(remarshal({})(), sealed.header, 'at an offset');
  assert.throws(remarshal({ version: 2 }), CorruptError);
  assert.throws(remarshal({ codec: 2 }), CorruptError);
  assert.throws(remarshal({ count: 0 }), CorruptError);
  assert.throws(remarshal({ rawLen: 65 * 1024 * 1024 }), CorruptError);
  assert.throws(remarshal({ minMs: 10, maxMs: 9 }), CorruptError);
  assert.throws(remarshal({ minMs: 0.5 }), CorruptError);
});

const compressor = new Compressor();

/** A header whose CRC and lengths fit `raw`: the decoder's own checks are all that stand between damage and a wrong answer. */
function reframe(h: BlockHeader, raw: Buffer): { header: BlockHeader; comp: Buffer } {
  const comp = compressor.compress(raw);
  return { header: { ...h, rawLen: raw.length, compLen: comp.length, payloadCrc: crc32c(comp) }, comp };
}

test('the decoder is total on a damaged payload whose CRC was recomputed: CorruptError or records, never a crash', () => {
  const { sealed, decoded } = smallBlock();
  const raw = decoded.payload;
  let rejected = 0;
  for (let i = 0; i < raw.length; i++) {
    for (const x of [0x01, 0x7f, 0x80]) {
      const bad = Buffer.from(raw);
      bad[i]! ^= x;
      const { header, comp } = reframe(sealed.header, bad);
      try {
        const d = decodeBlock(header, comp);
        for (let r = 0; r < d.n; r++) d.record(r); // must not throw either
      } catch (err) {
        assert.ok(err instanceof CorruptError, `byte ${i} ^ ${x}: ${String(err)}`);
        rejected++;
      }
    }
  }
  assert.ok(rejected > 0);
  // Every strict prefix of the payload is missing something the decoder needs.
  for (let cut = 0; cut < raw.length; cut++) {
    const { header, comp } = reframe(sealed.header, raw.subarray(0, cut));
    assert.throws(() => decodeBlock(header, comp), CorruptError, `payload cut at ${cut}`);
  }
  // Random payloads.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (bytes, count) => {
      const { header, comp } = reframe({ ...sealed.header, count }, Buffer.from(bytes));
      try {
        const d = decodeBlock(header, comp);
        for (let r = 0; r < d.n; r++) d.record(r);
      } catch (err) {
        assert.ok(err instanceof CorruptError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});
