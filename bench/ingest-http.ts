/**
 * HTTP ingest (docs/benchmarks.md, "HTTP ingest"):
 *
 *   node dist/bench/ingest-http.js [--quick] [--records N] [--clients C] [--batch B] [--latency-seconds S] [--latency-rate R]
 *                                  [--config FILE]
 *
 * 1. Throughput: C keep-alive clients (default 10) POST B-line NDJSON bodies
 *    (default 1,000 JSON lines of ~200 bytes) to /api/v1/ingest of a fresh
 *    `ringlog serve` (store, --fsync always), back to back, N records in all;
 *    records/s = N / (first request → last answer). Every answer comes after the
 *    records are durable. Baseline in the same run: `ringlog bench --format json`
 *    sending the same number of JSON lines of the same size over 8 TCP connections
 *    into a fresh server (the socket path, acknowledged by the store the same way).
 * 2. Latency at half the HTTP rate: the same clients, paced, for S seconds, once the
 *    store worker has consumed the throughput run's backlog and after a 1 s warm-up at that
 *    rate; p50/p99 of the request latency (send → answer, i.e. to durable).
 *    --latency-rate R paces the clients at R records/s instead: to compare builds
 *    at the same offered load.
 * --config FILE is passed to both servers (to compare settings, e.g. store.parseThread).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startServer, sumMetric, type MetricSample, type RinglogServer } from './lib/server.js';
import { commandLine, fmtInt, formatTable, sampleQuantile, sleep } from './lib/harness.js';
import { httpJsonLine } from './lib/sample-lines.js';
import { histogram, measureServerRun, outputRecords, quantile } from './lib/measure.js';

interface Args {
  records: number;
  clients: number;
  batch: number;
  latencySeconds: number;
  /** Records/s for the latency part; 0: half the measured HTTP rate. */
  latencyRate: number;
  /** A configuration file for both servers, or null. */
  config: string | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { records: 4_000_000, clients: 10, batch: 1000, latencySeconds: 8, latencyRate: 0, config: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const n = () => {
      const v = Number(argv[++i]?.replace(/_/g, ''));
      if (!Number.isInteger(v) || v < 1) {
        process.stderr.write(`ingest-http: ${k} needs a whole number ≥ 1\n`);
        process.exit(2);
      }
      return v;
    };
    switch (k) {
      case '--quick': Object.assign(a, { records: 1_000_000, latencySeconds: 4 }); break;
      case '--records': a.records = n(); break;
      case '--clients': a.clients = n(); break;
      case '--batch': a.batch = n(); break;
      case '--latency-seconds': a.latencySeconds = n(); break;
      case '--latency-rate': a.latencyRate = n(); break;
      case '--config': a.config = argv[++i] ?? null; break;
      default:
        process.stderr.write('usage: node dist/bench/ingest-http.js [--quick] [--records N] [--clients C] [--batch B] [--latency-seconds S] [--latency-rate R] [--config FILE]\n');
        process.exit(k === '--help' || k === '-h' ? 0 : 2);
    }
  }
  return a;
}

const LINE_BYTES = 200;
const SERVER_ARGS = ['--fsync', 'always', '--retention-age', '0'];

/** `count` NDJSON lines of about LINE_BYTES each (the LF included), varied a little. */
function body(count: number, seed: number): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(httpJsonLine(seed, i, LINE_BYTES));
  return Buffer.from(lines.join('\n') + '\n');
}

