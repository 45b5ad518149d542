/**
 * OTLP/HTTP logs decoder and response (otlp.ts, otlp-schema.ts, otlp-json.ts,
 * otlp-model.ts) against docs/ingest.md "OTLP/HTTP logs": fixtures through ringlog's
 * own JSON-lines parser, the hand-encoded protobuf vector, JSON and protobuf agreeing,
 * nesting limits, rejections, responses, and hostile bodies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeOtlpLogs, otlpResponse } from './otlp.js';
import { ExportLogsServiceRequest, ExportLogsServiceResponse, RecursiveExportLogsServiceRequest } from './otlp-schema.js';
import { IngestDecodeError, MAX_ANY_DEPTH } from './types.js';
import {
  RECEIVED_NS, decodesSafely, expectRecord, fixture, hexFixture, reasonOf, recordsOfLines,
} from './ingest-test-helpers.js';

const JSON_TYPE = 'application/json';
const PB_TYPE = 'application/x-protobuf';

/** The vector of otlp-logs-request.hex as a protobufjs object (camelCase names of our schema). */
const VECTOR_OBJECT = {
  resourceLogs: [{
    resource: {
      attributes: [
        { key: 'service.name', value: { stringValue: 'checkout' } },
        { key: 'host.name', value: { stringValue: 'web-1' } },
      ],
    },
    scopeLogs: [{
      scope: { name: 'my.library', version: '1.0.0' },
      logRecords: [{
        timeUnixNano: '1796205600123456789',
        severityNumber: 17,
        severityText: 'ERROR',
        body: { stringValue: 'payment failed' },
        attributes: [
          { key: 'retries', value: { intValue: 3 } },
          { key: 'ratio', value: { doubleValue: 0.5 } },
          { key: 'ok', value: { boolValue: true } },
        ],
        droppedAttributesCount: 2,
        flags: 1,
        traceId: Buffer.from('5b8efff798038103d269b633813fc60c', 'hex'),
        spanId: Buffer.from('eee19b7ec3c1b174', 'hex'),
        observedTimeUnixNano: '1796205600123457789',
        eventName: 'payment.failed',
      }],
    }],
  }],
};

/** The same request in OTLP/JSON. */
const VECTOR_JSON = {
  resourceLogs: [{
    resource: VECTOR_OBJECT.resourceLogs[0]!.resource,
    scopeLogs: [{
      scope: { name: 'my.library', version: '1.0.0' },
      logRecords: [{
        timeUnixNano: '1796205600123456789',
        severityNumber: 'SEVERITY_NUMBER_ERROR',
        severityText: 'ERROR',
        body: { stringValue: 'payment failed' },
        attributes: [
          { key: 'retries', value: { intValue: '3' } },
          { key: 'ratio', value: { doubleValue: 0.5 } },
          { key: 'ok', value: { boolValue: true } },
        ],
        droppedAttributesCount: 2,
        flags: 1,
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        observedTimeUnixNano: '1796205600123457789',
        eventName: 'payment.failed',
      }],
    }],
  }],
};

const VECTOR_RECORD = {
  timestamp: 1796205600123456789n, host: 'web-1', app: 'checkout', severity: 3, message: 'payment failed',
  fields: {
    observed_time: '2026-12-02T10:00:00.123457789Z',
    severity_number: '17',
    severity_text: 'ERROR',
    event_name: 'payment.failed',
    trace_id: '5b8efff798038103d269b633813fc60c',
    span_id: 'eee19b7ec3c1b174',
    flags: '1',
    dropped_attributes_count: '2',
    'attributes.retries': '3',
    'attributes.ratio': '0.5',
    'attributes.ok': 'true',
    'resource.service.name': 'checkout',
    'resource.host.name': 'web-1',
    'scope.name': 'my.library',
    'scope.version': '1.0.0',
  },
};

/** Encodes with the .proto's recursive AnyValue (the decoder's schema stops at MAX_ANY_DEPTH levels). */
function encode(req: object): Buffer {
  const T = RecursiveExportLogsServiceRequest;
  return Buffer.from(T.encode(T.fromObject(req)).finish());
}

