/**
 * The shippers' endpoints end to end, with curl sending the fixtures of
 * test/fixtures/ingest/ (their README says where each wire format is specified): the
 * answer each client expects, and the records in the store (counted per endpoint,
 * which is the record's listener). Loki and OTLP also in protobuf (Loki with snappy),
 * the Elasticsearch start-up probes, HEC health and a HEC body with bad events.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import snappy from 'snappy';
import type { RinglogServer } from '../../bench/lib/server.js';
import { repoRoot } from '../../bench/lib/server.js';
import { makeTempDir, removeDir, runOk } from './helpers.js';
import { startStoreServer } from './store-helpers.js';

const dir = makeTempDir('ringlog-ingest-compat-');
let srv: RinglogServer;
const fixture = (name: string) => path.join(repoRoot, 'test', 'fixtures', 'ingest', name);
/** A .hex fixture: hex bytes, `#` comment lines. */
const hex = (name: string) => Buffer.from(readFileSync(fixture(name), 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('').replace(/\s+/g, ''), 'hex');

before(async () => {
  srv = await startStoreServer(path.join(dir, 'data'));
});

after(async () => {
  await srv?.stop();
  removeDir(dir);
});

async function curl(method: string, route: string, opts: { file?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: string }> {
  const args = ['-sS', '-X', method, '-D', '-', `${srv.httpUrl}${route}`];
  if (method === 'HEAD') args.splice(1, 2, '-I');
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (opts.file) args.push('--data-binary', `@${fixture(opts.file)}`);
  if (opts.body) args.push('--data-binary', '@-');
  const r = await runOk('curl', args, { input: opts.body, timeoutMs: 30_000 });
  // A large body goes out after "100 Continue" (curl sends Expect: 100-continue): skip that answer.
  let out = r.stdout;
  while (/^HTTP\/[\d.]+ 100 /.test(out)) out = out.slice(out.indexOf('\r\n\r\n') + 4);
  const split = out.indexOf('\r\n\r\n');
  const headers = out.slice(0, split);
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)![1]), headers, body: out.slice(split + 4) };
}

async function count(query: string): Promise<number> {
  const r = await runOk('curl', ['-sS', '-G', `${srv.httpUrl}/api/v1/count`, '--data-urlencode', `query=${query}`]);
  return (JSON.parse(r.stdout) as { count: number }).count;
}

async function records(query: string): Promise<Record<string, unknown>[]> {
  const r = await runOk('curl', ['-sS', '-G', `${srv.httpUrl}/api/v1/query`, '--data-urlencode', `query=${query}`, '-d', 'limit=0']);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => !('_meta' in o));
}

test('Loki push, JSON and protobuf+snappy: 204, and the entries with their labels', async () => {
  const json = await curl('POST', '/loki/api/v1/push', { file: 'loki-push.json', headers: { 'content-type': 'application/json' } });
  assert.equal(json.status, 204);
  const n = await count('listener:loki');
  assert.ok(n >= 2, `${n} records`);
  const pb = await curl('POST', '/loki/api/v1/push', { body: snappy.compressSync(hex('loki-push-request.hex')), headers: { 'content-type': 'application/x-protobuf' } });
  assert.equal(pb.status, 204);
  assert.equal(await count('listener:loki'), n + 1);
  const [rec] = await records('listener:loki labels.host:web-1 labels.level:warn');
  assert.ok(rec, 'the protobuf entry');
  assert.equal(rec.host, 'web-1');
  assert.equal(rec.app, 'nginx');
  assert.equal(rec.severity, 4);
  const bad = await curl('POST', '/loki/api/v1/push', { body: Buffer.from('not snappy at all'), headers: { 'content-type': 'application/x-protobuf' } });
  assert.equal(bad.status, 400);
});

test('OTLP/HTTP logs, JSON and protobuf: the response message, and the records', async () => {
  const json = await curl('POST', '/v1/logs', { file: 'otlp-logs.json', headers: { 'content-type': 'application/json' } });
  assert.equal(json.status, 200);
  assert.equal(json.body, '{}');
  const pb = await curl('POST', '/v1/logs', { body: hex('otlp-logs-request.hex'), headers: { 'content-type': 'application/x-protobuf' } });
  assert.equal(pb.status, 200);
  assert.match(pb.headers, /content-type: application\/x-protobuf/i);
  assert.equal(pb.body, '');
  assert.ok((await count('listener:otlp')) >= 3);
  assert.ok((await count('listener:otlp resource.service.name:*')) >= 1);
});

test('Elasticsearch: start-up probes, bulk with per-item results, and a rejected item', async () => {
  const root = await curl('GET', '/');
  assert.equal(root.status, 200);
  assert.match(root.headers, /x-elastic-product: Elasticsearch/i);
  assert.match((JSON.parse(root.body) as { version: { number: string } }).version.number, /^8\./);
  assert.equal((await curl('HEAD', '/')).status, 200);
  assert.equal((await curl('GET', '/_license')).status, 200);
  assert.equal((await curl('PUT', '/_index_template/filebeat-8', { body: Buffer.from('{}'), headers: { 'content-type': 'application/json' } })).status, 200);

  const fb = await curl('POST', '/_bulk', { file: 'es-bulk-filebeat.ndjson', headers: { 'content-type': 'application/x-ndjson' } });
  assert.equal(fb.status, 200);
  const r = JSON.parse(fb.body) as { errors: boolean; items: Record<string, { status: number }>[] };
  assert.equal(r.errors, false);
  assert.ok(r.items.length >= 2);
  for (const it of r.items) assert.equal(Object.values(it)[0]!.status, 201);
  assert.equal(await count('listener:es_bulk'), r.items.length);

  const rej = await curl('POST', '/logs-x/_bulk', { file: 'es-bulk-rejects.ndjson', headers: { 'content-type': 'application/x-ndjson' } });
  assert.equal(rej.status, 200);
  const rr = JSON.parse(rej.body) as { errors: boolean; items: Record<string, { status: number; error?: { type: string } }>[] };
  assert.equal(rr.errors, true);
  const statuses = rr.items.map((it) => Object.values(it)[0]!.status);
  assert.ok(statuses.includes(400), `statuses ${statuses}`);
  const stored = statuses.filter((s) => s === 201 || s === 200).length;
  assert.equal(await count('listener:es_bulk'), r.items.length + stored);
});