function post(agent: http.Agent, url: URL, payload: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-ndjson', 'content-length': payload.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function httpThroughput(srv: RinglogServer, a: Args, bodies: Buffer[]): Promise<number> {
  const url = new URL('/api/v1/ingest', srv.httpUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: a.clients });
  const requests = Math.ceil(a.records / a.batch);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: a.clients }, async () => {
    while (next < requests) {
      const k = next++;
      await post(agent, url, bodies[k % bodies.length]!);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return (requests * a.batch) / seconds;
}

/** Where a request's time went on the server, between two scrapes: what the client's latencies cannot say. */
function serverSide(m0: MetricSample[], m1: MetricSample[]): string[] {
  const ms = (x: number) => `${(x * 1000).toFixed(1)} ms`;
  const q = (name: string, p: number, labels: Record<string, string> = {}) => quantile(histogram(m0, name, labels), histogram(m1, name, labels), p);
  const req = 'ringlog_ingest_request_duration_seconds';
  const wal = 'ringlog_store_wal_sync_seconds';
  const gc = (x: MetricSample[], what: 'count' | 'sum') => sumMetric(x, `ringlog_nodejs_gc_duration_seconds_${what}`);
  const lag = m1.find((x) => x.name === 'ringlog_nodejs_eventloop_lag_max_seconds')?.value ?? NaN;
  return [
    `${ms(q(req, 0.5, { endpoint: 'ingest' }))} / ${ms(q(req, 0.99, { endpoint: 'ingest' }))}`,
    `${ms(q(wal, 0.5))} / ${ms(q(wal, 0.99))}`,
    `${fmtInt(gc(m1, 'count') - gc(m0, 'count'))}, ${ms(gc(m1, 'sum') - gc(m0, 'sum'))}`,
    ms(lag),
  ];
}

async function httpLatency(srv: RinglogServer, a: Args, bodies: Buffer[], rate: number): Promise<number[]> {
  const url = new URL('/api/v1/ingest', srv.httpUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: a.clients });
  const perClientInterval = (a.clients * a.batch * 1000) / rate; // ms between one client's requests
  const until = performance.now() + a.latencySeconds * 1000;
  const lat: number[] = [];
  await Promise.all(Array.from({ length: a.clients }, async (_, c) => {
    let due = performance.now() + (c * perClientInterval) / a.clients;
    let k = c;
    while (due < until) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      lat.push(await post(agent, url, bodies[k++ % bodies.length]!));
      due += perClientInterval;
    }
  }));
  agent.destroy();
  return lat;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  process.stdout.write(`$ ${commandLine()}\nnode ${process.version}, ${os.cpus().length} CPUs; ${a.clients} keep-alive clients, ${fmtInt(a.batch)} NDJSON lines of ~${LINE_BYTES} B per request, --fsync always${a.config === null ? '' : `, --config ${a.config}`}\n\n`);
  const bodies = Array.from({ length: 16 }, (_, s) => body(a.batch, s));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringlog-ingest-http-bench-'));
  const serverArgs = a.config === null ? SERVER_ARGS : [...SERVER_ARGS, '--config', path.resolve(a.config)];
  try {
    process.stderr.write('baseline: the TCP socket path…\n');
    const tcp = await measureServerRun({
      dataDir: path.join(dir, 'tcp'), outputs: [], serverArgs, countOutput: 'store',
      loadgenArgs: ['--connections', '8', '--messages', String(a.records), '--format', 'json', '--size', String(LINE_BYTES)],
      messages: a.records, timeoutSec: 600,
    });
    process.stderr.write('HTTP: throughput…\n');
    const srv = await startServer({ dataDir: path.join(dir, 'http'), output: [], args: serverArgs });
    let rate: number;
    let lat: number[];
    let latRate: number;
    let server: string[];
    try {
      rate = await httpThroughput(srv, a, bodies);
      const stored = outputRecords(await srv.metrics(), 'store');
      if (stored < Math.ceil(a.records / a.batch) * a.batch) throw new Error(`only ${stored} records durable after every answer`);
      // Steady state, not the tail of the throughput run: the store worker's backlog
      // consumed first (built into blocks), then a second at the paced rate that is not counted.
      let waits = 0;
      while ((await srv.metric('ringlog_store_pending_bytes')) > 0) {
        if (++waits > 600) {
          process.stderr.write('HTTP: the store still had a backlog after 30 s; measuring latency anyway\n');
          break;
        }
        await sleep(50);
      }
      latRate = a.latencyRate > 0 ? a.latencyRate : rate / 2;
      process.stderr.write(`HTTP: latency at ${fmtInt(latRate)} records/s…\n`);
      await httpLatency(srv, { ...a, latencySeconds: 1 }, bodies, latRate);
      const m0 = await srv.metrics();
      lat = await httpLatency(srv, a, bodies, latRate);
      server = serverSide(m0, await srv.metrics());
    } finally {
      await srv.stop();
    }
    process.stdout.write(`1. Throughput, ${fmtInt(a.records)} records:\n${formatTable([
      ['path', 'records/s', 'MB/s', 'vs TCP'],
      [`HTTP POST /api/v1/ingest (${a.clients} clients × ${a.batch}-line NDJSON)`, fmtInt(rate), ((rate * LINE_BYTES) / 1e6).toFixed(1), (rate / tcp.msgsPerSec).toFixed(2)],
      ['baseline: TCP, ringlog bench --format json, 8 connections', fmtInt(tcp.msgsPerSec), ((tcp.msgsPerSec * LINE_BYTES) / 1e6).toFixed(1), '1.00'],
    ])}\n`);
    const at = a.latencyRate > 0 ? `at ${fmtInt(latRate)} records/s (--latency-rate)` : `at half the HTTP rate (${fmtInt(latRate)} records/s)`;
    process.stdout.write(`2. Request latency ${at}, ${a.latencySeconds} s:\n${formatTable([
      ['requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [String(lat.length), sampleQuantile(lat, 0.5).toFixed(1), sampleQuantile(lat, 0.9).toFixed(1), sampleQuantile(lat, 0.99).toFixed(1), Math.max(...lat).toFixed(1)],
    ])}\n`);
    process.stdout.write(`Server side over the same ${a.latencySeconds} s (from /metrics; histogram quantiles are interpolated within buckets):\n${formatTable([
      ['request p50 / p99', 'WAL write+sync p50 / p99', 'GC pauses (count, total)', 'event-loop delay max'],
      server,
    ])}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
