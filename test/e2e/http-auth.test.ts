/**
 * Tokens and TLS on the HTTP port, with curl: with http.tokens set, ingest and query
 * endpoints refuse requests without a token (401) or with one of the wrong scope
 * (403), and take each client's way of sending it (Bearer, Splunk, Basic, ApiKey);
 * /metrics and /healthz stay open. With http.tls, the same over HTTPS (certificate
 * made with the openssl CLI).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { RinglogServer } from '../../bench/lib/server.js';
import { isExecutable, makeTempDir, removeDir, runOk } from './helpers.js';
import { startStoreServer, writeConfig } from './store-helpers.js';

const OPENSSL = '/usr/bin/openssl';
const dir = makeTempDir('ringlog-http-auth-');
const INGEST = 'ingest-token-0123456789';
const QUERY = 'query-token-0123456789ab';
const ALL = 'all-token-0123456789abcd';
let srv: RinglogServer;

before(async () => {
  const tokens = [
    { name: 'shipper', token: INGEST, scope: 'ingest' },
    { name: 'grafana', token: QUERY, scope: 'query' },
    { token: ALL, scope: 'all' },
  ];
  let tls = {};
  if (isExecutable(OPENSSL)) {
    await runOk(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, timeoutMs: 60_000 });
    tls = { tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') } };
  }
  const cfg = writeConfig(path.join(dir, 'config.json'), { http: { address: '127.0.0.1:0', tokens, ...tls } });
  srv = await startStoreServer(path.join(dir, 'data'), { configFile: cfg });
});

after(async () => {
  await srv?.stop();
  removeDir(dir);
});

async function status(method: string, route: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', method, '--cacert', path.join(dir, 'cert.pem'), `${srv.httpUrl}${route}`];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (body !== undefined) args.push('--data-binary', body);
  if (!srv.httpUrl.startsWith('https')) args.splice(args.indexOf('--cacert'), 2);
  return Number((await runOk('curl', args)).stdout);
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const line = '{"message":"auth test"}\n';

test('ingest needs a token of scope ingest or all, in any of the clients\' forms', async () => {
  const ct = { 'content-type': 'application/x-ndjson' };
  assert.equal(await status('POST', '/api/v1/ingest', ct, line), 401);
  assert.equal(await status('POST', '/api/v1/ingest', { ...ct, authorization: 'Bearer wrong-token-000000000' }, line), 401);
  assert.equal(await status('POST', '/api/v1/ingest', { ...ct, authorization: `Bearer ${QUERY}` }, line), 403);
  assert.equal(await status('POST', '/api/v1/ingest', { ...ct, authorization: `Bearer ${INGEST}` }, line), 200);
  assert.equal(await status('POST', '/api/v1/ingest', { ...ct, authorization: `Bearer ${ALL}` }, line), 200);
  assert.equal(await status('POST', '/services/collector/event', { authorization: `Splunk ${INGEST}` }, '{"event":"hec auth"}'), 200);
  assert.equal(await status('POST', '/services/collector/event', {}, '{"event":"hec auth"}'), 401);
  assert.equal(await status('POST', '/_bulk', { ...ct, authorization: basic('elastic', INGEST) }, '{"create":{}}\n{"message":"es auth"}\n'), 200);
  assert.equal(await status('POST', '/_bulk', { ...ct, authorization: `ApiKey ${Buffer.from(`id1:${INGEST}`).toString('base64')}` }, '{"create":{}}\n{"message":"es auth"}\n'), 200);
  assert.equal(await status('GET', '/', {}), 401, 'the Elasticsearch probes too');
  // HEC's health check carries no token.
  assert.equal(await status('GET', '/services/collector/health'), 200);
});

test('queries need a token of scope query or all; /metrics and /healthz stay open', async () => {
  assert.equal(await status('GET', '/api/v1/count'), 401);
  assert.equal(await status('GET', '/api/v1/count', { authorization: `Bearer ${INGEST}` }), 403);
  assert.equal(await status('GET', '/api/v1/count', { authorization: `Bearer ${QUERY}` }), 200);
  assert.equal(await status('GET', '/api/v1/query?query=auth', { authorization: basic('grafana', QUERY) }), 200);
  assert.equal(await status('GET', '/api/v1/tail', { authorization: `Bearer ${INGEST}` }), 403);
  assert.equal(await status('GET', '/metrics'), 200);
  assert.equal(await status('GET', '/healthz'), 200);
});

test('with http.tls the port speaks HTTPS only', { skip: isExecutable(OPENSSL) ? false : `${OPENSSL} not found` }, async () => {
  assert.ok(srv.httpUrl.startsWith('https://'), srv.httpUrl);
  const plain = await runOk('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', srv.httpUrl.replace('https:', 'http:') + '/healthz']).catch((e: Error) => ({ stdout: e.message }));
  assert.notEqual(plain.stdout, '200');
});
