/**
 * Helpers for the store's unit tests: frame batches laid out the ways listeners lay
 * them out, parsed by the real ParseStage; blocks built the way the store worker
 * builds them (WAL entry → decoded → parsed → BlockBuilder → seal); temp dirs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Compressor } from 'zstd-napi';
import type { FrameBatch, Source } from '../pipeline/batch.js';
import type { RecordBatch } from '../record/record-batch.js';
import { recordAt, type LogRecord } from '../record/record.js';
import { ParseStage } from '../protocols/formats/parse-stage.js';
import type { FormatName } from '../protocols/formats/format.js';
import { ByteWriter } from './byte-buffer.js';
import { BlockBuilder, type SealedBlock } from './block-builder.js';
import { BLOCK_HEADER_SIZE, unmarshalBlockHeader } from './block-header.js';
import { decodeBlock, type DecodedBlock } from './block-decoder.js';
import { decodeEntryBody, encodeEntry } from './wal-entry.js';
import { Parsers } from './parsers.js';
import { WAL_ENTRY_HEADER_SIZE } from './consts.js';
import { partitionOf } from './partition.js';
import { HashSet32 } from './tokenizer.js';
import { Store, type StoreOptions } from './store.js';
import { Metrics } from '../metrics/metrics.js';
import type { Logger } from '../log.js';

/** 2026-11-22T10:00:00.000Z plus a µs fraction, as nowMs() gives. */
export const RECEIVED = Date.UTC(2026, 10, 22, 10, 0, 0) + 0.123;

export const SOURCE: Source = { listener: 'in', transport: 'tcp', peer: '10.0.0.9:5140' };

/** A temp dir under os.tmpdir(); remove it with `rmDir`. */
export function tempDir(prefix = 'ringlog-store-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function rmDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * How frames lie in the batch's buffer:
 *  - `adjacent`: one after the other, nothing between;
 *  - `lines`: LF-delimited, the LF not part of the frame (a stream listener's read);
 *  - `scattered`: far apart (frames of a batch assembled from several reads);
 *  - `reversed`: in the buffer in the reverse of their order in the batch.
 */
export type Layout = 'adjacent' | 'lines' | 'scattered' | 'reversed';
export const LAYOUTS: readonly Layout[] = ['adjacent', 'lines', 'scattered', 'reversed'];

export interface BatchOptions {
  received?: number;
  source?: Source;
  peers?: string[] | null;
  flags?: Uint8Array | null;
  layout?: Layout;
}

export function frameBatch(frames: (string | Buffer)[], o: BatchOptions = {}): FrameBatch {
  const parts = frames.map((f) => (typeof f === 'string' ? Buffer.from(f, 'utf8') : f));
  const layout = o.layout ?? 'lines';
  const gap = layout === 'lines' ? 1 : layout === 'scattered' ? 300 : 0;
  const order = parts.map((_, i) => i);
  if (layout === 'reversed') order.reverse();
  const chunks: Buffer[] = [];
  const offsets = new Uint32Array(parts.length * 2);
  let at = 0;
  if (layout === 'scattered') {
    chunks.push(Buffer.alloc(50, 'L'));
    at = 50;
  }
  for (const i of order) {
    const p = parts[i]!;
    chunks.push(p);
    offsets[2 * i] = at;
    offsets[2 * i + 1] = at + p.length;
    at += p.length;
    if (gap > 0) {
      chunks.push(Buffer.alloc(gap, layout === 'lines' ? '\n' : 'G'));
      at += gap;
    }
  }
  const buf = Buffer.concat(chunks);
  let bytes = 0;
  for (const p of parts) bytes += p.length;
  return {
    buf, offsets, flags: o.flags ?? null, count: parts.length, bytes, retained: buf.length,
    received: o.received ?? RECEIVED, source: o.source ?? SOURCE, peers: o.peers ?? null, hold: null,
  };
}

const stages = new Map<FormatName, ParseStage>();

/** The shared ParseStage of a format (one per format, as one per listener). */
export function stageFor(format: FormatName): ParseStage {
  let st = stages.get(format);
  if (!st) {
    st = new ParseStage(format);
    stages.set(format, st);
  }
  return st;
}

export function parse(format: FormatName, frames: (string | Buffer)[], o: BatchOptions = {}, stage = stageFor(format)): RecordBatch {
  return stage.parse(frameBatch(frames, o));
}

export function recordsOf(b: RecordBatch): LogRecord[] {
  return Array.from({ length: b.count }, (_, i) => recordAt(b, i));
}

/**
 * UTF-8 cannot hold a lone surrogate (a JSON `\ud800` escape): the store keeps U+FFFD
 * in its place. recordAt() of the parsed batch keeps the surrogate; this maps a record
 * to what the store can give back.
 */
export function wellFormed(r: LogRecord): LogRecord {
  const wf = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.fields)) fields[wf(k)] = wf(v);
  const opt = (s: string | null) => (s === null ? null : wf(s));
  return { ...r, host: opt(r.host), app: opt(r.app), procid: opt(r.procid), msgid: opt(r.msgid), message: wf(r.message), fields };
}