test('Elasticsearch single-document API: a pretty-printed document with PUT and an id, 201; bad JSON and a bad path, 400', async () => {
  const doc = Buffer.from('{\n  "@timestamp": "2026-12-02T09:30:00.250Z",\n  "message": "single\\nline two",\n  "host": {\n    "name": "doc-host"\n  },\n  "amount": 1.50\n}\n');
  const r = await curl('PUT', '/orders/_doc/ord-1', { body: doc, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 201, r.body);
  const body = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(body.result, 'created');
  assert.equal(body._index, 'orders');
  assert.equal(body._id, 'ord-1');
  assert.match(r.headers, /x-elastic-product: Elasticsearch/i);
  const [rec] = await records('listener:es_bulk host:doc-host');
  assert.ok(rec);
  assert.equal(rec.message, 'single\nline two', 'an escaped line break stays one');
  assert.equal(rec.timestamp, '2026-12-02T09:30:00.250000000Z');
  assert.equal((rec.fields as Record<string, unknown>).amount, '1.50', 'the number as written');
  assert.equal((rec.fields as Record<string, unknown>)._id, 'ord-1');
  // POST without an id: one is made up.
  const auto = await curl('POST', '/orders/_doc', { body: Buffer.from('{"message":"auto id","host":"doc-host"}'), headers: { 'content-type': 'application/json' } });
  assert.equal(auto.status, 201);
  assert.ok(((JSON.parse(auto.body) as { _id: string })._id).length >= 16);
  const bad = await curl('POST', '/orders/_doc', { body: Buffer.from('{"message": "unterminated'), headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 400);
  assert.ok((JSON.parse(bad.body) as { error: { type: string } }).error.type);
  for (const path of ['/orders/_doc/%E0%A4%A', '/orders/_doc/%FF', '/Orders/_doc', '/%5Forders/_doc']) {
    const badPath = await curl(path.endsWith('_doc') ? 'POST' : 'PUT', path, { body: Buffer.from('{"message":"x","host":"doc-host"}'), headers: { 'content-type': 'application/json' } });
    assert.equal(badPath.status, 400, path);
  }
  // A raw line break inside a string is not JSON: refused, not mended.
  const rawBreak = await curl('POST', '/orders/_doc', { body: Buffer.from('{"message":"a\nb","host":"doc-host"}'), headers: { 'content-type': 'application/json' } });
  assert.equal(rawBreak.status, 400);
  // A UTF-8 BOM before the document is allowed.
  const bom = await curl('POST', '/orders/_doc', { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"message":"after a bom","host":"doc-host"}')]), headers: { 'content-type': 'application/json' } });
  assert.equal(bom.status, 201, bom.body);
  const empty = await curl('POST', '/orders/_doc', { body: Buffer.from(' \n'), headers: { 'content-type': 'application/json' } });
  assert.equal(empty.status, 400);
  const big = await curl('POST', '/orders/_doc', { body: Buffer.from(`{"message":"${'x'.repeat(1100 * 1024)}","host":"doc-host"}`), headers: { 'content-type': 'application/json' } });
  assert.equal(big.status, 413);
  assert.equal(await count('listener:es_bulk host:doc-host'), 3);
});

test('Splunk HEC: events and raw, health, and a body with bad events (the good ones stored)', async () => {
  const health = await curl('GET', '/services/collector/health');
  assert.equal(health.status, 200);
  assert.equal(JSON.parse(health.body).code, 17);
  const ev = await curl('POST', '/services/collector/event', { file: 'hec-events.json', headers: { authorization: 'Splunk x' } });
  assert.equal(ev.status, 200);
  assert.deepEqual(JSON.parse(ev.body), { text: 'Success', code: 0 });
  const n = await count('listener:hec');
  assert.ok(n >= 4, `${n}`);
  const raw = await curl('POST', '/services/collector/raw?host=rawhost&sourcetype=st', { file: 'hec-raw.txt' });
  assert.equal(raw.status, 200);
  const rawN = await count('listener:hec host:rawhost');
  assert.ok(rawN >= 2, `${rawN}`);
  const bad = await curl('POST', '/services/collector/event', { file: 'hec-events-rejects.json' });
  assert.equal(bad.status, 400);
  const b = JSON.parse(bad.body) as { code: number; 'invalid-event-number': number };
  assert.ok([6, 12, 13, 15].includes(b.code));
  assert.equal(typeof b['invalid-event-number'], 'number');
  assert.ok((await count('listener:hec')) > n + rawN, 'the good events of the bad body are stored');
});

test('GELF over HTTP: 202 and the record', async () => {
  const r = await curl('POST', '/gelf', { body: Buffer.from(JSON.stringify({ version: '1.1', host: 'gelf-host', short_message: 'gelf over http', level: 3, _user: 'u1' })) });
  assert.equal(r.status, 202);
  const [rec] = await records('listener:gelf "gelf over http"');
  assert.equal(rec?.host, 'gelf-host');
  assert.equal(rec?.severity, 3);
});
