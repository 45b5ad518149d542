/**
 * The shippers' endpoints with the official client libraries of those APIs, from the
 * npm registry, as the senders (the agents themselves, Filebeat, Fluent Bit, the OTel
 * Collector…, cannot be installed here; these libraries speak the same wire formats
 * and check the answers the same way):
 *
 *   @elastic/elasticsearch 8   its product check (GET /, X-Elastic-Product), then the
 *                              bulk helper, which reads every item of the answer and
 *                              retries the ones that failed
 *   @opentelemetry/sdk-logs    with the OTLP/HTTP log exporters, JSON and protobuf
 *   splunk-logging             Splunk's HEC client for Node.js
 *   winston-loki               a Loki push client (protobuf+snappy, and JSON)
 *
 * Each test checks that the client took the delivery as successful and that the
 * records are in the store with what the client sent.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as OtlpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as OtlpProtoExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { Logger as SplunkLogger } from 'splunk-logging';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import type { RinglogServer } from '../../bench/lib/server.js';
import { makeTempDir, removeDir, runOk } from './helpers.js';
import { startStoreServer } from './store-helpers.js';

const dir = makeTempDir('ringlog-ingest-clients-');
let srv: RinglogServer;

before(async () => {
  srv = await startStoreServer(path.join(dir, 'data'));
});

after(async () => {
  await srv?.stop();
  removeDir(dir);
});

async function records(query: string): Promise<Record<string, unknown>[]> {
  const r = await runOk('curl', ['-sS', '-G', `${srv.httpUrl}/api/v1/query`, '--data-urlencode', `query=${query}`, '-d', 'limit=0', '-d', 'order=oldest']);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((o) => !('_meta' in o) && !('_error' in o));
}

const fieldsOf = (r: Record<string, unknown>) => (r.fields ?? {}) as Record<string, unknown>;

test('Elasticsearch client 8: product check passes, the bulk helper stores every document', async () => {
  const client = new Client({ node: srv.httpUrl });
  try {
    const info = await client.info();
    assert.equal(info.version.number.split('.')[0], '8');
    const docs = Array.from({ length: 2500 }, (_, i) => ({
      '@timestamp': new Date(Date.UTC(2026, 11, 2, 10, 0, 0, i)).toISOString(),
      message: `es client document ${i}`,
      host: { name: 'es-host-1' },
      service: { name: 'checkout' },
      log: { level: i % 2 === 0 ? 'info' : 'error' },
      seq: i,
    }));
    const result = await client.helpers.bulk({
      datasource: docs,
      onDocument: () => ({ index: { _index: 'app-logs' } }),
      flushBytes: 64 * 1024,
      retries: 0,
    });
    assert.equal(result.total, docs.length);
    assert.equal(result.successful, docs.length);
    assert.equal(result.failed, 0);
    // The plain bulk API too: its per-item answer as the client types it.
    const r = await client.bulk({ operations: [{ create: { _index: 'app-logs', _id: 'doc-a' } }, { message: 'es client single', host: { name: 'es-host-1' } }] });
    assert.equal(r.errors, false);
    assert.equal(r.items.length, 1);
    assert.equal(r.items[0]!.create!.status, 201);
    assert.equal(r.items[0]!.create!._id, 'doc-a');

    // The single-document API: index with and without an id, and create.
    const a = await client.index({ index: 'app-logs', document: { message: 'es client index api', host: { name: 'es-host-2' }, log: { level: 'warn' } } });
    assert.equal(a.result, 'created');
    assert.equal(a._index, 'app-logs');
    assert.ok(a._id.length > 0);
    const b = await client.index({ index: 'app-logs', id: 'doc-b', document: { message: 'es client index api with id', host: { name: 'es-host-2' } } });
    assert.equal(b._id, 'doc-b');
    const c = await client.create({ index: 'audit', id: 'doc-c', document: { message: 'es client create api', host: { name: 'es-host-2' } } });
    assert.equal(c.result, 'created');
    assert.equal(c._index, 'audit');
    const single = await records('listener:es_bulk host:es-host-2');
    assert.equal(single.length, 3);
    const withId = single.find((x) => x.message === 'es client index api with id')!;
    assert.equal(fieldsOf(withId)._id, 'doc-b');
    assert.equal(fieldsOf(withId).index, 'app-logs');
    assert.equal(single.find((x) => x.message === 'es client index api')!.severity, 4);
    assert.equal(fieldsOf(single.find((x) => x.message === 'es client create api')!).index, 'audit');
    // A document the client cannot send (not an object) is refused with Elasticsearch's error shape.
    await assert.rejects(client.index({ index: 'app-logs', document: [1, 2] as unknown as Record<string, unknown> }), (err: { meta?: { statusCode?: number } }) => err.meta?.statusCode === 400);

    const got = await records('listener:es_bulk host:es-host-1');
    assert.equal(got.length, docs.length + 1);
    const seqs = got.map((x) => Number(fieldsOf(x).seq)).filter((n) => !Number.isNaN(n)).sort((a, b) => a - b);
    assert.deepEqual(seqs, docs.map((d) => d.seq));
    const one = got.find((x) => fieldsOf(x).seq === '7' || fieldsOf(x).seq === 7)!;
    assert.equal(one.message, 'es client document 7');
    assert.equal(one.app, 'checkout');
    assert.equal(one.severity, 3, 'log.level error');
    assert.equal(one.timestamp, '2026-12-02T10:00:00.007000000Z');
    assert.equal(fieldsOf(one).index, 'app-logs');
  } finally {
    await client.close();
  }
});

async function otlp(exporter: OtlpJsonExporter | OtlpProtoExporter, tag: string, n: number): Promise<void> {
  const provider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 8 })] });
  const logger = provider.getLogger('ringlog-e2e', '1.0.0');
  for (let i = 0; i < n; i++) {
    logger.emit({
      timestamp: new Date(Date.UTC(2026, 11, 2, 11, 0, 0, i)),
      severityNumber: i % 2 === 0 ? SeverityNumber.WARN : SeverityNumber.INFO,
      severityText: i % 2 === 0 ? 'WARN' : 'INFO',
      body: `otel ${tag} record ${i}`,
      attributes: { 'http.route': '/api/orders', seq: i, tag },
    });
  }
  await provider.forceFlush();
  await provider.shutdown();
}

test('OpenTelemetry SDK with the OTLP/HTTP log exporters, JSON and protobuf: exports succeed, records stored', async () => {
  const failures: string[] = [];
  const wrap = <T extends OtlpJsonExporter | OtlpProtoExporter>(e: T): T => {
    const orig = e.export.bind(e);
    e.export = (items, done) => orig(items, (r) => {
      if (r.code !== 0) failures.push(String(r.error?.message ?? r.code));
      done(r);
    });
    return e;
  };
  await otlp(wrap(new OtlpJsonExporter({ url: `${srv.httpUrl}/v1/logs` })), 'json', 20);
  await otlp(wrap(new OtlpProtoExporter({ url: `${srv.httpUrl}/v1/logs` })), 'proto', 20);
  assert.deepEqual(failures, [], 'every export answered as a success');
  for (const tag of ['json', 'proto']) {
    const got = await records(`listener:otlp "otel ${tag} record"`);
    assert.equal(got.length, 20, tag);
    const first = got.find((x) => x.message === `otel ${tag} record 0`)!;
    assert.ok(first, `${tag}: record 0`);
    assert.equal(first.timestamp, '2026-12-02T11:00:00.000000000Z');
    assert.equal(first.severity, 4, 'WARN');
    const f = fieldsOf(first);
    assert.equal(f['attributes.http.route'], '/api/orders', JSON.stringify(first));
    assert.equal(f['attributes.tag'], tag);
    assert.equal(f['scope.name'], 'ringlog-e2e');
    assert.equal(f['severity_text'], 'WARN');
    // The SDK's default resource: service.name becomes the app.
    assert.ok(typeof f['resource.service.name'] === 'string' && f['resource.service.name'] !== '', JSON.stringify(first));
    assert.equal(first.app, f['resource.service.name']);
  }
});

test('splunk-logging (HEC client): every batch acknowledged, events stored with host, source and sourcetype', async () => {
  const logger = new SplunkLogger({ token: '00000000-0000-0000-0000-000000000000', url: srv.httpUrl, maxBatchCount: 10 });
  const errors: Error[] = [];
  logger.error = (err: Error) => errors.push(err);
  // The client answers per flush: when a batch reaches maxBatchCount, and on flush().
  const answers: Promise<unknown>[] = [];
  const answer = () => {
    let done!: (body: unknown) => void;
    answers.push(new Promise((r) => (done = r)));
    return (err: Error | undefined, _resp: unknown, body: unknown) => done(err ?? body);
  };
  const n = 25;
  for (let i = 0; i < n; i++) {
    const batchFull = (i + 1) % 10 === 0;
    logger.send({
      message: { msg: `hec client event ${i}`, seq: i },
      severity: 'warn',
      metadata: { host: 'hec-host', source: 'e2e', sourcetype: '_json', index: 'main' },
    }, batchFull ? answer() : undefined);
  }
  logger.flush(answer());
  const bodies = await Promise.all(answers);
  assert.equal(bodies.length, 3);
  for (const b of bodies) assert.deepEqual(typeof b === 'string' ? JSON.parse(b) : b, { text: 'Success', code: 0 });
  assert.deepEqual(errors, []);
  const got = await records('listener:hec host:hec-host');
  assert.equal(got.length, n);
  const one = got.find((x) => String(x.message).includes('hec client event 3'))!;
  assert.ok(one, JSON.stringify(got[0]));
  assert.equal(fieldsOf(one).source, 'e2e');
  assert.equal(fieldsOf(one).sourcetype, '_json');
  assert.equal(one.severity, 4, 'severity warn');
});

test('winston-loki, protobuf+snappy and JSON: pushes succeed, entries stored with their labels', async () => {
  for (const json of [false, true]) {
    const tag = json ? 'json' : 'proto';
    const errors: unknown[] = [];
    const transport = new LokiTransport({
      host: srv.httpUrl, json, batching: true, interval: 0.1, gracefulShutdown: false,
      labels: { job: 'e2e', mode: tag }, onConnectionError: (err) => errors.push(err),
    });
    const logger = winston.createLogger({ transports: [transport] });
    for (let i = 0; i < 30; i++) logger.log({ level: i % 3 === 0 ? 'error' : 'info', message: `loki ${tag} entry ${i}`, labels: { shard: String(i % 2) } });
    await transport.flush();
    await transport.close();
    logger.close();
    assert.deepEqual(errors, [], tag);
    const got = await records(`listener:loki labels.mode:${tag}`);
    assert.equal(got.length, 30, tag);
    // winston-loki writes the line as the message followed by the remaining meta as JSON.
    const one = got.find((x) => String(x.message).startsWith(`loki ${tag} entry 3 `))!;
    assert.ok(one, `${tag}: ${JSON.stringify(got[0])}`);
    const f = fieldsOf(one);
    assert.equal(f['labels.job'], 'e2e');
    assert.equal(f['labels.shard'], '1');
    assert.equal(f['labels.level'], 'error');
    assert.equal(one.severity, 3, 'the level label');
    assert.equal(one.app, 'e2e', 'the job label');
  }
});
