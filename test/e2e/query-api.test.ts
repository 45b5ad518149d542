/**
 * The query API end to end, with curl as the client (docs/api.md): search, count,
 * hits and facets against what was sent; syntax errors with their position; cursor
 * pagination that stays stable while records arrive; live tail (delivery, filtering,
 * a slow subscriber told exactly how many records it missed); a client that goes away
 * frees its query worker; a full pool answers 429; the time limit; no store → 503.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import type { RinglogServer } from '../../bench/lib/server.js';
import { ringlogBin, trackChild } from '../../bench/lib/server.js';
import { makeTempDir, removeDir, run, runOk, sleep, waitFor } from './helpers.js';
import { messageFor, sendRecords, startStoreServer, writeConfig, type SentRecord } from './store-helpers.js';

const dir = makeTempDir('ringlog-query-api-');
let srv: RinglogServer;
const sent: SentRecord[] = [];
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const N = 6000;

interface Rec {
  timestamp: string;
  host?: string;
  message: string;
  severity: number;
  fields?: Record<string, string>;
}

function record(conn: number, seq: number, tsMs: number): SentRecord {
  return { conn, seq, tsMs, host: `web-${seq % 3}`, message: messageFor(conn, seq) };
}

/** curl, returning status, headers and body. */
async function curl(pathAndQuery: string, params: Record<string, string | string[]> = {}): Promise<{ status: number; body: string; headers: string }> {
  const args = ['-sS', '-G', '-D', '-', '--max-time', '30', `${srv.httpUrl}${pathAndQuery}`];
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) args.push('--data-urlencode', `${k}=${x}`);
  const r = await runOk('curl', args, { timeoutMs: 40_000 });
  const split = r.stdout.indexOf('\r\n\r\n');
  const headers = r.stdout.slice(0, split);
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)![1]), headers, body: r.stdout.slice(split + 4) };
}

function ndjson(body: string): { records: Rec[]; meta: { matched: number; cursor: string | null } | null; error: { code: string } | null } {
  const records: Rec[] = [];
  let meta = null;
  let error = null;
  for (const line of body.split('\n')) {
    if (line === '') continue;
    const o = JSON.parse(line) as Record<string, unknown>;
    if ('_meta' in o) meta = o._meta as { matched: number; cursor: string | null };
    else if ('_error' in o) error = o._error as { code: string };
    else records.push(o as unknown as Rec);
  }
  return { records, meta, error };
}

const seqOf = (r: Rec) => Number(r.fields?.['bench@32473.seq']);
const hasWord = (m: string, w: string) => new RegExp(`(^|[^A-Za-z0-9_])${w}($|[^A-Za-z0-9_])`, 'i').test(m);

before(async () => {
  const cfg = writeConfig(path.join(dir, 'config.json'), {
    query: { workers: 1, maxQueued: 0, timeLimit: 3000 },
    tail: { bufferSize: 65536, pollInterval: 20 },
  });
  srv = await startStoreServer(path.join(dir, 'data'), { configFile: cfg });
  // Timestamps 1 s apart, sent in a shuffled order, plus ties: every 10th record shares its neighbour's time.
  for (let seq = 0; seq < N; seq++) sent.push(record(1, seq, T0 + (seq - (seq % 10 === 1 ? 1 : 0)) * 1000));
  const order = [...sent].sort((a, b) => ((a.seq * 7919) % N) - ((b.seq * 7919) % N));
  await sendRecords(srv, order);
  await waitFor('every record to be searchable', async () => (await curl('/api/v1/count')).body.includes(`"count":${N}`), { timeoutMs: 30_000 });
});

after(async () => {
  await srv?.stop();
  removeDir(dir);
});