function json(req: unknown): Buffer {
  return Buffer.from(JSON.stringify(req));
}

/** A length-delimited field (wire type 2) by hand. */
function ld(field: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Bytes of the varint at b[at]. */
function varintLength(b: Buffer, at: number): number {
  let n = 1;
  while (b[at + n - 1]! & 0x80) n++;
  return n;
}

/** A request with one record holding `record` (protobufjs object or JSON, same shape). */
function oneRecord(record: object, resource: object = {}): object {
  return { resourceLogs: [{ resource, scopeLogs: [{ logRecords: [record] }] }] };
}

describe('OTLP/HTTP logs, protobuf', () => {
  const vector = hexFixture('otlp-logs-request.hex');

  it('decodes the hand-encoded ExportLogsServiceRequest (field numbers as in the .proto files)', () => {
    const out = decodeOtlpLogs(vector, PB_TYPE);
    assert.deepEqual(out.rejected, []);
    const [r] = recordsOfLines(out.lines);
    expectRecord(r!, VECTOR_RECORD);
  });

  it('the schema encodes the same message to the same bytes as the hand-encoded vector', () => {
    for (const T of [ExportLogsServiceRequest, RecursiveExportLogsServiceRequest]) {
      assert.equal(Buffer.from(T.encode(T.fromObject(VECTOR_OBJECT)).finish()).toString('hex'), vector.toString('hex'));
    }
  });

  it('the JSON encoding of the same request gives the same line', () => {
    const a = decodeOtlpLogs(vector, PB_TYPE);
    const b = decodeOtlpLogs(json(VECTOR_JSON), 'application/json; charset=utf-8');
    assert.deepEqual(b.lines.map(String), a.lines.map(String));
  });

  it('a time of 0 takes the observed time, and without both the record gets the receive time', () => {
    const out = decodeOtlpLogs(encode({
      resourceLogs: [{ scopeLogs: [{ logRecords: [{ observedTimeUnixNano: '1796205600000000007', body: { stringValue: 'a' } }, { body: { stringValue: 'b' } }] }] }],
    }), PB_TYPE);
    const [a, b] = recordsOfLines(out.lines);
    expectRecord(a!, { timestamp: 1796205600000000007n, message: 'a', fields: { observed_time: '2026-12-02T10:00:00.000000007Z' } });
    expectRecord(b!, { timestamp: RECEIVED_NS, host: null, app: null, severity: 5, message: 'b', fields: {} });
    // A fixed64 time at its maximum is still RFC 3339 (year 2554): kept, and marked absurd by ringlog.
    const [line] = decodeOtlpLogs(encode(oneRecord({ timeUnixNano: '18446744073709551615' })), PB_TYPE).lines;
    assert.match(line!.toString(), /"time":"2554-07-21T23:34:33\.709551615Z"/);
  });

  it('bodies of every AnyValue kind become the message; a key-value list also becomes body.* fields', () => {
    const cases: [object, string, Record<string, string>][] = [
      [{ stringValue: 'text' }, 'text', {}],
      [{ intValue: '-9223372036854775808' }, '-9223372036854775808', {}],
      [{ doubleValue: 1.25 }, '1.25', {}],
      [{ doubleValue: NaN }, '"NaN"', {}],
      [{ boolValue: false }, 'false', {}],
      [{ bytesValue: Buffer.from('hello') }, 'aGVsbG8=', {}],
      [{ arrayValue: { values: [{ stringValue: 'a' }, { intValue: 1 }, {}] } }, '["a",1,null]', {}],
      [{ kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }, { key: 'n', value: { kvlistValue: { values: [{ key: 'x', value: { boolValue: true } }] } } }] } },
        '{"k":"v","n":{"x":true}}', { 'body.k': 'v', 'body.n.x': 'true' }],
      [{ kvlistValue: {} }, '{}', {}],
    ];
    for (const [body, message, fields] of cases) {
      const [r] = recordsOfLines(decodeOtlpLogs(encode(oneRecord({ body })), PB_TYPE).lines);
      expectRecord(r!, { message, fields }, JSON.stringify(body));
    }
    const [r] = recordsOfLines(decodeOtlpLogs(encode(oneRecord({ body: {} })), PB_TYPE).lines);
    expectRecord(r!, { message: '', fields: {} }, 'an empty AnyValue');
  });

  it('maps severityNumber ranges, and severityText when there is no number', () => {
    const want = [5, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 4, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2];
    for (let n = 1; n <= 24; n++) {
      const [r] = recordsOfLines(decodeOtlpLogs(encode(oneRecord({ severityNumber: n, severityText: 'ignored' })), PB_TYPE).lines);
      expectRecord(r!, { severity: want[n]! }, `severityNumber ${n}`);
    }
    const texts: [string, number][] = [['WARN2', 4], ['Information', 6], ['fatal', 2], ['TRACE', 7], ['bogus', 5], ['', 5]];
    for (const [severityText, sev] of texts) {
      const [r] = recordsOfLines(decodeOtlpLogs(encode(oneRecord({ severityText })), PB_TYPE).lines);
      assert.equal(r!.severity, sev, severityText);
    }
    const [r] = recordsOfLines(decodeOtlpLogs(encode(oneRecord({ severityNumber: 99, severityText: 'error' })), PB_TYPE).lines);
    expectRecord(r!, { severity: 3, fields: { severity_number: '99', severity_text: 'error' } }, 'an unknown number falls back to the text');
  });

  it('nests AnyValues down to MAX_ANY_DEPTH levels; a record with a deeper one is rejected as too_deep', () => {
    // Deep values are built twice: as protobuf bytes by hand (protobufjs's own encoder stops at
    // 100 nested messages), and as OTLP/JSON.
    const kvNest = (levels: number, leaf: Buffer, leafJson: object): [Buffer, object] => {
      let v = leaf;
      let j = leafJson;
      for (let i = 1; i < levels; i++) {
        v = ld(6, ld(1, Buffer.concat([ld(1, Buffer.from('k')), ld(2, v)])));
        j = { kvlistValue: { values: [{ key: 'k', value: j }] } };
      }
      return [v, j];
    };
    const arrayNest = (levels: number): [Buffer, object] => {
      let v = ld(1, Buffer.from('deep'));
      let j: object = { stringValue: 'deep' };
      for (let i = 1; i < levels; i++) {
        v = ld(5, ld(1, v));
        j = { arrayValue: { values: [j] } };
      }
      return [v, j];
    };
    const intLeaf: [Buffer, object] = [Buffer.from([0x18, 0x01]), { intValue: '1' }];
    const emptyList: [Buffer, object] = [ld(6, Buffer.alloc(0)), { kvlistValue: {} }];
    const asAttribute = ([v, j]: [Buffer, object]): [Buffer, object] => [ld(6, Buffer.concat([ld(1, Buffer.from('a')), ld(2, v)])), { attributes: [{ key: 'a', value: j }] }];
    const asBody = ([v, j]: [Buffer, object]): [Buffer, object] => [ld(5, v), { body: j }];
    const cases: [string, [Buffer, object], [Buffer, object]][] = [
      ['kvlist attribute', asAttribute(kvNest(MAX_ANY_DEPTH, ...intLeaf)), asAttribute(kvNest(MAX_ANY_DEPTH + 1, ...intLeaf))],
      ['array body', asBody(arrayNest(MAX_ANY_DEPTH)), asBody(arrayNest(MAX_ANY_DEPTH + 1))],
      ['empty list at the last level', asBody(kvNest(MAX_ANY_DEPTH, ...emptyList)), asBody(kvNest(MAX_ANY_DEPTH + 1, ...emptyList))],
    ];
    for (const [what, [okPb, okJson], [deepPb, deepJson]] of cases) {
      const pb = ld(1, ld(2, Buffer.concat([ld(2, okPb), ld(2, deepPb), ld(2, okPb)])));
      const js = json({ resourceLogs: [{ scopeLogs: [{ logRecords: [okJson, deepJson, okJson] }] }] });
      for (const [type, body] of [[PB_TYPE, pb], [JSON_TYPE, js]] as const) {
        const out = decodeOtlpLogs(body, type);
        assert.deepEqual(out.rejected, [{ index: 1, reason: 'too_deep' }], `${what}, ${type}`);
        assert.equal(out.lines.length, 2);
        for (const r of recordsOfLines(out.lines)) assert.equal(r.fields['parse_error'], undefined);
      }
      assert.deepEqual(decodeOtlpLogs(pb, PB_TYPE).lines.map(String), decodeOtlpLogs(js, JSON_TYPE).lines.map(String));
    }
    // A resource attribute too deep rejects every record of the resource; a scope attribute, every record of the scope.
    const [deepAttr] = asAttribute(kvNest(MAX_ANY_DEPTH + 1, ...intLeaf));
    const resourceAttr = deepAttr.subarray(1 + varintLength(deepAttr, 1)); // the KeyValue, without LogRecord's tag and length
    const out = decodeOtlpLogs(Buffer.concat([
      ld(1, Buffer.concat([ld(1, ld(1, resourceAttr)), ld(2, Buffer.concat([ld(2), ld(2)])), ld(2, ld(2))])),
      ld(1, Buffer.concat([ld(2, Buffer.concat([ld(1, ld(3, resourceAttr)), ld(2)])), ld(2, ld(2))])),
    ]), PB_TYPE);
    assert.deepEqual(out.rejected, [0, 1, 2, 3].map((index) => ({ index, reason: 'too_deep' })));
    assert.equal(out.lines.length, 1);
  });

  it('fails bodies that are not an ExportLogsServiceRequest as a whole', () => {
    for (let cut = 1; cut < vector.length; cut++) {
      const r = decodesSafely(() => decodeOtlpLogs(vector.subarray(0, cut), PB_TYPE));
      if (r instanceof IngestDecodeError) assert.equal(r.reason, 'bad_protobuf', `cut at ${cut}`);
    }
    assert.equal(reasonOf(() => decodeOtlpLogs(vector.subarray(0, vector.length - 1), PB_TYPE)), 'bad_protobuf');
    assert.equal(reasonOf(() => decodeOtlpLogs(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), PB_TYPE)), 'bad_protobuf', 'a length of 4 GiB');
    assert.equal(reasonOf(() => decodeOtlpLogs(Buffer.alloc(100_000, 0x0b), PB_TYPE)), 'bad_protobuf', 'nested groups');
    assert.deepEqual(decodeOtlpLogs(Buffer.alloc(0), PB_TYPE), { lines: [], rejected: [] }, 'an empty request');
    for (const t of ['application/protobuf', 'text/plain', '', 'application/x-ndjson']) {
      assert.equal(reasonOf(() => decodeOtlpLogs(vector, t)), 'unsupported_content_type', t);
    }
  });
});