export interface BuiltBlock {
  sealed: SealedBlock;
  decoded: DecodedBlock;
}

const compressor = new Compressor();
compressor.setParameters({ compressionLevel: 3 });

/**
 * The records of one WAL entry as the store worker sees them: the batches' frames
 * encoded into an entry, decoded from it and parsed again (Parsers, per listener and
 * format) — the path every record takes into a block. `use` gets each parsed batch;
 * then the builders are flushed and the entry's bytes overwritten, as the worker gives
 * the entry's buffer back for reuse: a text a builder did not copy would show.
 */
export function throughEntry(batches: RecordBatch[], lsn: number, parsers: Parsers, builders: Iterable<BlockBuilder>, use: (b: RecordBatch) => void): void {
  const { entry } = encodeEntry(batches, lsn);
  const decoded = decodeEntryBody(entry, WAL_ENTRY_HEADER_SIZE, entry.length);
  // One at a time, as the worker: a batch of parsers that reuse their columns is valid until the next parse.
  for (const b of decoded.batches) use(parsers.parse(b));
  for (const builder of builders) builder.flush();
  entry.fill(0xee);
}

/** Builds one block from WAL entries (lists of record batches) as the store worker does. */
export function buildBlock(entries: RecordBatch[][], opts: { epoch?: number; firstLsn?: number; parsers?: Parsers; builder?: BlockBuilder } = {}): BuiltBlock {
  const parsers = opts.parsers ?? new Parsers();
  const builder = opts.builder ?? new BlockBuilder();
  let lsn = opts.firstLsn ?? 1;
  for (const batches of entries) {
    throughEntry(batches, lsn, parsers, [builder], (b) => {
      // One builder whatever the partitions: a run per partition, as the worker's appendWhile calls.
      for (let i = 0; i < b.count;) i = builder.appendWhile(b, i, b.count, lsn, partitionOf(b.timeMs[i]!), Infinity);
    });
    lsn++;
  }
  const sealed = builder.seal(compressor, opts.epoch ?? 1, new ByteWriter(1024));
  const header = unmarshalBlockHeader(sealed.bytes, 0);
  const decoded = decodeBlock(header, sealed.bytes.subarray(BLOCK_HEADER_SIZE));
  return { sealed, decoded };
}

export interface PartitionBlock extends BuiltBlock {
  /** Partition key (hours since the epoch). */
  key: number;
  /** What recordAt() said of the block's records, in the order they were appended. */
  expected: LogRecord[];
  /** Highest LSN of the entries the block's records came from. */
  maxLsn: number;
}

/**
 * Builds blocks as the store worker does: every record goes to the builder of its
 * partition (UTC hour of its timestamp); each builder is sealed at the end.
 * Returns one block per partition, oldest first; with `limit`, a builder is sealed
 * whenever it reaches that many bytes (or is full), as the worker seals at its block
 * target, and a partition may have several blocks (in the order they were sealed).
 */
