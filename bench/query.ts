/**
 * Queries (docs/benchmarks.md, "Queries"):
 *
 *   node dist/bench/query.js [--quick] [--corpus-lines N] [--records N] [--needles K]
 *                            [--ingest N] [--only scan,needle,ingest,tail]
 *
 * 1. Scan: a realistic mixed corpus (bench/lib/corpus.ts) stored by `ringlog serve`,
 *    then counted with a full-text query whose word is in every block, so every
 *    block is read, decompressed and searched — in this process, on one thread, as a
 *    query worker does. MB/s of raw log text (the corpus bytes) per core. Baselines in
 *    the same run: zstd decompression of the same blocks alone (the floor of any scan
 *    of compressed blocks), and Buffer.indexOf of the word over the raw text.
 * 2. Needle: `ringlog bench` sends N (default 10 M) 128-byte RFC 5424 lines to a
 *    server; then K needle queries through the HTTP API for one record each
 *    (`bench@32473.seq:<its seq>`, a token that occurs once): latency p50/p99/max.
 *    Baseline in the same run: the same record found by a regular expression, which
 *    the index cannot use (every block is read).
 * 3. Ingestion under queries: records/s into the same server with no query running,
 *    then with four clients each running full-scan counts back to back, then with one
 *    live-tail subscriber (a needle query, then `bench`: a word of the host name, which
 *    a bare word does not search, so it is in no record and every batch is tested and
 *    ruled out), with what the tail skipped (too far behind) and the WAL entries it did
 *    not read.
 * 4. Live tail: a subscriber on /api/v1/tail; 200 records sent 10 ms apart, each
 *    carrying its send time; the delay until its event arrives, p50/p99/max. Baseline
 *    in the same run: the store's receive → durable latency (its metrics histogram),
 *    which every tailed record waits for first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decompressor } from 'zstd-napi';
import http from 'node:http';
import net from 'node:net';
import { startServer, sumMetric, type RinglogServer } from './lib/server.js';
import { commandLine, fmtInt, formatTable, runLoadgen, sampleQuantile, sendBuffer, sleep } from './lib/harness.js';
import { outputRecords } from './lib/measure.js';
import { corpusBuffer } from './lib/corpus.js';
import { StoreReader, newStats } from '../src/store/store-reader.js';
import { runJob } from '../src/query/jobs.js';
import { parseQuery } from '../src/query/parser.js';
import { listPartitions, listSegments } from '../src/store/partition.js';
import { readIndex, segmentPaths, readFileOrNull } from '../src/store/segment.js';
import { BLOCK_HEADER_SIZE } from '../src/store/block-header.js';

interface Args {
  corpusLines: number;
  records: number;
  needles: number;
  ingest: number;
  only: string[];
}

function usage(msg?: string): never {
  if (msg) process.stderr.write(`query: ${msg}\n`);
  process.stderr.write('usage: node dist/bench/query.js [--quick] [--corpus-lines N] [--records N] [--needles K] [--ingest N] [--only scan,needle,ingest,tail]\n');
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { corpusLines: 2_000_000, records: 10_000_000, needles: 20, ingest: 3_000_000, only: [] };
  const int = (v: string | undefined) => {
    const n = Number(v?.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) usage('counts are whole numbers ≥ 1');
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    switch (k) {
      case '--quick': Object.assign(a, { corpusLines: 300_000, records: 1_000_000, needles: 10, ingest: 1_000_000 }); break;
      case '--corpus-lines': a.corpusLines = int(argv[++i]); break;
      case '--records': a.records = int(argv[++i]); break;
      case '--needles': a.needles = int(argv[++i]); break;
      case '--ingest': a.ingest = int(argv[++i]); break;
      case '--only': a.only.push(...(argv[++i] ?? usage('--only needs scan, needle, ingest or tail')).split(',')); break;
      case '--help': case '-h': usage(); break;
      default: usage(`unknown argument ${k}`);
    }
  }
  return a;
}

const SERVER_ARGS = ['--fsync', 'always', '--retention-age', '0'];

async function waitStored(srv: RinglogServer, n: number): Promise<void> {
  while (outputRecords(await srv.metrics(), 'store') < n) await sleep(50);
}

/** Every block of a store, compressed, for the decompression baseline. */
function blocksOf(dataDir: string): Buffer[] {
  const out: Buffer[] = [];
  for (const p of listPartitions(path.join(dataDir, 'store', 'partitions'))) {
    for (const no of listSegments(p.path)) {
      const sp = segmentPaths(p.path, no);
      const seg = readFileOrNull(sp.seg);
      const idx = readFileOrNull(sp.idx);
      if (!seg || !idx) continue;
      for (const e of readIndex(idx).entries) out.push(seg.subarray(e.segOffset + BLOCK_HEADER_SIZE, e.segOffset + BLOCK_HEADER_SIZE + e.header.compLen));
    }
  }
  return out;
}

