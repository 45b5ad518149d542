/**
 * Loki push decoder (loki.ts, label-set.ts, snappy-block.ts) against docs/ingest.md
 * "Loki push": fixtures through ringlog's own JSON-lines parser, the hand-encoded
 * protobuf vector, JSON and protobuf agreeing, rejections, and hostile bodies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeLokiPush, PushRequest } from './loki.js';
import { compressSnappyBlock, snappyDeclaredLength } from './snappy-block.js';
import { formatLabelSet, parseLabelSet } from './label-set.js';
import { IngestDecodeError, ITEM_REASONS } from './types.js';
import {
  RECEIVED_NS, decodesSafely, expectRecord, fixture, hexFixture, reasonOf, recordsOfLines,
} from './ingest-test-helpers.js';

const JSON_TYPE = 'application/json';
const PB_TYPE = 'application/x-protobuf';

function pushJson(body: unknown): ReturnType<typeof decodeLokiPush> {
  return decodeLokiPush(Buffer.from(JSON.stringify(body)), JSON_TYPE);
}

/** A PushRequest encoded by protobufjs and snappy-compressed, as Promtail sends it. */
function pushProto(req: object): Buffer {
  return compressSnappyBlock(PushRequest.encode(PushRequest.fromObject(req)).finish());
}

