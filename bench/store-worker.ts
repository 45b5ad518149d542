/**
 * The store worker's CPU per record, in-process on one core (docs/benchmarks.md,
 * "Store worker"): node dist/bench/store-worker.js [--records N] [--reps R] [--corpus bench|varied|json|both|all] [--level L] [--no-reuse] [--copy js]
 *                                                  [--rfc5424 native|js|both] [--columns native|js|both]
 *
 * Input: WAL entries as the event loop writes them — 128-byte RFC 5424 lines, read in
 * 64 KiB chunks per connection from 8 connections in turn, framed by the LF framer into
 * batches, about 1 MiB of batches per entry (encodeEntry). Corpora:
 *
 *   bench    the lines `ringlog bench` sends (the target): one template per
 *            connection, seq numbers unique, the same filler text per connection
 *   varied   bench/parse.ts's RFC 5424 lines: 6 hosts and apps, varying pids, msgids,
 *            structured data and words
 *   json     the ~200-byte NDJSON lines bench/ingest-http.ts posts, parsed as a
 *            `json` listener (HTTP ingest) parses them (only with --corpus json or all)
 *
 * Then, per entry, what the worker does (store-worker.ts addRecords + seal): decode the
 * entry, parse each batch, append every record to its partition's BlockBuilder, seal at
 * the block target (columns, zstd, CRC, token filter). Block I/O is left out. Each phase
 * is timed on its own (process.hrtime around it); reported per record, best of R runs
 * after a warm-up, and the CPU time of the whole process over that run (which includes
 * V8's background threads: concurrent GC work that the phases' own times do not show).
 * Baseline in the same run: decoding the entries only.
 */
import { Compressor } from 'zstd-napi';
import { crc32c } from '@node-rs/crc32';
import { BLOCK_HEADER_SIZE } from '../src/store/block-header.js';
import { createFramer } from '../src/protocols/framing/index.js';
import { BatchBuilder } from '../src/pipeline/batch.js';
import { MessageTemplate } from '../src/loadgen/payload.js';
import { encodeEntry, decodeEntryBody, type StoreBatch } from '../src/store/wal-entry.js';
import { WAL_ENTRY_HEADER_SIZE } from '../src/store/consts.js';
import { Parsers } from '../src/store/parsers.js';
import { BlockBuilder } from '../src/store/block-builder.js';
import { filterBytes } from '../src/store/block-filter.js';
import { ByteWriter } from '../src/store/byte-buffer.js';
import { partitionOf } from '../src/store/partition.js';
import { httpJsonLine, rfc5424Line } from './lib/sample-lines.js';
import { setNative5424 } from '../src/protocols/formats/rfc5424-native.js';

const args = process.argv.slice(2);
function opt(name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
}
const RECORDS = Number(opt('--records', '1000000'));
const REPS = Number(opt('--reps', '5'));
const LEVEL = Number(opt('--level', '5'));
/** `--copy js`: block builders copy text by text at append, not in one native call per batch (the baseline for gather.ts). */
const COPY = opt('--copy', 'native') === 'js' ? 'js' : 'native';
const CORPUS = opt('--corpus', 'both');
/**
 * `--rfc5424 js`: parse without the native RFC 5424 pass (rfc5424-native.ts), every
 * frame in JavaScript; `both`: each rep runs both, alternating, and both are reported.
 */
const RFC5424 = opt('--rfc5424', 'native');
/**
 * `--columns js`: seal with the JavaScript loops for the row-wise columns, not
 * block_columns.cc (block-columns.ts); `both`: each rep runs both, alternating.
 */
const COLUMNS = opt('--columns', 'native');
type Way = 'native' | 'js';
const ways = (o: string): Way[] => (o === 'both' ? ['native', 'js'] : o === 'js' ? ['js'] : ['native']);
interface Variant {
  label: string;
  rfc5424: Way;
  columns: Way;
}
const VARIANTS: Variant[] = ways(RFC5424).flatMap((rfc5424) => ways(COLUMNS).map((columns) => ({
  label: (RFC5424 === 'both' ? `rfc5424 ${rfc5424.padEnd(6)} ` : '') + (COLUMNS === 'both' ? `columns ${columns.padEnd(6)} ` : ''),
  rfc5424,
  columns,
})));
const BLOCK_TARGET = 8 * 1024 * 1024;
const CONNS = 8;
const CHUNK = 64 * 1024;
const ENTRY_BYTES = 1 << 20;

