/**
 * POST /api/v1/ingest end to end, with curl as the client: NDJSON, JSON arrays and
 * text, raw and gzip/deflate/zstd; per-item rejects; 413, 415, 400 and 408 with
 * what was stored said plainly; and the ack point: kill -9 right after the answer,
 * restart, and every acknowledged record is there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { compress as zstd } from 'zstd-napi';
import type { RinglogServer } from '../../bench/lib/server.js';
import { makeTempDir, removeDir, runOk, sleep } from './helpers.js';
import { startStoreServer, writeConfig } from './store-helpers.js';

const dir = makeTempDir('ringlog-ingest-api-');
const dataDir = path.join(dir, 'data');
const config = writeConfig(path.join(dir, 'config.json'), { ingest: { maxBody: 1024 * 1024, maxItem: 4096, bodyTimeout: 500 } });
let srv: RinglogServer;

before(async () => {
  srv = await startStoreServer(dataDir, { configFile: config });
});

after(async () => {
  await srv?.stop();
  removeDir(dir);
});

/** curl POST with the body on stdin; status and parsed JSON answer. */
async function post(body: Buffer | string, headers: Record<string, string>, query = ''): Promise<{ status: number; json: Record<string, unknown> }> {
  const args = ['-sS', '-X', 'POST', '--data-binary', '@-', '-w', '\n%{http_code}', `${srv.httpUrl}/api/v1/ingest${query}`];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const r = await runOk('curl', args, { input: body, timeoutMs: 30_000 });
  const nl = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(nl + 1)), json: JSON.parse(r.stdout.slice(0, nl) || '{}') as Record<string, unknown> };
}

async function count(query: string): Promise<number> {
  const r = await runOk('curl', ['-sS', '-G', `${srv.httpUrl}/api/v1/count`, '--data-urlencode', `query=${query}`]);
  return (JSON.parse(r.stdout) as { count: number }).count;
}

const ndjson = (tag: string, n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ time: '2026-12-02T10:00:00.000001Z', host: 'h1', app: 'ingest-e2e', level: 'warn', message: `${tag} record ${i}`, req: { id: i } })).join('\n') + '\n';

test('NDJSON, JSON arrays and text, plain and compressed: answered once stored, every record searchable', async () => {
  const cases: [string, Buffer, Record<string, string>][] = [
    ['plain', Buffer.from(ndjson('plain', 100)), { 'content-type': 'application/x-ndjson' }],
    ['gzip', zlib.gzipSync(ndjson('gzip', 100)), { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }],
    ['deflate', zlib.deflateSync(ndjson('deflate', 100)), { 'content-type': 'application/x-ndjson', 'content-encoding': 'deflate' }],
    ['zstd', zstd(Buffer.from(ndjson('zstd', 100))), { 'content-type': 'application/x-ndjson', 'content-encoding': 'zstd' }],
    ['array', Buffer.from(JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ message: `array record ${i}`, host: 'h1', app: 'ingest-e2e' })))), { 'content-type': 'application/json' }],
    ['text', Buffer.from(Array.from({ length: 100 }, (_, i) => `<12>1 2026-12-02T10:00:00Z h1 ingest-e2e - - - text record ${i}`).join('\n')), { 'content-type': 'text/plain' }],
  ];
  for (const [tag, body, headers] of cases) {
    const r = await post(body, headers);
    assert.equal(r.status, 200, `${tag}: ${JSON.stringify(r.json)}`);
    assert.deepEqual(r.json, { accepted: 100, rejected: [], rejectedCount: 0 }, tag);
    // Answered after durable: searchable at once (the query API reads the WAL).
    assert.equal(await count(`"${tag} record" app:ingest-e2e`), 100, tag);
  }
  const one = JSON.parse((await runOk('curl', ['-sS', '-G', `${srv.httpUrl}/api/v1/query`, '--data-urlencode', 'query="plain record 7"'])).stdout.split('\n')[0]!) as Record<string, unknown>;
  assert.equal(one.host, 'h1');
  assert.equal(one.severity, 4);
  assert.equal(one.timestamp, '2026-12-02T10:00:00.000001000Z');
  assert.deepEqual(one.fields, { 'req.id': '7' });
  assert.equal((one.source as { transport: string }).transport, 'http');
});