describe('Loki push, JSON', () => {
  it('maps the documented example (loki-push.json) onto records', () => {
    const out = decodeLokiPush(fixture('loki-push.json'), JSON_TYPE);
    assert.deepEqual(out.rejected, []);
    const [a, b, c] = recordsOfLines(out.lines);
    assert.equal(out.lines.length, 3);
    expectRecord(a!, {
      timestamp: 1796205600123456789n, host: 'web-1', app: 'nginx', severity: 5, message: 'GET /index.html 200',
      fields: { 'labels.app': 'nginx', 'labels.host': 'web-1', 'labels.env': 'prod' },
    }, 'entry 0');
    expectRecord(b!, {
      timestamp: 1796205601000000000n, host: 'web-1', app: 'nginx', severity: 3, message: 'upstream timed out',
      fields: {
        'labels.app': 'nginx', 'labels.host': 'web-1', 'labels.env': 'prod',
        'metadata.trace_id': '0242ac120002', 'metadata.detected_level': 'error',
      },
    }, 'entry 1: level from structured metadata');
    expectRecord(c!, {
      timestamp: 1796205602500000000n, host: 'db-2', app: 'varlogs', severity: 6, message: 'checkpoint complete',
      fields: { 'labels.job': 'varlogs', 'labels.hostname': 'db-2', 'labels.level': 'info' },
    }, 'entry 2: hostname, job, level labels');
    assert.equal(a!.facility, 1);
  });

  it('keeps a Fluent Bit line (a JSON record as text) as the message', () => {
    const out = decodeLokiPush(fixture('loki-push-fluent-bit.json'), 'application/json; charset=utf-8');
    const [r] = recordsOfLines(out.lines);
    expectRecord(r!, {
      timestamp: 1796205603000000001n, host: null, app: 'fluent-bit', severity: 5,
      message: '{"log":"GET /healthz 200\\n","stream":"stdout"}',
      fields: { 'labels.job': 'fluent-bit', 'labels.container': 'api' },
    });
  });

  it('writes lines in a fixed shape (the exact bytes)', () => {
    const out = pushJson({ streams: [{ stream: { app: 'a', level: 'WARN' }, values: [['1796205600000000001', 'x', { k: 'v' }]] }] });
    assert.equal(out.lines[0]!.toString(),
      '{"time":"2026-12-02T10:00:00.000000001Z","level":"warning","app":"a","message":"x","labels":{"app":"a","level":"WARN"},"metadata":{"k":"v"}}');
  });

  it('takes host, app and level from the first well-known label that has a usable value', () => {
    const cases: [Record<string, string>, string | null, string | null, number][] = [
      [{ hostname: 'h2', host: 'h1' }, 'h1', null, 5],
      [{ host: '', hostname: 'h2' }, 'h2', null, 5],
      [{ job: 'j', service_name: 's', app: '' }, null, 's', 5],
      [{ service: 's', job: 'j' }, null, 's', 5],
      [{ application: 'x', service_name: 's' }, null, 'x', 5],
      [{ level: 'bogus', severity: 'critical' }, null, null, 2],
      [{ detected_level: 'debug' }, null, null, 7],
      [{ level: 'Trace' }, null, null, 7],
    ];
    for (const [labels, host, app, severity] of cases) {
      const [r] = recordsOfLines(pushJson({ streams: [{ stream: labels, values: [['1796205600000000000', 'm']] }] }).lines);
      expectRecord(r!, { host, app, severity }, JSON.stringify(labels));
      for (const [k, v] of Object.entries(labels)) assert.equal(r!.fields[`labels.${k}`], v);
    }
  });

  it('rejects bad entries one by one, counting entries across streams', () => {
    const out = pushJson({
      streams: [
        { stream: { app: 'a' }, values: [['1796205600000000000', 'ok'], ['12x', 'bad time'], [1796205600, 'number time ok'], ['1', 2]] },
        { stream: { app: 7 }, values: [['1796205600000000000', 'bad labels'], ['1796205600000000000', 'bad labels']] },
        { stream: { app: 'b' }, values: [['1796205600000000000', 'bad md', { n: 1 }], ['1', 'x', {}, 4], '1', ['99999999999999999999', 'x'], ['-1', 'pre-1970']] },
        { stream: null, values: [['1796205600000000000', 'no labels']] },
      ],
    });
    assert.deepEqual(out.rejected, [
      { index: 1, reason: 'invalid_timestamp' },
      { index: 3, reason: 'invalid_entry' },
      { index: 4, reason: 'invalid_labels' },
      { index: 5, reason: 'invalid_labels' },
      { index: 6, reason: 'invalid_metadata' },
      { index: 7, reason: 'invalid_entry' },
      { index: 8, reason: 'invalid_entry' },
      { index: 9, reason: 'invalid_timestamp' },
    ]);
    const recs = recordsOfLines(out.lines);
    assert.deepEqual(recs.map((r) => r.message), ['ok', 'number time ok', 'pre-1970', 'no labels']);
    assert.equal(recs[1]!.timestamp, 1796205600n, 'a JSON number is read exactly (ns)');
    // -1 ns is before 1970: ringlog keeps the receive time and the original (docs/record.md).
    assert.equal(recs[2]!.timestamp, RECEIVED_NS);
    assert.equal(recs[2]!.fields['original_timestamp'], '1969-12-31T23:59:59.999999999Z');
    for (const r of out.rejected) assert.ok((ITEM_REASONS as readonly string[]).includes(r.reason));
  });

  it('fails a body that is not a push request as a whole', () => {
    const cases: [string, string][] = [
      ['', 'bad_json'],
      ['{"streams":[', 'bad_json'],
      ['{"streams":[]} x', 'bad_json'],
      ['[]', 'invalid_request'],
      ['{}', 'invalid_request'],
      ['{"streams":{}}', 'invalid_request'],
      ['{"streams":[1]}', 'invalid_request'],
      ['{"streams":[{"stream":{},"values":{}}]}', 'invalid_request'],
      ['['.repeat(600) + ']'.repeat(600), 'bad_json'],
    ];
    for (const [body, reason] of cases) assert.equal(reasonOf(() => decodeLokiPush(Buffer.from(body), JSON_TYPE)), reason, body.slice(0, 40));
    assert.deepEqual(pushJson({ streams: [{ stream: { a: 'b' } }] }), { lines: [], rejected: [] }, 'a stream without values has no entries');
  });

  it('refuses other content types', () => {
    for (const t of ['text/plain', 'application/protobuf', 'application/x-ndjson']) {
      assert.equal(reasonOf(() => decodeLokiPush(fixture('loki-push.json'), t)), 'unsupported_content_type', t);
    }
  });
});