/** A protobufjs-shaped object → its OTLP/JSON form (ids as hex, bytes as base64, 64-bit numbers as strings). */
function convertToJson(v: unknown, key = ''): unknown {
  if (Buffer.isBuffer(v)) return key === 'traceId' || key === 'spanId' ? v.toString('hex') : v.toString('base64');
  if (Array.isArray(v)) return v.map((x) => convertToJson(x));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, convertToJson(x, k)]));
  if (typeof v === 'number' && key === 'intValue') return String(v);
  if (typeof v === 'number' && key === 'doubleValue' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'number' && key === 'doubleValue' && Object.is(v, -0)) return '-0';
  return v;
}

describe('OTLP/HTTP logs, JSON', () => {
  it('maps the upstream example shape (otlp-logs.json) onto records', () => {
    const out = decodeOtlpLogs(fixture('otlp-logs.json'), JSON_TYPE);
    assert.deepEqual(out.rejected, []);
    const [a, b] = recordsOfLines(out.lines);
    const common = {
      'resource.service.name': 'checkout', 'resource.host.name': 'web-1',
      'scope.name': 'my.library', 'scope.version': '1.0.0', 'scope.attributes.my.scope.attribute': 'some scope attribute',
    };
    expectRecord(a!, {
      // 1796205600123456789 as a JSON number: read exactly, not rounded through a double.
      timestamp: 1796205600123456789n, host: 'web-1', app: 'checkout', severity: 6, message: 'Example log record',
      fields: {
        observed_time: '2026-12-02T10:00:00.123457789Z',
        severity_text: 'Information',
        trace_id: '5b8efff798038103d269b633813fc60c',
        span_id: 'eee19b7ec3c1b174',
        'attributes.string.attribute': 'some string',
        'attributes.boolean.attribute': 'true',
        'attributes.int.attribute': '10',
        'attributes.double.attribute': '637.704',
        'attributes.array.attribute': '["many","values"]',
        'attributes.map.attribute.some.map.key': 'some value',
        ...common,
      },
    }, 'record 0');
    expectRecord(b!, {
      timestamp: 1796205601000000000n, host: 'web-1', app: 'checkout', severity: 4,
      message: '{"user":"u-42","items":9007199254740993,"raw":"aGVsbG8="}',
      fields: {
        severity_number: '13', event_name: 'cart.abandoned',
        'body.user': 'u-42', 'body.items': '9007199254740993', 'body.raw': 'aGVsbG8=',
        ...common,
      },
    }, 'record 1');
  });

  it('reads snake_case names, null as the default, enum names, and ignores unknown fields', () => {
    const out = decodeOtlpLogs(json({
      resource_logs: [{
        resource: { attributes: [{ key: 'service.name', value: { string_value: 'svc' } }], futureField: 1 },
        scope_logs: [{
          scope: null,
          log_records: [{
            time_unix_nano: '1796205600000000000', severity_number: 'SEVERITY_NUMBER_WARN3', body: { string_value: 'x' },
            trace_id: null, attributes: [{ key: 'e', value: null }, { key: 'n', value: { double_value: 'Infinity' } }], whatever: [1, 2],
          }],
        }],
      }],
    }), JSON_TYPE);
    assert.deepEqual(out.rejected, []);
    const [r] = recordsOfLines(out.lines);
    expectRecord(r!, {
      timestamp: 1796205600000000000n, app: 'svc', severity: 4, message: 'x',
      fields: { severity_number: '15', 'attributes.e': 'null', 'attributes.n': 'Infinity', 'resource.service.name': 'svc' },
    });
  });

  it('takes base64 trace ids from exporters that use the plain proto3 mapping', () => {
    const id = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');
    const [r] = recordsOfLines(decodeOtlpLogs(json(oneRecord({ traceId: id.toString('base64'), spanId: 'EEE19B7EC3C1B174' })), JSON_TYPE).lines);
    assert.equal(r!.fields['trace_id'], '5b8efff798038103d269b633813fc60c');
    assert.equal(r!.fields['span_id'], 'eee19b7ec3c1b174');
  });

  it('rejects records with values of the wrong type, and every record under a bad resource or scope', () => {
    const rec = (x: object) => ({ body: { stringValue: 'ok' }, ...x });
    const out = decodeOtlpLogs(json({
      resourceLogs: [
        {
          scopeLogs: [{
            logRecords: [
              rec({}),
              rec({ timeUnixNano: true }),
              rec({ timeUnixNano: '-1' }),
              rec({ timeUnixNano: '18446744073709551616' }),
              rec({ severityNumber: 'LOUD' }),
              rec({ body: 'text' }),
              rec({ body: { stringValue: 'a', intValue: 1 } }),
              rec({ traceId: 'xyz!' }),
              rec({ attributes: {} }),
              rec({ attributes: [{ key: 1, value: {} }] }),
              rec({ attributes: [{ key: 'k', value: { intValue: 1.5 } }] }),
              rec({ attributes: [{ key: 'k', value: { boolValue: 'yes' } }] }),
              rec({ attributes: [{ key: 'k', value: { bytesValue: '!!' } }] }),
              rec({ attributes: [{ key: 'k', value: { arrayValue: { values: 1 } } }] }),
              rec({ flags: '4294967296' }),
              null,
              rec({ intValue: 'not a field of LogRecord: ignored' }),
            ],
          }],
        },
        { resource: { attributes: 'x' }, scopeLogs: [{ logRecords: [rec({}), rec({})] }] },
        { scopeLogs: [{ scope: { name: 5 }, logRecords: [rec({})] }, { logRecords: [rec({ intValue: 1 })] }] },
      ],
    }), JSON_TYPE);
    assert.deepEqual(out.rejected, [
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((index) => ({ index, reason: 'invalid_record' })),
      { index: 17, reason: 'invalid_resource' }, { index: 18, reason: 'invalid_resource' },
      { index: 19, reason: 'invalid_scope' },
    ]);
    assert.equal(out.lines.length, 3);
    for (const r of recordsOfLines(out.lines)) expectRecord(r, { message: 'ok' });
  });

  it('fails a body whose envelope is not an export request as a whole', () => {
    const cases: [string, string][] = [
      ['', 'bad_json'], ['{"resourceLogs":[', 'bad_json'], ['{} {}', 'bad_json'], ['{"a":01}', 'bad_json'],
      ['[]', 'invalid_request'], ['"x"', 'invalid_request'], ['{"resourceLogs":{}}', 'invalid_request'],
      ['{"resourceLogs":[1]}', 'invalid_request'], ['{"resourceLogs":[{"scopeLogs":7}]}', 'invalid_request'],
      ['{"resourceLogs":[{"scopeLogs":[[]]}]}', 'invalid_request'], ['{"resourceLogs":[{"scopeLogs":[{"logRecords":{}}]}]}', 'invalid_request'],
      ['{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":' + '['.repeat(600) + ']'.repeat(600) + '}]}]}]}', 'bad_json'],
    ];
    for (const [body, reason] of cases) assert.equal(reasonOf(() => decodeOtlpLogs(Buffer.from(body), JSON_TYPE)), reason, body.slice(0, 60));
    assert.deepEqual(decodeOtlpLogs(Buffer.from('{}'), JSON_TYPE), { lines: [], rejected: [] });
  });
});

