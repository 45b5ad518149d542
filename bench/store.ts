/**
 * The store, end to end (docs/benchmarks.md, "Store"):
 *
 *   node dist/bench/store.js [--quick] [--messages N] [--connections C] [--repeat R]
 *                            [--corpus-lines N] [--level L] [--block-size SIZE] [--latency-seconds S]
 *                            [--only throughput,latency,corpus] [--store-only] [--latency-rate N] [--wal-prepare-baseline]
 *                            [--seal-thread-baseline] [--parse-thread-baseline]
 *
 * 1. Throughput: `ringlog bench` (its own process) sends N 128-byte RFC 5424 lines over
 *    C connections into a fresh `ringlog serve`, parsed, indexed, compressed and
 *    durable (--fsync always: acknowledged = fdatasync'd), against, in the same run,
 *    the same server writing only the NDJSON output (--no-store), and only the null
 *    output (the edge alone). Rate = N / (sender's start → the server's own time of the
 *    last ack, i.e. ringlog_output_last_write_timestamp_seconds{output="store"}).
 *    N is 12 million by default, five to six seconds into the store: sustained, in that
 *    neither the server's start (V8 compiling its hot code, the first WAL files) nor the
 *    records still on their way into blocks at the last ack (up to store.maxPending) is
 *    more than a few percent of the run. The "first 4 M" column is the same runs' rate
 *    over their first 4 million records: the server cold.
 * 2. Receive → durable latency at half the store's maximum rate: p50/p99 from the
 *    ringlog_store_durable_latency_seconds histogram (per batch of records read together).
 * 3. Compression: a realistic mixed corpus (bench/lib/corpus.ts: syslog, nginx via
 *    syslog, JSON application logs) sent over TCP into the store, then the bytes of
 *    the segment (.seg) and index (.idx) files against the corpus bytes; baseline in
 *    the same run: zstd of the raw text in 1 MiB chunks at the same level.
 * 4. Needle queries on that store: 100 tokens that occur once in the corpus; the share of
 *    blocks the index lets a query skip without reading them (mean and minimum), and the
 *    token filters' false-positive rate (blocks read that do not hold the needle).
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Compressor } from 'zstd-napi';
import { startServer, sumMetric, type MetricSample } from './lib/server.js';
import { commandLine, fmtInt, fmtMiB, formatTable, runLoadgen, sendBuffer, sleep } from './lib/harness.js';
import { histogram, machineCpu, measureServerRun, outputRecords, processCpuShare, quantile, threadCpu, type ServerRun } from './lib/measure.js';
import { corpusBuffer } from './lib/corpus.js';
import { StoreReader, newStats } from '../src/store/store-reader.js';

interface Args {
  quick: boolean;
  messages: number;
  connections: number;
  repeat: number;
  corpusLines: number;
  level: number;
  latencySeconds: number;
  timeoutSec: number;
  blockSize: string;
  /** Run only these parts (throughput, latency, corpus); all when empty. */
  only: string[];
  /** Throughput: the store alone, without the NDJSON and null baselines. */
  storeOnly: boolean;
  /** Latency at this rate instead of half the measured maximum (then throughput is not measured for it). */
  latencyRate: number;
  /** Latency: also with store.walPrepare off, in the same run (the baseline for prepared WAL files). */
  walPrepareBaseline: boolean;
  /** Also measure throughput with store.sealThread off (blocks sealed by the store worker itself). */
  sealThreadBaseline: boolean;
  /** Also measure throughput with both helper threads on, the seal thread only, and both off (whatever `auto` chooses here). */
  parseThreadBaseline: boolean;
}