describe('Loki push, protobuf + snappy', () => {
  const vector = hexFixture('loki-push-request.hex');
  const vectorObject = {
    streams: [{
      labels: '{app="nginx", host="web-1", level="warn"}',
      entries: [{
        timestamp: { seconds: 1796205600, nanos: 123456789 },
        line: 'GET /index.html 200',
        structuredMetadata: [{ name: 'trace_id', value: '0242ac120002' }],
      }],
    }],
  };

  it('decodes the hand-encoded PushRequest (field numbers as in push.proto)', () => {
    for (const type of [PB_TYPE, '', 'Application/X-Protobuf']) {
      const out = decodeLokiPush(compressSnappyBlock(vector), type);
      assert.deepEqual(out.rejected, []);
      const [r] = recordsOfLines(out.lines);
      expectRecord(r!, {
        timestamp: 1796205600123456789n, host: 'web-1', app: 'nginx', severity: 4, message: 'GET /index.html 200',
        fields: { 'labels.app': 'nginx', 'labels.host': 'web-1', 'labels.level': 'warn', 'metadata.trace_id': '0242ac120002' },
      }, type);
    }
  });

  it('the schema encodes the same message to the same bytes as the hand-encoded vector', () => {
    assert.equal(Buffer.from(PushRequest.encode(PushRequest.fromObject(vectorObject)).finish()).toString('hex'), vector.toString('hex'));
  });

  it('a label set is parsed once per distinct text; entries without a timestamp get the receive time', () => {
    const out = decodeLokiPush(pushProto({
      streams: [
        { labels: '{host="a"}', entries: [{ line: 'no time' }] },
        { labels: 'garbage', entries: [{ line: 'x' }, { line: 'y' }] },
        { labels: '{host="a"}', entries: [{ timestamp: { seconds: 1796205600, nanos: 1_000_000_000 }, line: 'bad nanos' }, { timestamp: { seconds: -62135596801, nanos: 0 }, line: 'year 0' }] },
      ],
    }), PB_TYPE);
    assert.deepEqual(out.rejected, [
      { index: 1, reason: 'invalid_labels' }, { index: 2, reason: 'invalid_labels' },
      { index: 3, reason: 'invalid_timestamp' }, { index: 4, reason: 'invalid_timestamp' },
    ]);
    const [r] = recordsOfLines(out.lines);
    expectRecord(r!, { timestamp: RECEIVED_NS, host: 'a', message: 'no time', fields: { 'labels.host': 'a' } });
  });

  it('JSON and protobuf bodies of the same push give the same lines', () => {
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/);
    const value = fc.string({ unit: 'grapheme', maxLength: 12 });
    const labelsArb = fc.uniqueArray(
      fc.tuple(fc.oneof(fc.constantFrom('app', 'host', 'level', 'job', 'hostname'), name), fc.oneof(fc.constantFrom('', 'info', 'web', 'ERROR'), value)),
      { selector: (p) => p[0], maxLength: 5 },
    );
    const entry = fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 62n }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.array(fc.tuple(name, value), { maxLength: 3 }));
    fc.assert(fc.property(fc.array(fc.tuple(labelsArb, fc.array(entry, { maxLength: 4 })), { maxLength: 4 }), (streams) => {
      const uniqueMd = (md: [string, string][]) => [...new Map(md)];
      const json = pushJson({
        streams: streams.map(([labels, entries]) => ({
          stream: Object.fromEntries(labels),
          values: entries.map(([t, line, md]) => (md.length === 0 ? [String(t), line] : [String(t), line, Object.fromEntries(uniqueMd(md))])),
        })),
      });
      const pb = decodeLokiPush(pushProto({
        streams: streams.map(([labels, entries]) => ({
          labels: formatLabelSet(labels),
          entries: entries.map(([t, line, md]) => ({
            timestamp: { seconds: Number(t / 1_000_000_000n), nanos: Number(t % 1_000_000_000n) },
            line,
            structuredMetadata: uniqueMd(md).map(([n, v]) => ({ name: n, value: v })),
          })),
        })),
      }), PB_TYPE);
      assert.deepEqual(pb.rejected, []);
      assert.deepEqual(pb.lines.map(String), json.lines.map(String));
      const recs = recordsOfLines(pb.lines, Number((2n ** 62n) / 1_000_000n));
      for (const r of recs) assert.equal(r.fields['parse_error'], undefined);
    }), { numRuns: 150 });
  });

  it('fails bodies that are not snappy blocks of a PushRequest as a whole', () => {
    assert.equal(reasonOf(() => decodeLokiPush(Buffer.alloc(0), PB_TYPE)), 'bad_snappy');
    assert.equal(reasonOf(() => decodeLokiPush(vector, PB_TYPE)), 'bad_snappy', 'protobuf without snappy');
    assert.equal(reasonOf(() => decodeLokiPush(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), PB_TYPE)), 'bad_snappy', 'a length preamble of 6 bytes');
    // Four bytes that ask for 4 GiB - 1: refused before anything is allocated.
    assert.equal(reasonOf(() => decodeLokiPush(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), PB_TYPE)), 'too_large');
    assert.equal(reasonOf(() => decodeLokiPush(compressSnappyBlock(Buffer.alloc(1000)), PB_TYPE, { maxDecompressed: 999 })), 'too_large');
    const block = compressSnappyBlock(vector);
    assert.equal(reasonOf(() => decodeLokiPush(block.subarray(0, block.length - 3), PB_TYPE)), 'bad_snappy', 'truncated block');
    for (let cut = 1; cut < vector.length; cut++) {
      const r = decodesSafely(() => decodeLokiPush(compressSnappyBlock(vector.subarray(0, cut)), PB_TYPE));
      if (r instanceof IngestDecodeError) assert.equal(r.reason, 'bad_protobuf', `cut at ${cut}`);
    }
    // A field length far past the end of the body.
    assert.equal(reasonOf(() => decodeLokiPush(compressSnappyBlock(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x07, 0x0a])), PB_TYPE)), 'bad_protobuf');
    // A wire type that does not match the field (streams is a message, not a varint) is an
    // unknown field, skipped, as protobuf's own parsers do.
    assert.deepEqual(decodeLokiPush(compressSnappyBlock(Buffer.from([0x08, 0x01])), PB_TYPE), { lines: [], rejected: [] });
    assert.equal(reasonOf(() => decodeLokiPush(compressSnappyBlock(Buffer.from([0x0f, 0x01])), PB_TYPE)), 'bad_protobuf', 'wire type 7');
    // Deeply nested unknown groups.
    assert.equal(reasonOf(() => decodeLokiPush(compressSnappyBlock(Buffer.alloc(200_000, 0x1b)), PB_TYPE)), 'bad_protobuf');
  });

  it('reads the snappy length preamble', () => {
    assert.equal(snappyDeclaredLength(Buffer.from([0x00])), 0);
    assert.equal(snappyDeclaredLength(Buffer.from([0xfe, 0x01])), 254);
    assert.equal(snappyDeclaredLength(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), 0xffffffff);
    assert.equal(snappyDeclaredLength(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x1f])), -1);
    assert.equal(snappyDeclaredLength(Buffer.from([0x80])), -1);
    assert.equal(snappyDeclaredLength(Buffer.alloc(0)), -1);
  });
});