describe('OTLP/HTTP logs, JSON and protobuf agree', () => {
  const key = fc.oneof(fc.constantFrom('service.name', 'host.name', 'k', 'a.b', 'msg', 'time', 'level'), fc.string({ unit: 'grapheme', maxLength: 8 }));
  const scalar = fc.oneof(
    fc.record({ stringValue: fc.string({ unit: 'grapheme', maxLength: 12 }) }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String) }),
    fc.record({ doubleValue: fc.double() }),
    fc.record({ bytesValue: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)) }),
    fc.constant({}),
  );
  const { any } = fc.letrec<{ any: object }>((tie) => ({
    any: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      scalar,
      fc.record({ arrayValue: fc.record({ values: fc.array(tie('any'), { maxLength: 3 }) }) }),
      fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key, value: tie('any') }), { maxLength: 3 }) }) }),
    ),
  }));
  const attrs = fc.array(fc.record({ key, value: any }), { maxLength: 4 });
  const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
  const record = fc.record({
    timeUnixNano: u64, observedTimeUnixNano: u64, severityNumber: fc.integer({ min: 0, max: 30 }),
    severityText: fc.constantFrom('', 'INFO', 'Warn', 'x'), body: any, attributes: attrs,
    droppedAttributesCount: fc.nat(), flags: fc.nat(), eventName: fc.constantFrom('', 'e'),
    traceId: fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)), spanId: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
  }, { requiredKeys: [] });
  const request = fc.record({
    resourceLogs: fc.array(fc.record({
      resource: fc.record({ attributes: attrs, droppedAttributesCount: fc.nat() }, { requiredKeys: [] }),
      schemaUrl: fc.constantFrom('', 'https://opentelemetry.io/schemas/1.21.0'),
      scopeLogs: fc.array(fc.record({
        scope: fc.record({ name: fc.string({ maxLength: 5 }), version: fc.string({ maxLength: 5 }), attributes: attrs }, { requiredKeys: [] }),
        schemaUrl: fc.constantFrom('', 's'),
        logRecords: fc.array(record, { maxLength: 3 }),
      }, { requiredKeys: [] }), { maxLength: 3 }),
    }, { requiredKeys: [] }), { maxLength: 3 }),
  });

  it('the same request in both encodings gives the same lines, and every line parses', () => {
    fc.assert(fc.property(request, (req) => {
      const pb = decodeOtlpLogs(encode(req), PB_TYPE);
      const js = decodeOtlpLogs(json(convertToJson(req)), JSON_TYPE);
      assert.deepEqual(pb.rejected, []);
      assert.deepEqual(js.rejected, []);
      assert.deepEqual(js.lines.map(String), pb.lines.map(String));
      for (const r of recordsOfLines(pb.lines)) assert.equal(r.fields['parse_error'], undefined, r.message);
    }), { numRuns: 200 });
  });
});