test('search: words and a field, newest first, every match and nothing else', async () => {
  const r = await curl('/api/v1/query', { query: 'host:web-1 bravo', limit: '0' });
  assert.equal(r.status, 200);
  assert.match(r.headers, /content-type: application\/x-ndjson/i);
  const { records, meta } = ndjson(r.body);
  const want = sent.filter((s) => s.host === 'web-1' && hasWord(s.message, 'bravo')).map((s) => s.seq).sort((a, b) => a - b);
  assert.ok(want.length > 50);
  assert.deepEqual(records.map(seqOf).sort((a, b) => a - b), want);
  for (let i = 1; i < records.length; i++) assert.ok(records[i - 1]!.timestamp >= records[i]!.timestamp, 'newest first');
  assert.equal(meta?.matched, want.length);
  assert.equal(meta?.cursor, null);
});

test('a syntax error answers 400 with the position and what was expected', async () => {
  const r = await curl('/api/v1/query', { query: 'host:web-1 AND (bravo OR' });
  assert.equal(r.status, 400);
  const e = (JSON.parse(r.body) as { error: { code: string; position: number; expected: string; message: string } }).error;
  assert.equal(e.code, 'RL_QUERY_INVALID');
  assert.equal(e.position, 'host:web-1 AND (bravo OR'.length);
  assert.match(e.message, /expected/);
  const long = await curl('/api/v1/query', { query: 'x '.repeat(3000) });
  assert.equal(long.status, 400);
  assert.match(long.body, /4096/);
});

test('count, hits and facets agree with the records sent', async () => {
  const q = 'alpha OR charlie';
  const match = sent.filter((s) => hasWord(s.message, 'alpha') || hasWord(s.message, 'charlie'));
  const count = JSON.parse((await curl('/api/v1/count', { query: q })).body) as { count: number };
  assert.equal(count.count, match.length);

  const since = new Date(T0).toISOString();
  const until = new Date(T0 + N * 1000).toISOString();
  const hits = JSON.parse((await curl('/api/v1/hits', { query: q, since, until, step: '10m' })).body) as { buckets: { ms: number; count: number }[]; total: number };
  const want = new Map<number, number>();
  for (const s of match) want.set(Math.floor(s.tsMs / 600_000) * 600_000, (want.get(Math.floor(s.tsMs / 600_000) * 600_000) ?? 0) + 1);
  assert.equal(hits.total, match.length);
  for (const b of hits.buckets) assert.equal(b.count, want.get(b.ms) ?? 0, `bucket ${new Date(b.ms).toISOString()}`);

  const facets = JSON.parse((await curl('/api/v1/facets', { query: q, field: ['host', 'severity'], top: '2' })).body) as { facets: { field: string; values: { value: string; count: number }[] }[] };
  const byHost = new Map<string, number>();
  for (const s of match) byHost.set(s.host, (byHost.get(s.host) ?? 0) + 1);
  const top2 = [...byHost].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 2).map(([value, count]) => ({ value, count }));
  assert.deepEqual(facets.facets[0], { field: 'host', values: top2, distinct: 3, approximate: false });
  assert.deepEqual(facets.facets[1]!.values, [{ value: 'info', count: match.length }]);
});

test('pages follow the cursor to exactly the full result, and stay stable while records arrive', async () => {
  const q = 'delta';
  const full = ndjson((await curl('/api/v1/query', { query: q, limit: '0', order: 'oldest' })).body).records.map(seqOf);
  assert.ok(full.length > 100);
  const pages: number[] = [];
  let cursor: string | null = null;
  let round = 0;
  do {
    const params: Record<string, string> = { query: q, limit: '37', order: 'oldest' };
    if (cursor) params.cursor = cursor;
    const page = ndjson((await curl('/api/v1/query', params)).body);
    pages.push(...page.records.map(seqOf));
    cursor = page.meta!.cursor;
    if (round++ === 1) {
      // New matching records, some inside the range already paged: not part of this search.
      await sendRecords(srv, [record(2, N, T0 + 5_500), record(2, N + 1, T0 + N * 1000 + 5_000)].map((r) => ({ ...r, message: `${r.message} delta` })));
      await waitFor('the new records', async () => (await curl('/api/v1/count', { query: 'delta' })).body.includes(`"count":${full.length + 2}`));
    }
  } while (cursor !== null);
  assert.deepEqual(pages, full);
  const bad = await curl('/api/v1/query', { query: q, cursor: 'bm9wZQ' });
  assert.equal(bad.status, 400);
});