describe('Loki label sets (text form)', () => {
  it('parses what Prometheus and Go write', () => {
    const cases: [string, [string, string][]][] = [
      ['{}', []],
      [' { } ', []],
      ['{app="nginx"}', [['app', 'nginx']]],
      ['{app="nginx", host="web-1"}', [['app', 'nginx'], ['host', 'web-1']]],
      ['{a="b",c="d"}', [['a', 'b'], ['c', 'd']]],
      ['{ a = "b" ,\tc="d" }', [['a', 'b'], ['c', 'd']]],
      ['{c="d\\"e"}', [['c', 'd"e']]],
      ['{p="C:\\\\dir"}', [['p', 'C:\\dir']]],
      ['{m="a\\nb\\tc\\rd"}', [['m', 'a\nb\tc\rd']]],
      ['{m="\\a\\b\\f\\v"}', [['m', '\x07\b\f\v']]],
      ['{m="\\u00e9\\U0001F600"}', [['m', 'é😀']]],
      ['{m="\\xc3\\xa9\\303\\251"}', [['m', 'éé']]],
      ['{m="\\xff"}', [['m', '\ufffd']]],
      ['{m="é😀"}', [['m', 'é😀']]],
      ['{m=`raw \\n "q"`}', [['m', 'raw \\n "q"']]],
      ['{"service.name"="api", _x1="", A_B="c"}', [['service.name', 'api'], ['_x1', ''], ['A_B', 'c']]],
    ];
    for (const [text, want] of cases) assert.deepEqual(parseLabelSet(text), want, text);
  });

  it('rejects garbage', () => {
    const bad = [
      '', 'app="x"', '{', '}', '{app="x"', 'app="x"}', '{app="x"} x', '{app="x",}', '{,}', '{app=x}', '{app="x" host="y"}',
      '{1a="x"}', '{a-b="x"}', '{app!="x"}', '{app=~"x"}', '{app="x\ny"}', '{app="\\q"}', '{app="\\x4"}', '{app="\\400"}',
      '{app="\\ud800"}', '{app="\\U00110000"}', '{app="x", app="y"}', '{""="x"}', '{app="x\\"}', '{app=`x}', '{a="b"}}', '{{a="b"}',
    ];
    for (const text of bad) assert.equal(parseLabelSet(text), null, JSON.stringify(text));
  });

  it('reads back every label set formatLabelSet writes, and never throws', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 12 })), { selector: (p) => p[0], maxLength: 6 }), (pairs) => {
      assert.deepEqual(parseLabelSet(formatLabelSet(pairs)), pairs);
    }));
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
      const r = parseLabelSet(s);
      assert.ok(r === null || Array.isArray(r));
    }), { numRuns: 2000 });
  });
});