describe('OTLP/HTTP logs, hostile bodies', () => {
  it('random bytes as protobuf and JSON', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
      decodesSafely(() => decodeOtlpLogs(Buffer.from(b), PB_TYPE));
      decodesSafely(() => decodeOtlpLogs(Buffer.from(b), JSON_TYPE));
    }), { numRuns: 1500 });
  });

  it('the vector with bytes flipped or cut anywhere', () => {
    const vector = hexFixture('otlp-logs-request.hex');
    fc.assert(fc.property(fc.nat(vector.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(vector.length), (at, byte, cut) => {
      const b = Buffer.from(vector);
      b[at] = byte;
      const r = decodesSafely(() => decodeOtlpLogs(b.subarray(0, cut), PB_TYPE));
      if (!(r instanceof IngestDecodeError)) for (const rec of recordsOfLines(r.lines)) assert.equal(rec.fields['parse_error'], undefined);
    }), { numRuns: 2000 });
  });

  it('any JSON value in any place of a request', () => {
    const j = fc.jsonValue({ maxDepth: 4 });
    const req = fc.oneof(
      j,
      j.map((v) => ({ resourceLogs: v })),
      j.map((v) => ({ resourceLogs: [{ scopeLogs: v }] })),
      j.map((v) => ({ resourceLogs: [{ scopeLogs: [{ logRecords: [v] }] }] })),
      fc.dictionary(fc.constantFrom('timeUnixNano', 'body', 'attributes', 'traceId', 'severityNumber', 'flags'), j).map((r) => oneRecord(r)),
      fc.dictionary(fc.constantFrom('stringValue', 'intValue', 'arrayValue', 'kvlistValue', 'bytesValue', 'doubleValue'), j, { maxKeys: 1 }).map((body) => oneRecord({ body })),
    );
    fc.assert(fc.property(req, (v) => {
      const r = decodesSafely(() => decodeOtlpLogs(json(v), JSON_TYPE));
      if (!(r instanceof IngestDecodeError)) for (const rec of recordsOfLines(r.lines)) assert.equal(rec.fields['parse_error'], undefined);
    }), { numRuns: 1000 });
  });
});