function usage(msg?: string): never {
  if (msg) process.stderr.write(`store: ${msg}\n`);
  process.stderr.write('usage: node dist/bench/store.js [--quick] [--messages N] [--connections C] [--repeat R] [--corpus-lines N] [--level L] [--latency-seconds S]\n');
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, messages: 12_000_000, connections: 8, repeat: 3, corpusLines: 2_000_000, level: 5, latencySeconds: 8, timeoutSec: 300, blockSize: '8MiB', only: [], storeOnly: false, latencyRate: 0, walPrepareBaseline: false, sealThreadBaseline: false, parseThreadBaseline: false };
  const set = new Set<string>();
  const int = (name: string, v: string | undefined, min = 1) => {
    const n = Number(v?.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min) usage(`${name} needs an integer ≥ ${min}`);
    set.add(name);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    switch (k) {
      case '--quick': a.quick = true; break;
      case '--messages': a.messages = int(k, argv[++i]); break;
      case '--connections': a.connections = int(k, argv[++i]); break;
      case '--repeat': a.repeat = int(k, argv[++i]); break;
      case '--corpus-lines': a.corpusLines = int(k, argv[++i]); break;
      case '--level': a.level = int(k, argv[++i], -7); break;
      case '--latency-seconds': a.latencySeconds = int(k, argv[++i]); break;
      case '--block-size': a.blockSize = argv[++i] ?? usage('--block-size needs a size'); break;
      case '--only': a.only.push(...(argv[++i] ?? usage('--only needs throughput, latency or corpus')).split(',')); break;
      case '--store-only': a.storeOnly = true; break;
      case '--latency-rate': a.latencyRate = int(k, argv[++i]); break;
      case '--wal-prepare-baseline': a.walPrepareBaseline = true; break;
      case '--seal-thread-baseline': a.sealThreadBaseline = true; break;
      case '--parse-thread-baseline': a.parseThreadBaseline = true; break;
      case '--help': case '-h': usage(); break;
      default: usage(`unknown argument ${k}`);
    }
  }
  if (a.quick) {
    if (!set.has('--messages')) a.messages = 1_000_000;
    if (!set.has('--repeat')) a.repeat = 1;
    if (!set.has('--corpus-lines')) a.corpusLines = 400_000;
    if (!set.has('--latency-seconds')) a.latencySeconds = 4;
  }
  return a;
}

/** The "first 4 M" column: the rate over a run's first records, the server cold. */
const COLD_MARK = 4_000_000;

function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((x, y) => x - y);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

function tmpDir(tag: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `ringlog-store-bench-${tag}-`));
}

// ── 1. throughput ────────────────────────────────────────────────────────────

interface Target {
  name: string;
  outputs: (dir: string) => string[];
  serverArgs: string[];
  count: string;
}

