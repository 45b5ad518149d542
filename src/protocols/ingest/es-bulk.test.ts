import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ES_VERSION, decodeEsBulk, esBulkResponse, esDocumentLine, esErrorBody, esIndexNameError, esProbeResponse, type EsBulkItem } from './es-bulk.js';
import { IngestDecodeError } from './types.js';
import { assertLinesParse, expectRecord, fixture, ns, records } from './compat-test-helpers.js';

let n = 0;
const newId = (): string => `id-${n++}`;
const decode = (body: Buffer | string, index: string | null = null, maxItem?: number): EsBulkItem[] => {
  n = 0;
  return decodeEsBulk(typeof body === 'string' ? Buffer.from(body) : body, index, { newId, ...(maxItem ? { maxItem } : {}) }).items;
};
const linesOf = (items: EsBulkItem[]): Buffer[] => items.filter((i) => i.line).map((i) => i.line!);

test('Filebeat: ECS host.name, service.name, log.level and @timestamp map onto the record, the originals stay fields', () => {
  const items = decode(fixture('es-bulk-filebeat.ndjson'));
  assert.equal(items.length, 2);
  assert.deepEqual(items.map((i) => [i.action, i._index, i._id, i.error]), [
    ['create', 'filebeat-8.19.0', 'id-0', undefined], ['create', 'filebeat-8.19.0', 'id-1', undefined],
  ]);
  const [a, b] = records(linesOf(items));
  expectRecord(a!, {
    timestamp: ns('2026-11-22T10:00:00.123Z'), host: 'web-1', app: 'nginx', severity: 6, message: 'GET /index.html 200 1043',
    fields: {
      'log.level': 'info', 'log.offset': '1024', 'log.file.path': '/var/log/nginx/access.log',
      'host.name': 'web-1', 'host.ip': '["10.0.0.5","fe80::1"]', 'host.os.family': 'debian',
      'agent.type': 'filebeat', 'agent.version': '8.19.0', 'service.name': 'nginx', 'ecs.version': '8.0.0',
      'input.type': 'filestream', 'http.response.status_code': '200', 'http.response.body.bytes': '1043',
      'event.duration': '1.50', index: 'filebeat-8.19.0',
    },
  }, 'filebeat 1');
  // Dotted ECS keys (as Vector and Fluent Bit may send them); a number beyond 2^53 kept as written.
  expectRecord(b!, {
    timestamp: ns('2026-11-22T10:00:01Z', 123_456), host: 'web-2', app: 'nginx', severity: 3, message: 'upstream timed out',
    fields: {
      'log.level': 'error', 'host.name': 'web-2', 'process.name': 'nginx', 'process.pid': '812',
      'trace.id': '12345678901234567890', index: 'filebeat-8.19.0',
    },
  }, 'filebeat 2');
});

test('Logstash: @timestamp outranks time/timestamp, which stay (time as _time); _id and _index from the action line', () => {
  const items = decode(fixture('es-bulk-logstash.ndjson'), 'from-path');
  assert.deepEqual(items.map((i) => [i.action, i._index, i._id]), [
    ['index', 'logs-generic-default', 'doc-1'], ['create', 'from-path', 'id-0'],
  ]);
  const [a, b] = records(linesOf(items));
  expectRecord(a!, {
    timestamp: ns('2026-11-22T09:00:02.500Z'), host: 'db-1', app: null, severity: 5, message: 'disk full on /var',
    fields: {
      '@version': '1', 'host.hostname': 'db-1', _time: 'local-clock 10:00', timestamp: '2026-11-22 09:00:02',
      _index: 'orders', tags: '["beats_input_codec_plain_applied"]', index: 'logs-generic-default', _id: 'doc-1',
    },
  }, 'logstash');
  // No @timestamp: the document's own keys decide, as in any JSON line; the index comes from the path.
  expectRecord(b!, {
    timestamp: ns('2026-11-22T10:00:03Z'), host: 'edge-7', severity: 4, message: 'vector event',
    fields: { source_type: 'file', index: 'from-path' },
  }, 'vector');
});