/** The bytes connection c sends: n lines (of 128 bytes, ~200 for json). */
function connBytes(corpus: string, c: number, n: number, seq0: number): Buffer {
  if (corpus === 'json') {
    let text = '';
    for (let k = 0; k < n; k++) text += `${httpJsonLine(c, seq0 + k, 200)}\n`;
    return Buffer.from(text, 'latin1');
  }
  if (corpus === 'bench') {
    const t = new MessageTemplate({ format: 'rfc5424', framing: 'lf', size: 128, conn: c, time: new Date('2026-12-02T10:00:00Z') });
    const buf = t.newChunk(n);
    t.patch(buf, 0, n);
    for (let i = 0; i < n; i++) t.writeSeq(buf, i * 128, seq0 + i * CONNS + c);
    return buf;
  }
  const out = Buffer.allocUnsafe(n * 128);
  for (let k = 0; k < n; k++) {
    const i = seq0 + k * CONNS + c;
    const line = rfc5424Line(i, '2026-12-02');
    out.write(`${line}\n`, k * 128, 'latin1');
  }
  return out;
}

/** WAL entries (as the event loop encodes them) holding `records` lines from CONNS connections. */
function entries(corpus: string, records: number): { entries: { lsn: number; buf: ArrayBuffer; length: number }[]; records: number } {
  const per = Math.ceil(records / CONNS);
  const conns = Array.from({ length: CONNS }, (_, c) => connBytes(corpus, c, per, 0));
  const framers = conns.map(() => createFramer({ mode: 'lf', maxFrame: 64 * 1024, onOversize: 'truncate', nulDelimiter: false }));
  const out: { lsn: number; buf: ArrayBuffer; length: number }[] = [];
  let pending: StoreBatch[] = [];
  let pendingBytes = 0;
  let total = 0;
  const flushEntry = () => {
    if (pending.length === 0) return;
    const { entry, records: n } = encodeEntry(pending, out.length + 1);
    total += n;
    const copy = new Uint8Array(entry.length);
    copy.set(entry);
    out.push({ lsn: out.length + 1, buf: copy.buffer, length: entry.length });
    pending = [];
    pendingBytes = 0;
  };
  const builders = conns.map((_, c) => new BatchBuilder({ listener: 'tcp', transport: 'tcp', peer: `127.0.0.1:${40000 + c}` }, (b) => {
    pending.push({ ...b, format: corpus === 'json' ? 'json' : 'auto' } as StoreBatch);
    pendingBytes += b.bytes;
    if (pendingBytes >= ENTRY_BYTES) flushEntry();
  }));
  const received = Date.parse('2026-12-02T10:00:01Z');
  const longest = Math.max(...conns.map((b) => b.length));
  for (let off = 0; off < longest; off += CHUNK) {
    for (let c = 0; c < CONNS; c++) {
      if (off >= conns[c]!.length) continue;
      // A chunk of its own, as a read would be (batches keep their buffer).
      const chunk = Buffer.from(conns[c]!.subarray(off, Math.min(off + CHUNK, conns[c]!.length)));
      builders[c]!.stamp(received);
      framers[c]!.push(chunk, builders[c]!.emit);
      builders[c]!.flush();
    }
  }
  flushEntry();
  return { entries: out, records: total };
}

interface Times {
  /** CPU of the whole process (every thread: V8's GC and compiler threads too), ns. */
  cpu: number;
  decode: number;
  parse: number;
  append: number;
  seal: number;
  blocks: number;
  rawBytes: number;
  compBytes: number;
  filterBytes: number;
  /** CRC32C over every block's compressed payload and token filter, in order: the same output gives the same value. */
  crc: number;
}

const now = () => Number(process.hrtime.bigint());