describe('Loki push, hostile bodies', () => {
  const labels = fc.constantFrom('{app="x"}', '{', '{a="\\u00', '', '{app="x", app="y"}');
  const pushLike = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((v) => ({ streams: v })),
    fc.array(fc.record({ stream: fc.jsonValue({ maxDepth: 2 }), values: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }) }), { maxLength: 3 }).map((streams) => ({ streams })),
    fc.jsonValue({ maxDepth: 8 }),
  );

  it('JSON: any value → lines or IngestDecodeError, never another exception', () => {
    fc.assert(fc.property(pushLike, (v) => {
      const r = decodesSafely(() => decodeLokiPush(Buffer.from(JSON.stringify(v) ?? ''), JSON_TYPE));
      if (!(r instanceof IngestDecodeError)) for (const rec of recordsOfLines(r.lines)) assert.equal(rec.fields['parse_error'], undefined);
    }), { numRuns: 500 });
  });

  it('random bytes, as JSON, protobuf, and snappy-wrapped protobuf', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const b = Buffer.from(bytes);
      decodesSafely(() => decodeLokiPush(b, JSON_TYPE));
      decodesSafely(() => decodeLokiPush(b, PB_TYPE));
      decodesSafely(() => decodeLokiPush(compressSnappyBlock(b), PB_TYPE));
    }), { numRuns: 1000 });
  });

  it('a valid request with bytes flipped or cut anywhere', () => {
    const base = PushRequest.encode(PushRequest.fromObject({
      streams: [{ labels: '{app="x", host="h"}', entries: [{ timestamp: { seconds: 1796205600, nanos: 5 }, line: 'hello', structuredMetadata: [{ name: 'a', value: 'b' }] }] }],
    })).finish();
    fc.assert(fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(base.length), (at, byte, cut) => {
      const b = Buffer.from(base);
      b[at] = byte;
      const r = decodesSafely(() => decodeLokiPush(compressSnappyBlock(b.subarray(0, cut)), PB_TYPE));
      if (!(r instanceof IngestDecodeError)) for (const rec of recordsOfLines(r.lines)) assert.equal(rec.fields['parse_error'], undefined);
    }), { numRuns: 1000 });
  });

  it('a labels text from random characters', () => {
    fc.assert(fc.property(labels, fc.string({ maxLength: 20 }), (l, tail) => {
      decodesSafely(() => decodeLokiPush(pushProto({ streams: [{ labels: l + tail, entries: [{ line: 'x' }] }] }), PB_TYPE));
    }));
  });

  it('an entry time at both ends of int64', () => {
    const out = pushJson({ streams: [{ stream: {}, values: [['9223372036854775807', 'max'], ['-9223372036854775808', 'min'], ['9223372036854775808', 'over']] }] });
    assert.deepEqual(out.rejected, [{ index: 2, reason: 'invalid_timestamp' }]);
    assert.match(out.lines[0]!.toString(), /"time":"2262-04-11T23:47:16\.854775807Z"/);
    assert.match(out.lines[1]!.toString(), /"time":"1677-09-21T00:12:43\.145224192Z"/);
  });
});