test('Fluent Bit: CRLF lines, epoch-seconds @timestamp, the message from `log`, _type ignored', () => {
  const items = decode(fixture('es-bulk-fluent-bit.ndjson'));
  assert.equal(items.length, 1);
  const [r] = records(linesOf(items));
  expectRecord(r!, {
    timestamp: ns('2026-11-22T10:00:04.250Z'), host: null, app: null, message: 'container started',
    fields: {
      stream: 'stdout', 'kubernetes.pod_name': 'api-6d4f', 'kubernetes.namespace_name': 'prod',
      'kubernetes.labels.app': 'api', index: 'fluent-bit',
    },
  }, 'fluent-bit');
});

test('update, delete, bad documents and a missing source fail their own item; the others are stored', () => {
  const items = decode(fixture('es-bulk-rejects.ndjson'));
  assert.deepEqual(items.map((i) => [i.action, i._id, i.error?.status ?? 201, i.error?.type ?? '']), [
    ['index', 'id-0', 201, ''],
    ['update', '7', 400, 'illegal_argument_exception'],
    ['delete', '8', 400, 'illegal_argument_exception'],
    ['create', 'id-1', 400, 'document_parsing_exception'],
    ['create', 'id-2', 400, 'document_parsing_exception'],
    ['index', '9', 201, ''],
    ['create', 'id-3', 400, 'action_request_validation_exception'],
  ]);
  assert.match(items[1]!.error!.reason, /append-only.*update/);
  const [first, last] = records(linesOf(items));
  expectRecord(first!, { message: 'first ok', fields: { index: 'app' } }, 'first');
  // version + short_message would make the parser read GELF: `version` is written as `_version`.
  expectRecord(last!, {
    timestamp: ns('2026-11-22T10:00:05Z'), message: 'last ok',
    fields: { _version: '1.1', short_message: 'gelf-looking', index: 'app', _id: '9' },
  }, 'last');

  const resp = JSON.parse(esBulkResponse(items, 3.4, (i) => items[i]!.line !== undefined).toString()) as {
    took: number; errors: boolean; items: Record<string, { _index: string; _id: string; status: number; result?: string; error?: { type: string; reason: string } }>[];
  };
  assert.equal(resp.took, 3);
  assert.equal(resp.errors, true);
  assert.deepEqual(resp.items.map((it) => Object.keys(it)[0]), ['index', 'update', 'delete', 'create', 'create', 'index', 'create']);
  assert.deepEqual(resp.items.map((it) => Object.values(it)[0]!.status), [201, 400, 400, 400, 400, 201, 400]);
  assert.deepEqual(resp.items[0]!['index'], {
    _index: 'app', _id: 'id-0', _version: 1, result: 'created', _shards: { total: 1, successful: 1, failed: 0 },
    _seq_no: 0, _primary_term: 1, status: 201,
  });
  assert.equal(resp.items[3]!['create']!.error!.type, 'document_parsing_exception');
});

test('the response as clients check it: compact "errors":false, and 429 for an item that was not stored', () => {
  const items = decode('{"create":{"_index":"a"}}\n{"message":"x"}\n{"create":{"_index":"a"}}\n{"message":"y"}\n');
  const ok = esBulkResponse(items, 1, () => true).toString();
  // Fluent Bit looks for this exact text when its JSON parser gives up; Vector for "errors":true.
  assert.ok(ok.includes('"errors":false,"items":['), ok);
  const partial = JSON.parse(esBulkResponse(items, 1, (i) => i === 0).toString()) as { errors: boolean; items: { create: { status: number; error?: { type: string } } }[] };
  assert.equal(partial.errors, true);
  assert.deepEqual(partial.items.map((i) => i.create.status), [201, 429]);
  assert.equal(partial.items[1]!.create.error!.type, 'es_rejected_execution_exception');
  const err = JSON.parse(esErrorBody(400, 'illegal_argument_exception', 'bad').toString()) as { status: number; error: { type: string; root_cause: unknown[] } };
  assert.equal(err.status, 400);
  assert.equal(err.error.root_cause.length, 1);
});