/** A raw HTTP/1.1 GET whose response is not read until `read()` (the socket is paused). */
async function heldRequest(pathAndQuery: string): Promise<{ sock: net.Socket; read: () => Promise<string> }> {
  const u = new URL(srv.httpUrl);
  const sock = net.connect(Number(u.port), u.hostname);
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET ${pathAndQuery} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  sock.pause();
  return {
    sock,
    read: () => new Promise((resolve) => {
      let text = '';
      sock.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text)).on('close', () => resolve(text));
      sock.resume();
    }),
  };
}

test('a full pool answers 429; a client that goes away frees its worker', async () => {
  // One worker, no queue: a search whose client does not read holds the worker.
  const held = await heldRequest('/api/v1/query?limit=0');
  await waitFor('the held search to occupy the worker', async () => (await curl('/api/v1/count')).status === 429);
  const busy = await curl('/api/v1/count');
  assert.equal(busy.status, 429);
  assert.match(busy.headers, /retry-after: 1/i);
  assert.equal((JSON.parse(busy.body) as { error: { code: string } }).error.code, 'RL_QUERY_BUSY');
  held.sock.destroy();
  // Well before the 3 s time limit would have ended it.
  const t0 = Date.now();
  await waitFor('the worker to be free', async () => (await curl('/api/v1/count')).status === 200, { timeoutMs: 10_000 });
  assert.ok(Date.now() - t0 < 2500, `freed after ${Date.now() - t0} ms`);
  assert.ok((await srv.metric('ringlog_query_requests_total', { endpoint: 'query', outcome: 'cancelled' })) >= 1);
});

/** `curl -N` on the tail endpoint: server-sent events as they come. */
function tail(query: string): { events: { event: string; data: string }[]; ready: Promise<void>; stop: () => void } {
  const events: { event: string; data: string }[] = [];
  const child = spawn('curl', ['-sSN', '-G', `${srv.httpUrl}/api/v1/tail`, '--data-urlencode', `query=${query}`]);
  trackChild(child);
  let buf = '';
  let readyResolve: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      const data: string[] = [];
      for (const l of block.split('\n')) {
        if (l.startsWith('event: ')) event = l.slice(7);
        else if (l.startsWith('data: ')) data.push(l.slice(6));
      }
      if (data.length === 0) continue;
      events.push({ event, data: data.join('\n') });
      if (event === 'ready') readyResolve();
    }
  });
  return { events, ready, stop: () => child.kill() };
}

test('live tail delivers new matching records, and only those', async () => {
  const t = tail('echo host:web-2');
  await t.ready;
  const batch = Array.from({ length: 300 }, (_, k) => record(3, k, Date.now()));
  await sendRecords(srv, batch);
  const want = batch.filter((s) => s.host === 'web-2' && hasWord(s.message, 'echo')).map((s) => s.seq).sort((a, b) => a - b);
  assert.ok(want.length > 5);
  const got = () => t.events.filter((e) => e.event === 'message').map((e) => seqOf(JSON.parse(e.data) as Rec));
  await waitFor('the tail to deliver every match', () => got().length >= want.length, { timeoutMs: 10_000 });
  await sleep(300);
  t.stop();
  assert.deepEqual(got().sort((a, b) => a - b), want);
});

test('a slow tail subscriber is told exactly how many records it missed', async () => {
  const held = await heldRequest('/api/v1/tail?query=foxtrot');
  await sleep(300);
  const countOf = async (q: string) => (JSON.parse((await curl('/api/v1/count', { query: q })).body) as { count: number }).count;
  const before = await countOf('foxtrot');
  const batch = Array.from({ length: 40_000 }, (_, k) => ({ ...record(4, k, Date.now()), message: `${messageFor(4, k)} foxtrot ${'x'.repeat(200)}` }));
  await sendRecords(srv, batch);
  await waitFor('the store to hold them', async () => (await countOf('foxtrot')) === before + batch.length, { timeoutMs: 30_000 });
  await sleep(500);
  const body = (async () => held.read())();
  await sleep(1500);
  held.sock.destroy();
  const text = await body;
  let delivered = 0;
  let missed = 0;
  for (const block of text.split('\n\n')) {
    if (block.includes('event: missed')) missed += (JSON.parse(block.split('data: ')[1]!) as { count: number }).count;
    else if (block.includes('data: {"timestamp"')) delivered++;
  }
  assert.ok(missed > 0, 'some records were missed');
  assert.equal(delivered + missed, batch.length, `delivered ${delivered} + missed ${missed}`);
});