async function throughput(a: Args): Promise<{ rows: string[][]; storeRate: number; others: string[] }> {
  const size = 128;
  const targets: Target[] = [
    { name: 'store (fsync always)', outputs: () => [], serverArgs: ['--fsync', 'always', '--compression-level', String(a.level), '--block-size', a.blockSize, '--retention-age', '0'], count: 'store' },
    { name: 'NDJSON output only', outputs: (d) => [`ndjson:${path.join(d, 'out.ndjson')}`], serverArgs: ['--no-store'], count: 'ndjson' },
    { name: 'null output (edge only)', outputs: () => ['null'], serverArgs: ['--no-store'], count: 'null' },
  ];
  if (a.storeOnly) targets.splice(1);
  const configDir = a.walPrepareBaseline || a.sealThreadBaseline || a.parseThreadBaseline ? mkdtempSync(path.join(os.tmpdir(), 'ringlog-bench-store-cfg-')) : null;
  /** The store row with more server arguments (a configuration file) first. */
  const storeWith = (name: string, args: string[]): Target => ({ ...targets[0]!, name, serverArgs: [...args, ...targets[0]!.serverArgs] });
  if (configDir !== null && a.parseThreadBaseline) {
    targets.splice(1, 0,
      storeWith('store, parse+seal threads on', storeConfig(configDir, 'threads-on', { parseThread: true, sealThread: true })),
      storeWith('store, seal thread only', storeConfig(configDir, 'seal-only', { parseThread: false, sealThread: true })),
      storeWith('store, parse+seal threads off', storeConfig(configDir, 'threads-off', { parseThread: false, sealThread: false })));
  }
  if (configDir !== null && a.sealThreadBaseline) targets.splice(1, 0, storeWith('store, sealThread off', storeConfig(configDir, 'seal-thread-off', { sealThread: false })));
  if (configDir !== null && a.walPrepareBaseline) targets.splice(1, 0, storeWith('store, walPrepare off', walPrepareOff(configDir)));
  const runs = new Map<string, ServerRun[]>();
  try {
    for (let r = 1; r <= a.repeat; r++) {
      for (const t of targets) {
        process.stderr.write(`throughput [${r}/${a.repeat}]: ${t.name}…\n`);
        const dir = tmpDir('tp');
        try {
          const run = await measureServerRun({
            dataDir: path.join(dir, 'data'), outputs: t.outputs(dir), serverArgs: t.serverArgs, countOutput: t.count,
            loadgenArgs: ['--connections', String(a.connections), '--messages', String(a.messages), '--size', String(size)],
            messages: a.messages, timeoutSec: a.timeoutSec, markAt: a.messages > COLD_MARK ? COLD_MARK : undefined,
          });
          runs.set(t.name, [...(runs.get(t.name) ?? []), run]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    if (configDir !== null) rmSync(configDir, { recursive: true, force: true });
  }
  const rows: string[][] = [['target', 'records/s', 'MB/s', 'vs NDJSON', 'vs null', 'first 4 M: records/s', 'CPU ns/rec: loop+store+other', 'disk B/rec', 'peak RSS', 'sender msgs/s', 'note']];
  const rate = (name: string) => median((runs.get(name) ?? []).map((x) => x.msgsPerSec));
  for (const t of targets) {
    const rs = runs.get(t.name) ?? [];
    const m = rate(t.name);
    const rates = rs.map((x) => x.msgsPerSec);
    const notes = [...new Set(rs.flatMap((x) => x.notes))];
    if (rs.length > 1) notes.unshift(`median of ${rs.length} (${fmtInt(Math.min(...rates))}..${fmtInt(Math.max(...rates))})`);
    rows.push([
      t.name, fmtInt(m), ((m * size) / 1e6).toFixed(1),
      ...['NDJSON output only', 'null output (edge only)'].map((base) => (runs.has(base) ? (m / rate(base)).toFixed(2) : '—')),
      fmtInt(median(rs.map((x) => (x.markSeconds ? COLD_MARK / x.markSeconds : NaN)))),
      cpuColumn(rs),
      diskColumn(rs),
      fmtMiB(Math.max(...rs.map((x) => x.peakRssKb ?? 0))),
      fmtInt(median(rs.map((x) => x.sender?.msgsPerSec ?? NaN))), notes.join(', '),
    ]);
  }
  // What "other" is made of, per thread name (libuv pool, V8 workers…), per target.
  const others: string[] = [];
  for (const t of targets) {
    const cs = (runs.get(t.name) ?? []).map((x) => x.cpuNsPerRecord).filter((x) => x !== null);
    const names = [...new Set(cs.flatMap((c) => [...c.otherByName.keys()]))];
    const parts = names
      .map((n) => [n, Math.round(median(cs.map((c) => c.otherByName.get(n) ?? 0)))] as const)
      .filter(([, v]) => v > 0)
      .sort((x, y) => y[1] - x[1]);
    if (parts.length > 0) others.push(`  ${t.name}: ${parts.map(([n, v]) => `${n} ${v}`).join(', ')}`);
  }
  return { rows, storeRate: rate('store (fsync always)'), others };
}

/** Median per-thread CPU per record over the runs: event loop + store worker + other threads (pool, GC). */
function cpuColumn(rs: ServerRun[]): string {
  const cs = rs.map((x) => x.cpuNsPerRecord).filter((x) => x !== null);
  if (cs.length === 0) return '—';
  const m = (f: (c: NonNullable<ServerRun['cpuNsPerRecord']>) => number) => Math.round(median(cs.map(f)));
  return `${m((c) => c.loop)}+${m((c) => c.store)}+${m((c) => c.other)} = ${m((c) => c.loop + c.store + c.other)}`;
}

/** Median bytes written to the disk per record over the runs. */
function diskColumn(rs: ServerRun[]): string {
  const ds = rs.map((x) => x.diskBytesPerRecord).filter((x) => x !== null);
  return ds.length === 0 ? '—' : String(Math.round(median(ds)));
}

// ── 2. latency at half load ──────────────────────────────────────────────────

/** WAL files the server opened since its start, by how (ringlog_store_wal_files_opened). */
function filesOpened(samples: MetricSample[]): string {
  const n = (kind: string) => samples.find((x) => x.name === 'ringlog_store_wal_files_opened' && x.labels.kind === kind)?.value ?? 0;
  return `${n('prepared')} (${n('recycled')}) / ${n('grown')}`;
}

/** Server arguments that set store options: a configuration file `name`.json written in `dir`. */
function storeConfig(dir: string, name: string, store: Record<string, unknown>): string[] {
  const config = path.join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ store }));
  return ['--config', config];
}

/** Server arguments that turn store.walPrepare off. */
function walPrepareOff(dir: string): string[] {
  return storeConfig(dir, 'wal-prepare-off', { walPrepare: false });
}

async function latency(a: Args, maxRate: number, walPrepare = true): Promise<string[]> {
  const rate = a.latencyRate > 0 ? a.latencyRate : Math.round(maxRate / 2);
  const dir = tmpDir('lat');
  const srv = await startServer({ dataDir: path.join(dir, 'data'), output: [], args: [...(walPrepare ? [] : walPrepareOff(dir)), '--fsync', 'always', '--compression-level', String(a.level), '--block-size', a.blockSize, '--retention-age', '0'] });
  try {
    const name = 'ringlog_store_durable_latency_seconds';
    // Warm up for a second, then measure.
    await runLoadgen(['--target', srv.target('tcp'), '--connections', String(a.connections), '--rate', String(rate), '--duration', '1']);
    const m0 = await srv.metrics();
    const before = histogram(m0, name);
    const syncBefore = histogram(m0, 'ringlog_store_wal_sync_seconds');
    const cpu0 = threadCpu(srv.pid);
    const machine0 = machineCpu();
    const t0 = performance.now();
    const sender = await runLoadgen(['--target', srv.target('tcp'), '--connections', String(a.connections), '--rate', String(rate), '--duration', String(a.latencySeconds)]);
    const seconds = (performance.now() - t0) / 1000;
    const serverCpu = processCpuShare(cpu0, threadCpu(srv.pid), seconds);
    const machine1 = machineCpu();
    const busy = machine0 && machine1 ? (machine1.busy - machine0.busy) / (machine1.total - machine0.total) : NaN;
    const want = sumMetric(await srv.metrics(), 'ringlog_received_frames_total');
    for (let i = 0; i < 200 && outputRecords(await srv.metrics(), 'store') < want; i++) await sleep(25);
    const samples = await srv.metrics();
    const after = histogram(samples, name);
    const syncAfter = histogram(samples, 'ringlog_store_wal_sync_seconds');
    const syncs = sumMetric(samples, 'ringlog_store_wal_syncs_total');
    const ms = (x: number) => `${(x * 1000).toFixed(2)} ms`;
    return [walPrepare ? 'prepared (default)' : 'walPrepare off',
      a.latencyRate > 0 ? `${fmtInt(rate)}/s (--latency-rate)` : `${fmtInt(rate)}/s (half of ${fmtInt(maxRate)})`, `${fmtInt(sender.msgsPerSec)}/s`,
        ...[0.5, 0.9, 0.99, 0.999].map((q) => ms(quantile(before, after, q))), fmtInt(syncs),
        `${ms(quantile(syncBefore, syncAfter, 0.5))} / ${ms(quantile(syncBefore, syncAfter, 0.99))}`,
        filesOpened(samples),
        `${(serverCpu * 100).toFixed(0)}% of a core`, `${(busy * 100).toFixed(0)}% of ${os.cpus().length} cores`];
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── 3. compression and 4. needle queries ─────────────────────────────────────

/** Needle queries run on the corpus's store (the first five are shown one by one). */
const NEEDLES = 100;

function filesBytes(root: string, ext: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith(ext)) total += st.size;
    }
  };
  walk(root);
  return total;
}