test('a malformed or unknown action line makes the whole request unusable', () => {
  for (const body of [
    '{"create":{}}\n{"a":1}\nnot json\n{"b":2}\n',
    '{"upsert":{"_index":"x"}}\n{"a":1}\n',
    '{"create":{},"index":{}}\n{"a":1}\n',
    '{"create":"x"}\n{"a":1}\n',
    '[1]\n',
  ]) {
    assert.throws(() => decode(body), (e: unknown) => e instanceof IngestDecodeError && e.reason === 'invalid_request', body);
  }
});

test('an over-long document fails its item, the rest of the request is kept; blank lines and no final LF are fine', () => {
  const big = JSON.stringify({ message: 'x'.repeat(200) });
  const items = decode(`\n{"create":{"_index":"a"}}\n${big}\n\n{"create":{"_index":"a"}}\n{"message":"small"}`, null, 100);
  assert.deepEqual(items.map((i) => i.error?.status ?? 201), [400, 201]);
  assert.match(items[0]!.error!.reason, /over ringlog's limit of 100 bytes/);
  expectRecord(records(linesOf(items))[0]!, { message: 'small', fields: { index: 'a' } }, 'small');
});

test('the same request gives the same lines (deterministic)', () => {
  const body = Buffer.concat([fixture('es-bulk-filebeat.ndjson'), fixture('es-bulk-logstash.ndjson')]);
  assert.deepEqual(linesOf(decode(body)), linesOf(decode(body)));
});

test('random bytes and random documents: only IngestDecodeError, and every line parses', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    try {
      assertLinesParse(linesOf(decode(Buffer.from(bytes))), 'random bytes');
    } catch (e) {
      if (!(e instanceof IngestDecodeError)) throw e;
    }
  }), { numRuns: 500 });
  const doc = fc.dictionary(
    fc.constantFrom('@timestamp', 'time', 'timestamp', 'message', 'msg', 'log', 'host', 'level', 'index', '_id', 'version', 'short_message', 'service', 'process', 'x', '_index'),
    fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant('2026-11-22T10:00:00Z'), fc.record({ name: fc.string() }), fc.record({ level: fc.string() })),
  );
  fc.assert(fc.property(fc.array(doc, { maxLength: 4 }), (docs) => {
    const body = docs.map((d) => `{"create":{"_index":"i"}}\n${JSON.stringify(d)}\n`).join('');
    const items = decode(body);
    assert.equal(items.length, docs.length);
    const lines = linesOf(items);
    assert.equal(lines.length, docs.length);
    assertLinesParse(lines, 'random documents');
    // Lossless: every top-level key of the document is in the line, as itself or `_`-prefixed,
    // except @timestamp when it became `time`, and a host object hoisted into host.* keys.
    lines.forEach((l, i) => {
      const out = JSON.parse(l.toString()) as Record<string, unknown>;
      for (const k of Object.keys(docs[i]!)) {
        const kept = Object.keys(out).some((o) => o.replace(/^_+/, '') === k.replace(/^_+/, '') || o.startsWith(`${k}.`));
        assert.ok(kept || (k === '@timestamp' && 'time' in out), `key ${k} of ${JSON.stringify(docs[i])} in ${l}`);
      }
    });
  }), { numRuns: 300 });
});