test('items that cannot be stored are listed; the rest is stored', async () => {
  const body = `${JSON.stringify([{ message: 'partial ok 1' }, 42, { message: 'x'.repeat(5000) }, { message: 'partial ok 2' }])}`;
  const r = await post(body, { 'content-type': 'application/json' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { accepted: 2, rejected: [{ index: 1, reason: 'not_object' }, { index: 2, reason: 'too_large' }], rejectedCount: 2 });
  assert.equal(await count('"partial ok"'), 2);
});

test('bad bodies: 400/413/415 with a reason, and what was stored is said', async () => {
  // A missing comma: the array is broken after its first element.
  const broken = await post('[{"message":"before the break"} {"message":"after"}]', { 'content-type': 'application/json' });
  assert.equal(broken.status, 400);
  assert.equal((broken.json.error as { reason: string }).reason, 'bad_json');
  assert.equal((broken.json.error as { accepted: number }).accepted, 1);
  assert.equal(await count('"before the break"'), 1);

  const badGzip = await post(Buffer.from('this is not gzip at all'), { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
  assert.equal(badGzip.status, 400);
  assert.equal((badGzip.json.error as { reason: string }).reason, 'bad_encoding');

  const big = await post(Buffer.alloc(2 * 1024 * 1024, 'a'), { 'content-type': 'text/plain' });
  assert.equal(big.status, 413);
  assert.equal((big.json.error as { code: string }).code, 'RL_INGEST_TOO_LARGE');

  // A zip bomb: 20 KiB on the wire, 20 MiB inside; cut off at the limit.
  const bomb = await post(zlib.gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)), { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
  assert.equal(bomb.status, 413);
  assert.match((bomb.json.error as { message: string }).message, /decompresses/);

  const brotli = await post('x', { 'content-type': 'text/plain', 'content-encoding': 'br' });
  assert.equal(brotli.status, 415);
  const xml = await post('<a/>', { 'content-type': 'application/xml' });
  assert.equal(xml.status, 415);
});

test('a body that stalls is cut off with 408 after ingest.bodyTimeout', async () => {
  const u = new URL(srv.httpUrl);
  const sock = net.connect(Number(u.port), u.hostname);
  await new Promise((r) => sock.once('connect', r));
  let answer = '';
  sock.setEncoding('utf8').on('data', (d: string) => (answer += d));
  sock.write('POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{"message":"slow');
  await new Promise((r) => sock.once('close', r));
  assert.match(answer, /^HTTP\/1\.1 408/);
  assert.match(answer, /RL_INGEST_TIMEOUT/);
});

test('acknowledged means durable: kill -9 right after the answers, restart, every acknowledged record is there', async () => {
  const acked: string[] = [];
  for (let k = 0; k < 5; k++) {
    const tag = `crash${k}`;
    const r = await post(ndjson(tag, 500), { 'content-type': 'application/x-ndjson' });
    assert.equal(r.status, 200);
    acked.push(tag);
  }
  process.kill(srv.pid, 'SIGKILL');
  await sleep(200);
  srv = await startStoreServer(dataDir, { configFile: config });
  for (const tag of acked) assert.equal(await count(`"${tag} record"`), 500, tag);
});

test('SIGTERM: a request being read finishes and is answered once durable; new requests get 503', async () => {
  const u = new URL(srv.httpUrl);
  const body = Buffer.from(ndjson('shutdown', 200));
  const sock = net.connect(Number(u.port), u.hostname);
  await new Promise((r) => sock.once('connect', r));
  let answer = '';
  sock.setEncoding('utf8').on('data', (d: string) => (answer += d));
  const closed = new Promise((r) => sock.once('close', r));
  sock.write(`POST /api/v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
  sock.write(body.subarray(0, 1000));
  await sleep(100);
  process.kill(srv.pid, 'SIGTERM');
  await sleep(200);
  const refused = await post(ndjson('after-sigterm', 1), { 'content-type': 'application/x-ndjson' });
  assert.equal(refused.status, 503);
  sock.write(body.subarray(1000));
  await closed;
  assert.match(answer, /^HTTP\/1\.1 200/);
  assert.match(answer, /"accepted":200/);
  await srv.exited;
  srv = await startStoreServer(dataDir, { configFile: config });
  assert.equal(await count('"shutdown record"'), 200);
  assert.equal(await count('"after-sigterm record"'), 0);
});