export function buildBlocks(
  entries: RecordBatch[][],
  opts: { epoch?: number; firstLsn?: number; parsers?: Parsers; builder?: () => BlockBuilder; limit?: number } = {},
): PartitionBlock[] {
  const parsers = opts.parsers ?? new Parsers();
  const parts = new Map<number, { builder: BlockBuilder; expected: LogRecord[]; maxLsn: number }>();
  const limit = opts.limit ?? Infinity;
  const done: PartitionBlock[] = [];
  const seal = (key: number, p: { builder: BlockBuilder; expected: LogRecord[]; maxLsn: number }) => {
    const sealed = p.builder.seal(compressor, opts.epoch ?? 1, new ByteWriter(1024));
    const decoded = decodeBlock(unmarshalBlockHeader(sealed.bytes, 0), sealed.bytes.subarray(BLOCK_HEADER_SIZE));
    done.push({ key, sealed, decoded, expected: p.expected, maxLsn: p.maxLsn });
    p.expected = [];
  };
  let lsn = opts.firstLsn ?? 1;
  for (const batches of entries) {
    const recs = batches.flatMap(recordsOf);
    let r = 0;
    const builders = { *[Symbol.iterator]() { for (const p of parts.values()) yield p.builder; } };
    throughEntry(batches, lsn, parsers, builders, (b) => {
      for (let i = 0; i < b.count;) {
        const key = partitionOf(b.timeMs[i]!);
        let p = parts.get(key);
        if (!p) {
          p = { builder: (opts.builder ?? (() => new BlockBuilder()))(), expected: [], maxLsn: 0 };
          parts.set(key, p);
        }
        const j = p.builder.appendWhile(b, i, b.count, lsn, key, limit);
        for (; i < j; i++, r++) p.expected.push(recs[r]!);
        p.maxLsn = lsn;
        // As the worker: a builder at the limit (or full) is sealed there.
        if (p.builder.bytes >= limit || p.builder.full) seal(key, p);
      }
    });
    lsn++;
  }
  for (const [key, p] of parts) if (p.builder.n > 0) seal(key, p);
  return done.sort((a, b) => a.key - b.key);
}

// ---- fast-check arbitraries: frames of every format, with hostile pieces mixed in ----

const word = fc.stringMatching(/^[ -~]{0,12}$/);
const name = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,10}$/);
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
const ts = fc.constantFrom(
  '2026-11-22T10:00:00.123456Z', '-', '2026-11-21T23:59:59.999999999+02:00', '1969-12-31T23:59:59Z', '2030-01-01T00:00:00Z', 'bad',
);
const sdValue = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\\"\]]/g, (c) => `\\${c}`));
const sd = fc.oneof(
  fc.constant('-'),
  fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,6}(@[0-9]{1,5})?$/), fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), sdValue), { maxLength: 3 })), { minLength: 1, maxLength: 3 })
    .map((els) => els.map(([id, ps]) => `[${id}${ps.map(([k, v]) => ` ${k}="${v}"`).join('')}]`).join('')),
  fc.constantFrom('[bad', '[a b=c]', '[x@1 k="v\\"]" k2="\\\\"][y]'),
);
const nil = (a: fc.Arbitrary<string>) => fc.oneof(fc.constant('-'), a);
export const rfc5424Frame = fc.tuple(fc.integer({ min: 0, max: 191 }), ts, nil(fc.stringMatching(/^[!-~]{1,20}$/)), nil(name), nil(fc.stringMatching(/^[0-9]{1,6}$/)), nil(name), sd, fc.oneof(fc.constant(''), anyText))
  .map(([pri, t, host, app, pid, msgid, s, msg]) => `<${pri}>1 ${t} ${host} ${app} ${pid} ${msgid} ${s}${msg === '' ? '' : ` ${msg}`}`);