test('probe requests: what Filebeat, Logstash, Vector and Fluent Bit ask at start-up', () => {
  const get = (method: string, path: string) => {
    const a = esProbeResponse(method, path);
    assert.ok(a !== null, `${method} ${path} is a probe`);
    assert.equal(a.headers['x-elastic-product'], 'Elasticsearch', `${method} ${path}: Logstash needs the product header`);
    return { status: a.status, json: a.body.length === 0 ? undefined : JSON.parse(a.body.toString()) as Record<string, any> };
  };
  const root = get('GET', '/');
  assert.equal(root.status, 200);
  assert.equal(root.json!['version'].number, ES_VERSION);
  assert.equal(root.json!['version'].build_flavor, 'default');
  assert.equal(root.json!['tagline'], 'You Know, for Search');
  assert.deepEqual(get('HEAD', '/'), { status: 200, json: undefined });
  assert.equal(get('GET', '/_license?human=false').json!['license'].status, 'active');
  assert.deepEqual(get('GET', '/_xpack').json!['features'].ilm, { available: true, enabled: true });
  assert.equal(get('GET', '/_cluster/health').json!['status'], 'green');
  assert.deepEqual(get('GET', '/_nodes/http').json!['nodes'], {});
  assert.deepEqual(get('HEAD', '/_index_template/filebeat-8.19.0'), { status: 200, json: undefined });
  assert.deepEqual(get('PUT', '/_index_template/filebeat-8.19.0').json, { acknowledged: true });
  assert.ok(get('GET', '/_ilm/policy/filebeat').json!['filebeat']);
  assert.deepEqual(get('PUT', '/_ilm/policy/logstash-policy').json, { acknowledged: true });
  assert.ok(get('GET', '/_ingest/pipeline/filebeat-8.19.0-nginx-access-pipeline').json!['filebeat-8.19.0-nginx-access-pipeline']);
  assert.equal(get('GET', '/_data_stream/logs-generic-default').json!['data_streams'][0].name, 'logs-generic-default');
  assert.deepEqual(get('GET', '/_cat/templates/filebeat*?format=json').json, []);
  assert.deepEqual(get('HEAD', '/logstash'), { status: 200, json: undefined });
  assert.equal(get('PUT', '/%3Clogstash-%7Bnow%2Fd%7D-000001%3E').json!['index'], '<logstash-{now/d}-000001>');
  for (const [m, p] of [['POST', '/_bulk'], ['POST', '/logs/_bulk?pipeline=x'], ['DELETE', '/'], ['GET', '/logs/_search'], ['GET', '/_unknown']]) {
    assert.equal(esProbeResponse(m!, p!), null, `${m} ${p}`);
  }
});

test('single documents: esDocumentLine joins a pretty-printed document into one line, leaves strings alone, drops a BOM', () => {
  assert.equal(esDocumentLine(Buffer.from('{\r\n  "a": 1,\n  "b": "x\\ny"\n}\n')).toString(), '{    "a": 1,   "b": "x\\ny" } ');
  // A raw line break inside a string stays (the JSON is invalid and is refused later).
  assert.equal(esDocumentLine(Buffer.from('{"m":"a\nb"}')).toString(), '{"m":"a\nb"}');
  // An escaped quote does not end the string.
  assert.equal(esDocumentLine(Buffer.from('{"m":"q\\"\n"}\n')).toString(), '{"m":"q\\"\n"} ');
  assert.equal(esDocumentLine(Buffer.from('\ufeff{"a":1}')).toString(), '{"a":1}');
});

test('bulk: an item whose index name Elasticsearch would refuse gets 400 invalid_index_name_exception; the others are stored', () => {
  const body = Buffer.from('{"index":{"_index":"Logs"}}\n{"message":"a"}\n{"index":{}}\n{"message":"b"}\n{"create":{"_index":"_x"}}\n{"message":"c"}\n');
  const { items } = decodeEsBulk(body, 'logs');
  assert.deepEqual(items.map((i) => i.error?.type ?? 'ok'), ['invalid_index_name_exception', 'ok', 'invalid_index_name_exception']);
  assert.equal(items[0]!.error!.status, 400);
  assert.equal(items[1]!._index, 'logs');
});

test('single documents: index names as Elasticsearch accepts them', () => {
  for (const ok of ['logs', 'logs-2026.12.02', 'app_logs', 'a+b', 'é']) assert.equal(esIndexNameError(ok), null, ok);
  for (const bad of ['', 'Logs', '_x', '-x', '+x', '.', '..', 'a b', 'a,b', 'a*', 'a#b', 'a/b', 'x'.repeat(256)]) assert.ok(esIndexNameError(bad) !== null, bad);
});