/** The worker's loop over the entries (store-worker.ts addRecords), each phase timed. */
function run(list: { lsn: number; buf: ArrayBuffer; length: number }[], decodeOnly: boolean, columns: Way = 'native'): Times {
  const cpu0 = process.cpuUsage();
  const t: Times = { crc: 0, cpu: 0, decode: 0, parse: 0, append: 0, seal: 0, blocks: 0, rawBytes: 0, compBytes: 0, filterBytes: 0 };
  // As the worker: column memory reused from batch to batch (--no-reuse: each batch its own, as on the event loop).
  const parsers = new Parsers(undefined, !args.includes('--no-reuse'));
  const compressor = new Compressor();
  compressor.setParameters({ compressionLevel: LEVEL });
  const scratch = new ByteWriter(2 << 20);
  const builders = new Map<number, BlockBuilder>();
  const seal = (b: BlockBuilder) => {
    const t0 = now();
    const s = b.seal(compressor, 1, scratch);
    t.seal += now() - t0;
    t.blocks++;
    t.rawBytes += s.header.rawLen;
    t.compBytes += s.bytes.length;
    const filter = Buffer.from(filterBytes(s.filter));
    t.filterBytes += filter.length;
    t.crc = crc32c(filter, crc32c(s.bytes.subarray(BLOCK_HEADER_SIZE), t.crc));
  };
  for (const e of list) {
    let t0 = now();
    const d = decodeEntryBody(Buffer.from(e.buf, 0, e.length), WAL_ENTRY_HEADER_SIZE, e.length);
    t.decode += now() - t0;
    if (decodeOnly) continue;
    for (const fb of d.batches) {
      t0 = now();
      const b = parsers.parse(fb);
      const t1 = now();
      t.parse += t1 - t0;
      let sealT = 0;
      let key = NaN;
      let builder: BlockBuilder | null = null;
      for (let i = 0; i < b.count; i++) {
        const k = partitionOf(b.timeMs[i]!);
        if (k !== key) {
          key = k;
          builder = builders.get(k) ?? null;
          if (builder === null) builders.set(k, (builder = new BlockBuilder({ copy: COPY, columns })));
        }
        builder!.append(b, i, e.lsn);
        if (builder!.bytes >= BLOCK_TARGET || builder!.full) {
          const s0 = t.seal;
          seal(builder!);
          sealT += t.seal - s0;
        }
      }
      t.append += now() - t1 - sealT;
    }
    // As the worker: the deferred copies, before the entry's buffer goes back.
    const t2 = now();
    for (const b of builders.values()) b.flush();
    t.append += now() - t2;
  }
  for (const b of builders.values()) if (b.n > 0) seal(b);
  const cpu = process.cpuUsage(cpu0);
  t.cpu = (cpu.user + cpu.system) * 1000;
  return t;
}

function fmt(ns: number): string {
  return ns.toFixed(0).padStart(6);
}

const corpora = CORPUS === 'both' ? ['bench', 'varied'] : CORPUS === 'all' ? ['bench', 'varied', 'json'] : [CORPUS];
for (const corpus of corpora) {
  const { entries: list, records } = entries(corpus, RECORDS);
  const best = new Map<string, Times>();
  let bestBase = Infinity;
  const sum = (t: Times) => t.decode + t.parse + t.append + t.seal;
  for (let rep = -1; rep < REPS; rep++) {
    const base = run(list, true).decode;
    if (rep >= 0) bestBase = Math.min(bestBase, base);
    for (const v of VARIANTS) {
      setNative5424(v.rfc5424 === 'native');
      const t = run(list, false, v.columns);
      if (rep < 0) continue;
      const b = best.get(v.label);
      if (b === undefined || sum(t) < sum(b)) best.set(v.label, t);
    }
  }
  setNative5424(true);
  const per = (x: number) => x / records;
  const first = best.get(VARIANTS[0]!.label)!;
  process.stdout.write(
    `${corpus}: ${records.toLocaleString('en-US')} records in ${list.length} entries, ${first.blocks} blocks, ` +
    `payload ${(first.rawBytes / records).toFixed(1)} B/rec → zstd ${(first.compBytes / records).toFixed(1)} B/rec, filter ${(first.filterBytes / records).toFixed(1)} B/rec\n`);
  for (const v of VARIANTS) {
    const b = best.get(v.label)!;
    const total = sum(b);
    process.stdout.write(
      `  ${v.label}ns/record: decode ${fmt(per(b.decode))}  parse ${fmt(per(b.parse))}  append ${fmt(per(b.append))}  seal ${fmt(per(b.seal))}  total ${fmt(per(total))}` +
      `   (baseline, decode only: ${fmt(per(bestBase))}; total vs baseline ${(total / bestBase).toFixed(1)}×)\n` +
      `  process CPU (all threads: GC, compiler) ns/record: ${fmt(per(b.cpu))}   output crc32c ${(b.crc >>> 0).toString(16)}\n`);
  }
}