export const rfc3164Frame = fc.tuple(fc.option(fc.integer({ min: 0, max: 191 })), fc.constantFrom('Nov 22 09:59:58', 'Nov  2 01:02:03', 'Feb 30 00:00:00', '2026-11-22T09:00:00Z'),
  fc.option(fc.stringMatching(/^[a-z0-9.-]{1,12}$/)), fc.stringMatching(/^[a-z/]{1,8}$/), fc.option(fc.integer({ min: 1, max: 99999 })), anyText)
  .map(([pri, t, host, tag, pid, msg]) => `${pri === null ? '' : `<${pri}>`}${t} ${host === null ? '' : `${host} `}${tag}${pid === null ? '' : `[${pid}]`}: ${msg}`);
const jsonLeaf = fc.oneof(anyText, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
const jsonKey = fc.constantFrom('time', 'ts', 'level', 'msg', 'message', 'host', 'app', 'service', 'pid', 'msgid', 'a', 'a.b', 'req', 'x y', 'é', '_k');
export const jsonFrame = fc.array(fc.tuple(jsonKey, fc.oneof(jsonLeaf, fc.dictionary(jsonKey, fc.oneof(jsonLeaf, fc.dictionary(jsonKey, jsonLeaf, { maxKeys: 2 })), { maxKeys: 3 }))), { maxLength: 6 })
  // Pairs, not an object: duplicate keys stay in the text.
  .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
export const logfmtFrame = fc.array(fc.tuple(fc.constantFrom('level', 'msg', 'host', 'app', 'ts', 'k', 'a.b', 'x_1'), fc.oneof(word, anyText)), { minLength: 1, maxLength: 5 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${/[\s"=\\]/.test(v) || v === '' ? JSON.stringify(v) : v}`).join(' '));
export const anyFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
  anyText.map((s) => Buffer.from(s)),
  rfc5424Frame.map((s) => Buffer.from(s)),
  rfc3164Frame.map((s) => Buffer.from(s)),
  jsonFrame.map((s) => Buffer.from(s)),
  logfmtFrame.map((s) => Buffer.from(s)),
);

/**
 * A real Store made for tests: tiny blocks (many blocks from few records), the WAL
 * synced every 5 ms, no retention and no timed commits; `over` changes any option.
 */
export function testStore(dataDir: string, log: Logger, over: Partial<StoreOptions> = {}): Store {
  return new Store({
    dataDir,
    fsync: 'interval',
    fsyncIntervalMs: 5,
    compressionLevel: 1,
    blockTarget: 6 * 1024,
    commitBytes: 48 * 1024,
    commitIntervalMs: 3_600_000,
    retention: { maxAgeMs: 0, maxBytes: 0, checkIntervalMs: 3_600_000 },
    maxPending: 64 << 20,
    // The seal and parse threads' paths whatever the machine (the servers of the end-to-end tests take `auto`).
    sealThread: true,
    parseThread: true,
    ...over,
  }, new Metrics({ processMetrics: false }), log);
}

/** Deterministic pseudo-random 32-bit numbers (xorshift; seed ≠ 0). */
export function xorshift(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** A HashSet32 of these hashes. */
export function hashSetOf(xs: Iterable<number>): HashSet32 {
  const s = new HashSet32(16);
  for (const x of xs) s.add(x);
  return s;
}

/** A frame whose bytes are a whole, well-formed WAL entry of LSN `lsn`: what a sender can put in a message. */
export function forgedEntry(lsn: number): Buffer {
  return Buffer.from(encodeEntry([parse('raw', ['forged record'])], lsn).entry);
}

/** A copy of WAL entry `entry` with its checksum masked by `salt`, as in a keyed WAL file (wal-key.ts); 0: unchanged. */
export function maskedEntry(entry: Buffer, salt: number): Buffer {
  const b = Buffer.from(entry);
  b.writeUInt32LE((b.readUInt32LE(8) ^ salt) >>> 0, 8);
  return b;
}