describe('OTLP/HTTP logs, responses', () => {
  it('a full success is an empty message: no bytes in protobuf, {} in JSON', () => {
    assert.deepEqual(otlpResponse(PB_TYPE, 0), { contentType: PB_TYPE, body: Buffer.alloc(0) });
    assert.deepEqual(otlpResponse('application/json; charset=utf-8', 0), { contentType: JSON_TYPE, body: Buffer.from('{}') });
  });

  it('a partial success carries rejectedLogRecords and errorMessage', () => {
    const pb = otlpResponse(PB_TYPE, 3, 'bad');
    // partial_success (1, LEN 7) { rejected_log_records (1, VARINT) 3, error_message (2, LEN 3) "bad" }
    assert.equal(pb.body.toString('hex'), '0a07' + '0803' + '1203626164');
    const decoded = ExportLogsServiceResponse.toObject(ExportLogsServiceResponse.decode(pb.body), { longs: String });
    assert.deepEqual(decoded, { partialSuccess: { rejectedLogRecords: '3', errorMessage: 'bad' } });
    assert.equal(otlpResponse(JSON_TYPE, 3, 'bad').body.toString(), '{"partialSuccess":{"rejectedLogRecords":"3","errorMessage":"bad"}}');
    // A warning with nothing rejected (the specification allows it).
    assert.equal(otlpResponse(JSON_TYPE, 0, 'slow down').body.toString(), '{"partialSuccess":{"rejectedLogRecords":"0","errorMessage":"slow down"}}');
    assert.equal(otlpResponse(PB_TYPE, 0, 'w').body.toString('hex'), '0a03' + '120177');
  });
});