async function corpus(a: Args): Promise<{ compression: string[][]; needles: string[][] }> {
  process.stderr.write(`corpus: generating ${fmtInt(a.corpusLines)} mixed lines…\n`);
  const { buf, lines, bytes } = corpusBuffer({ kind: 'mixed', count: a.corpusLines, seed: 7 });
  // Baseline: zstd of the raw text, 1 MiB at a time, same level.
  const c = new Compressor();
  c.setParameters({ compressionLevel: a.level });
  let zstdBytes = 0;
  const t0 = performance.now();
  for (let off = 0; off < buf.length; off += 1 << 20) zstdBytes += c.compress(buf.subarray(off, Math.min(buf.length, off + (1 << 20)))).length;
  const zstdSeconds = (performance.now() - t0) / 1000;

  const dir = tmpDir('corpus');
  const dataDir = path.join(dir, 'data');
  try {
    const srv = await startServer({ dataDir, output: [], args: ['--fsync', 'always', '--compression-level', String(a.level), '--block-size', a.blockSize, '--retention-age', '0'] });
    process.stderr.write('corpus: sending it to ringlog serve…\n');
    const t1 = performance.now();
    await sendBuffer(srv.address('tcp').port, buf, 4);
    for (;;) {
      if (outputRecords(await srv.metrics(), 'store') >= lines) break;
      await sleep(50);
    }
    const ingestSeconds = (performance.now() - t1) / 1000;
    const samples = await srv.metrics();
    const parseErrors = sumMetric(samples, 'ringlog_parse_errors_total');
    await srv.stop(); // commits the last blocks
    const root = path.join(dataDir, 'store', 'partitions');
    const seg = filesBytes(root, '.seg');
    const idx = filesBytes(root, '.idx');
    const compression = [
      ['what', 'bytes', 'bytes/record', 'ratio (corpus ÷ bytes)'],
      [`corpus: ${fmtInt(lines)} lines (syslog 40%, nginx 30%, JSON 30%)`, fmtInt(bytes), (bytes / lines).toFixed(1), '1.00'],
      [`baseline: zstd -${a.level} of the raw text, 1 MiB chunks (${(bytes / 1e6 / zstdSeconds).toFixed(0)} MB/s)`, fmtInt(zstdBytes), (zstdBytes / lines).toFixed(1), (bytes / zstdBytes).toFixed(2)],
      ['store: blocks (.seg: columns, zstd, headers)', fmtInt(seg), (seg / lines).toFixed(1), (bytes / seg).toFixed(2)],
      ['store: index (.idx: headers, token filters)', fmtInt(idx), (idx / lines).toFixed(1), (bytes / idx).toFixed(2)],
      ['store: total on disk (.seg + .idx)', fmtInt(seg + idx), ((seg + idx) / lines).toFixed(1), (bytes / (seg + idx)).toFixed(2)],
      [`(ingest: ${(lines / ingestSeconds / 1e3).toFixed(0)}k records/s over 4 connections, ${fmtInt(parseErrors)} parse errors)`, '', '', ''],
    ];

    // Needles: long hex tokens of random lines that occur exactly once in the corpus.
    // Many of them: one needle reads 1-3 of some 50 blocks, so a handful says little
    // about the index's false-positive rate; the summary row is over all of them.
    const rand = (() => {
      let s = 12345;
      return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    })();
    const needles: string[] = [];
    for (let tries = 0; tries < 20_000 && needles.length < NEEDLES; tries++) {
      const at = Math.floor(rand() * buf.length);
      const lineStart = buf.lastIndexOf(0x0a, at) + 1;
      const lineEnd = buf.indexOf(0x0a, at);
      const line = buf.toString('utf8', lineStart, lineEnd);
      const tok = /\b[0-9a-f]{16,}\b/.exec(line)?.[0];
      if (!tok || needles.includes(tok)) continue;
      const first = buf.indexOf(tok);
      if (buf.indexOf(tok, first + 1) < 0) needles.push(tok);
    }
    const reader = StoreReader.open(dataDir);
    const rows: string[][] = [['needle (occurs once)', 'blocks', 'skipped by index', 'read', 'skipped %', 'found', 'ms']];
    const skipped: number[] = [];
    let blocks = 0;
    let falseReads = 0;
    let otherBlocks = 0;
    let ms = 0;
    for (const n of needles) {
      const stats = newStats();
      const t = performance.now();
      let found = 0;
      for (const _ of reader.scan({ words: [n], limit: Infinity }, stats)) found++;
      const took = performance.now() - t;
      const pct = (100 * (stats.skippedByIndex + stats.skippedByTime)) / Math.max(1, stats.blocks);
      skipped.push(pct);
      blocks = stats.blocks;
      // The block holding the needle must be read; every other read is a token-filter false positive.
      falseReads += stats.read - Math.min(found, 1);
      otherBlocks += stats.blocks - 1;
      ms += took;
      if (rows.length <= 5) rows.push([n, fmtInt(stats.blocks), fmtInt(stats.skippedByIndex), fmtInt(stats.read), pct.toFixed(1), String(found), took.toFixed(0)]);
    }
    const mean = skipped.reduce((x, y) => x + y, 0) / Math.max(1, skipped.length);
    rows.push([`all ${needles.length} needles: mean (min)`, fmtInt(blocks), '', '', `${mean.toFixed(1)} (${Math.min(...skipped).toFixed(1)})`, '', (ms / Math.max(1, needles.length)).toFixed(0)]);
    rows.push([`  ${skipped.filter((x) => x >= 95).length} of ${needles.length} needles skipped ≥ 95%; filter false positives: ${fmtInt(falseReads)} of ${fmtInt(otherBlocks)} other blocks (${((100 * falseReads) / Math.max(1, otherBlocks)).toFixed(2)}%)`, '', '', '', '', '', '']);
    return { compression, needles: rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  process.stdout.write(`$ ${commandLine()}\n`);
  process.stdout.write(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), zstd level ${a.level}, blocks of ${a.blockSize}, load generator on the same machine\n\n`);
  const want = (part: string) => a.only.length === 0 || a.only.includes(part);
  let storeRate = NaN;
  if (want('throughput') || (want('latency') && a.latencyRate === 0)) {
    const tp = await throughput(a);
    storeRate = tp.storeRate;
    process.stdout.write(`1. Throughput, end to end (ringlog bench → ringlog serve), ${fmtInt(a.messages)} × 128-byte RFC 5424 lines over ${a.connections} connections:\n`);
    process.stdout.write(formatTable(tp.rows));
    process.stdout.write('records/s = records / (sender\'s start → the server\'s last write; for the store: the last ack, i.e. fdatasync of the WAL).\n');
    if (a.messages > COLD_MARK) process.stdout.write(`first 4 M = the same runs over their first ${fmtInt(COLD_MARK)} records (the server cold: V8 still compiling its hot code).\n`);
    if (tp.others.length > 0) process.stdout.write(`"other" CPU ns/rec by thread name:\n${tp.others.join('\n')}\n`);
    process.stdout.write('\n');
  }
  if (want('latency')) {
    const lat = [['WAL files', 'offered rate', 'achieved', 'p50', 'p90', 'p99', 'p99.9', 'WAL fsyncs', 'WAL write+sync p50 / p99', 'files opened: prepared (recycled) / grown', 'server CPU', 'machine busy']];
    // Alternating, so that drift on the machine hits both alike.
    for (let r = 0; r < (a.walPrepareBaseline ? 2 : 1); r++) {
      lat.push(await latency(a, storeRate));
      if (a.walPrepareBaseline) lat.push(await latency(a, storeRate, false));
    }
    process.stdout.write(`2. Receive → durable at half the store's maximum rate, ${a.latencySeconds} s (per batch of records read together):\n`);
    process.stdout.write(formatTable(lat));
    process.stdout.write('\n');
  }
  if (!want('corpus')) return;
  const cp = await corpus(a);
  process.stdout.write('3. Compression on a realistic mixed corpus (bench/lib/corpus.ts):\n');
  process.stdout.write(formatTable(cp.compression));
  process.stdout.write('\n4. Needle queries on that store (ringlog query WORD; words use the token filters):\n');
  process.stdout.write(formatTable(cp.needles));
}

main().catch((err) => {
  process.stderr.write(`store: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