// ── 1. scan ──────────────────────────────────────────────────────────────────

async function scan(a: Args): Promise<string[][]> {
  process.stderr.write(`scan: generating ${fmtInt(a.corpusLines)} mixed lines…\n`);
  const { buf, lines, bytes } = corpusBuffer({ kind: 'mixed', count: a.corpusLines, seed: 11 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringlog-query-bench-scan-'));
  const dataDir = path.join(dir, 'data');
  try {
    const srv = await startServer({ dataDir, output: [], args: SERVER_ARGS });
    await sendBuffer(srv.address('tcp').port, buf, 4);
    await waitStored(srv, lines);
    await srv.stop();
    const reader = StoreReader.open(dataDir);
    const blocks = blocksOf(dataDir);
    // A word in every block that few records hold: the whole store is searched, little is counted.
    let word = '';
    let count = 0;
    let stats = newStats();
    let seconds = Infinity;
    for (const w of ['timeout', 'error', 'failed', 'GET']) {
      const job = { kind: 'count' as const, root: parseQuery(w).root };
      const st = newStats();
      const r = await runJob(reader, job, { check() {}, emit() {} });
      Object.assign(st, r.stats);
      if (st.read === st.blocks) {
        word = w;
        // Best of three: the first run also warms the page cache.
        for (let k = 0; k < 3; k++) {
          const t0 = performance.now();
          const again = await runJob(reader, job, { check() {}, emit() {} });
          seconds = Math.min(seconds, (performance.now() - t0) / 1000);
          count = (again as { count: number }).count;
          stats = again.stats;
        }
        break;
      }
    }
    if (word === '') throw new Error('no candidate word occurs in every block');
    const dec = new Decompressor();
    let decSeconds = Infinity;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      for (const b of blocks) dec.decompress(b);
      decSeconds = Math.min(decSeconds, (performance.now() - t0) / 1000);
    }
    let idxSeconds = Infinity;
    let idxHits = 0;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      idxHits = 0;
      for (let at = buf.indexOf(word); at >= 0; at = buf.indexOf(word, at + 1)) idxHits++;
      idxSeconds = Math.min(idxSeconds, (performance.now() - t0) / 1000);
    }
    const mb = bytes / 1e6;
    return [
      ['what (one thread)', 'seconds', 'MB/s of raw text', 'vs scan', 'note'],
      [`count "${word}" over the store (every block read)`, seconds.toFixed(3), (mb / seconds).toFixed(0), '1.00', `${fmtInt(stats.read)} of ${fmtInt(stats.blocks)} blocks read, ${fmtInt(count)} matches, ${fmtInt(lines)} records`],
      ['baseline: zstd decompression of the same blocks only', decSeconds.toFixed(3), (mb / decSeconds).toFixed(0), (seconds / decSeconds).toFixed(2), 'no decoding, no search'],
      [`baseline: Buffer.indexOf("${word}") over the raw text`, idxSeconds.toFixed(3), (mb / idxSeconds).toFixed(0), (seconds / idxSeconds).toFixed(2), `${fmtInt(idxHits)} case-sensitive substring hits`],
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── 2. needle and 3. ingestion under queries ─────────────────────────────────

async function get(srv: RinglogServer, route: string, params: Record<string, string>): Promise<Record<string, unknown>> {
  const u = new URL(route, srv.httpUrl);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const res = await fetch(u);
  const text = await res.text();
  if (!res.ok) throw new Error(`${route}: HTTP ${res.status}: ${text}`);
  const last = text.trim().split('\n').pop()!;
  return JSON.parse(last) as Record<string, unknown>;
}

/** Delay from sending a record to its tail event, for `count` records sent `gapMs` apart. */
async function tailLatency(srv: RinglogServer, count: number, gapMs: number): Promise<number[]> {
  const delays: number[] = [];
  const u = new URL('/api/v1/tail?query=tailprobe', srv.httpUrl);
  let done: () => void;
  const all = new Promise<void>((r) => (done = r));
  let ready: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const req = http.get(u, (res) => {
    let buf = '';
    res.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (ev.includes('event: ready')) ready();
        const m = /tailprobe (\d+)/.exec(ev);
        if (m && ev.startsWith('data: ')) {
          delays.push(performance.timeOrigin + performance.now() - Number(m[1]) / 1000);
          if (delays.length === count) done();
        }
      }
    });
  });
  await isReady;
  const sock = net.connect(srv.address('tcp').port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  for (let k = 0; k < count; k++) {
    const sentUs = Math.round((performance.timeOrigin + performance.now()) * 1000);
    sock.write(`<134>1 ${new Date().toISOString()} bench-host tail - - - tailprobe ${sentUs}\n`);
    await sleep(gapMs);
  }
  await Promise.race([all, sleep(10_000)]);
  sock.end();
  req.destroy();
  return delays;
}

async function needleAndIngest(a: Args): Promise<{ needle: string[][]; ingest: string[][]; tail: string[][] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringlog-query-bench-needle-'));
  const srv = await startServer({ dataDir: path.join(dir, 'data'), output: [], args: SERVER_ARGS });
  const want = (p: string) => a.only.length === 0 || a.only.includes(p);
  try {
    process.stderr.write(`needle: sending ${fmtInt(a.records)} records…\n`);
    await runLoadgen(['--target', srv.target('tcp'), '--connections', '8', '--messages', String(a.records)]);
    await waitStored(srv, a.records);
    await sleep(1000);
    let needle: string[][] = [];
    if (want('needle')) {
      const seqOf = (k: number) => String(Math.floor(((k + 0.5) / a.needles) * a.records)).padStart(9, '0');
      const idx: number[] = [];
      const res: string[] = [];
      let blocks = 0;
      let read = 0;
      for (let k = 0; k < a.needles; k++) {
        const t0 = performance.now();
        const meta = (await get(srv, '/api/v1/query', { query: `bench@32473.seq:${seqOf(k)}`, limit: '10' }))._meta as { matched: number; stats: { blocks: number; read: number } };
        idx.push(performance.now() - t0);
        if (meta.matched !== 1) res.push(`seq ${seqOf(k)}: ${meta.matched} matches`);
        blocks = meta.stats.blocks;
        read = Math.max(read, meta.stats.read);
      }
      const scanMs: number[] = [];
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        const meta = (await get(srv, '/api/v1/query', { query: `bench@32473.seq:/^${seqOf(k)}$/`, limit: '10' }))._meta as { matched: number };
        scanMs.push(performance.now() - t0);
        if (meta.matched !== 1) res.push(`regex ${seqOf(k)}: ${meta.matched} matches`);
      }
      const p50 = sampleQuantile(idx, 0.5);
      needle = [
        ['query', 'runs', 'p50 ms', 'p99 ms', 'max ms', 'vs indexed p50', 'note'],
        [`needle bench@32473.seq:<seq> over ${fmtInt(a.records)} records`, String(idx.length), p50.toFixed(1), sampleQuantile(idx, 0.99).toFixed(1), Math.max(...idx).toFixed(1), '1.00', `${fmtInt(blocks)} blocks, at most ${read} read${res.length ? `; ${res.join('; ')}` : ''}`],
        ['baseline: the same record by regex (the index cannot help)', String(scanMs.length), sampleQuantile(scanMs, 0.5).toFixed(1), '', Math.max(...scanMs).toFixed(1), (sampleQuantile(scanMs, 0.5) / p50).toFixed(1), 'every block read'],
      ];
    }
    let ingest: string[][] = [];
    if (want('ingest')) {
      const rate = async (label: string) => {
        process.stderr.write(`ingest: ${label}…\n`);
        const before = outputRecords(await srv.metrics(), 'store');
        const t0 = performance.now();
        await runLoadgen(['--target', srv.target('tcp'), '--connections', '8', '--messages', String(a.ingest)]);
        await waitStored(srv, before + a.ingest);
        return a.ingest / ((performance.now() - t0) / 1000);
      };
      const alone = await rate('no queries');
      let stop = false;
      let queries = 0;
      const loops = Array.from({ length: 4 }, async (_, k) => {
        while (!stop) {
          await get(srv, '/api/v1/count', { query: ['alpha', 'bench-host', 'ringlog', 'x'][k]! });
          queries++;
        }
      });
      const busy = await rate('four query clients');
      stop = true;
      await Promise.all(loops);
      const tailed = async (query: string) => {
        const m0 = await srv.metrics();
        const u = new URL('/api/v1/tail', srv.httpUrl);
        u.searchParams.set('query', query);
        const req = http.get(u, (res) => res.resume());
        req.on('error', () => {});
        await sleep(500);
        const r = await rate(`a live-tail subscriber (${query})`);
        req.destroy();
        const m1 = await srv.metrics();
        const d = (name: string) => sumMetric(m1, name) - sumMetric(m0, name);
        return { r, skipped: d('ringlog_tail_missed_total'), entries: d('ringlog_tail_missed_entries_total') };
      };
      const needleTail = await tailed('bench@32473.seq:000000123');
      const wordTail = await tailed('bench');
      const alone2 = await rate('no queries again');
      const base = (alone + alone2) / 2;
      const tailNote = (t: { skipped: number; entries: number }) => `; the tail skipped ${fmtInt(t.skipped)} records, did not read ${fmtInt(t.entries)} WAL entries`;
      ingest = [
        ['ingestion (ringlog bench → ringlog serve, store, fsync always)', 'records/s', 'vs no queries'],
        ['no queries (mean of before and after)', fmtInt(base), '1.00'],
        [`4 clients running full-scan counts back to back (${queries} done)`, fmtInt(busy), (busy / base).toFixed(2)],
        [`1 live-tail subscriber, a needle query${tailNote(needleTail)}`, fmtInt(needleTail.r), (needleTail.r / base).toFixed(2)],
        [`1 live-tail subscriber, query bench (matches no record)${tailNote(wordTail)}`, fmtInt(wordTail.r), (wordTail.r / base).toFixed(2)],
      ];
    }
    let tail: string[][] = [];
    if (want('tail')) {
      process.stderr.write('tail: 200 records, 10 ms apart…\n');
      const hist = async () => {
        const m = await srv.metrics();
        return { n: sumMetric(m, 'ringlog_store_durable_latency_seconds_count'), sum: sumMetric(m, 'ringlog_store_durable_latency_seconds_sum') };
      };
      const h0 = await hist();
      const d = await tailLatency(srv, 200, 10);
      const h1 = await hist();
      const durableMs = ((h1.sum - h0.sum) / Math.max(1, h1.n - h0.n)) * 1000;
      tail = [
        ['what', 'records', 'p50 ms', 'p99 ms', 'max ms', 'note'],
        ['send → tail event (SSE) on a subscriber', `${d.length} of 200`, sampleQuantile(d, 0.5).toFixed(1), sampleQuantile(d, 0.99).toFixed(1), Math.max(...d).toFixed(1), 'tail.pollInterval 25 ms'],
        ['baseline: receive → durable (store metrics, mean)', '', durableMs.toFixed(1), '', '', 'a record is tailed once durable'],
      ];
    }
    return { needle, ingest, tail };
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const want = (p: string) => a.only.length === 0 || a.only.includes(p);
  process.stdout.write(`$ ${commandLine()}\nnode ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'})\n\n`);
  if (want('scan')) {
    process.stdout.write(`1. Scan throughput, ${fmtInt(a.corpusLines)}-line mixed corpus:\n${formatTable(await scan(a))}\n`);
  }
  if (want('needle') || want('ingest') || want('tail')) {
    const r = await needleAndIngest(a);
    if (r.needle.length) process.stdout.write(`2. Needle queries through the HTTP API:\n${formatTable(r.needle)}\n`);
    if (r.ingest.length) process.stdout.write(`3. Ingestion while queries run (${fmtInt(a.ingest)} records per run, 8 connections):\n${formatTable(r.ingest)}\n`);
    if (r.tail.length) process.stdout.write(`4. Live tail latency (the store holding ${fmtInt(a.records)} records):\n${formatTable(r.tail)}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