test('a search past its time limit ends with an _error line and frees the worker', async () => {
  const held = await heldRequest('/api/v1/query?limit=0');
  await sleep(4000);
  const body = await held.read();
  const lines = body.split('\r\n\r\n').slice(1).join('').split('\n').filter((l) => l.startsWith('{'));
  const last = JSON.parse(lines[lines.length - 1]!) as { _error?: { code: string } };
  assert.equal(last._error?.code, 'RL_QUERY_TIMEOUT');
  assert.equal((await curl('/api/v1/count')).status, 200);
});

test('ringlog query and ringlog tail --server', async () => {
  const q = await runOk(process.execPath, [ringlogBin, 'query', '--server', srv.httpUrl, '--json', '--limit', '5', 'golf', 'host:web-0']);
  const recs = q.stdout.trim().split('\n').map((l) => JSON.parse(l) as Rec);
  assert.equal(recs.length, 5);
  for (const r of recs) assert.ok(r.host === 'web-0' && hasWord(r.message, 'golf'));
  assert.match(q.stderr, /--cursor /);
  const c = await runOk(process.execPath, [ringlogBin, 'query', '--server', srv.httpUrl, '--count', 'golf']);
  assert.equal(Number(c.stdout.trim()), JSON.parse((await curl('/api/v1/count', { query: 'golf' })).body).count);
  const bad = await run(process.execPath, [ringlogBin, 'query', '--server', srv.httpUrl, 'host:(x']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /RL_QUERY_INVALID/);

  const child = spawn(process.execPath, [ringlogBin, 'tail', '--server', srv.httpUrl, '--json', 'hotel', 'host:web-1']);
  trackChild(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  // Records written before the server's tail is following the WAL are not shown: wait for it to say so.
  await waitFor('ringlog tail to follow', () => err.includes('ringlog tail: following'));
  const batch = Array.from({ length: 200 }, (_, k) => record(5, k, Date.now()));
  await sendRecords(srv, batch);
  const want = batch.filter((s) => s.host === 'web-1' && hasWord(s.message, 'hotel')).map((s) => s.seq).sort((a, b) => a - b);
  await waitFor('ringlog tail to print every match', () => out.split('\n').filter((l) => l.startsWith('{')).length >= want.length);
  child.kill();
  assert.deepEqual(out.trim().split('\n').map((l) => seqOf(JSON.parse(l) as Rec)).sort((a, b) => a - b), want);
});

test('without a store the query API answers 503', async () => {
  const noStore = await startStoreServer(path.join(dir, 'nostore'), { args: ['--no-store'] });
  try {
    const r = await runOk('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${noStore.httpUrl}/api/v1/query`]);
    assert.equal(r.stdout, '503');
  } finally {
    await noStore.stop();
  }
});

test('routes: unknown paths 404, wrong methods 405, HEAD checks a query without running it', async () => {
  const code = async (args: string[]) => (await runOk('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args])).stdout;
  assert.equal(await code(['-X', 'POST', `${srv.httpUrl}/no/such/route`]), '404');
  assert.equal(await code(['-X', 'DELETE', `${srv.httpUrl}/api/v1/query`]), '405');
  assert.equal(await code(['-X', 'POST', `${srv.httpUrl}/metrics`]), '405');
  assert.equal(await code(['-I', `${srv.httpUrl}/api/v1/query?query=bravo`]), '200');
  assert.equal(await code(['-I', `${srv.httpUrl}/api/v1/query?query=(bravo`]), '400');
});
