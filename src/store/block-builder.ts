/**
 * BlockBuilder: gathers the records of one partition, then seals them into a block
 * (docs/storage.md, "Blocks"): the columnar payload, compressed with zstd, its
 * header and its token filter (block-filter.ts).
 *
 * At sealing, rows are put in (app, host) order — every app's records together, by
 * host within an app, arrival order within that — and every column is written in
 * that order. Messages of one program on one machine look alike, and their pids and
 * timestamps follow each other, so grouping them is worth about a sixth of the
 * block's size; readers sort by time anyway.
 *
 * Payload (before compression), columns one after the other:
 *
 *   n uvarint
 *   time      unit uvarint (0: ns, 3: µs, 6: ms — the coarsest every timestamp is a whole number of),
 *             n × svarint: units since the previous row's time (first: since the header's min)
 *   received  n × svarint ms delta (first: from the header's minMs), n × uvarint ns
 *   facility  n bytes          severity  n bytes
 *   host, app, procid, msgid: dict size uvarint, entries (uvarint length + bytes),
 *             then n × uvarint (0 = absent, k = entry k-1)
 *   source    count uvarint, count × (listener, transport, peer) strings, n × uvarint id
 *   message   n × uvarint length, then the bytes
 *   fields    keys uvarint; per key: name string, count uvarint,
 *             count × uvarint row delta, count × uvarint length, then the value bytes
 *
 * A block holds one partition (one hour), so time deltas in ns stay far below 2^53.
 * Values are stored decoded (JSON and structured-data escapes undone), as the bytes
 * received otherwise.
 *
 * Index tokens (tokenizer.ts): the words of every message and field value, and
 * `name=value` for host, app, procid, msgid and every field. A dictionary column's
 * pair is hashed once per block, when its value first appears.
 */
import type { Compressor } from 'zstd-napi';
import { crc32c } from '@node-rs/crc32';
import { ENC_CONST, ENC_JSON, ENC_SD, ENC_UTF8, SLOTS, type RecordBatch } from '../record/record-batch.js';
import type { KeyNames } from '../record/key-dictionary.js';
import { splitReceived } from '../record/time.js';
import { unescapeJson, unescapeSd } from '../record/record.js';
import { ByteReader, ByteWriter, putUvarint } from './byte-buffer.js';
import { gatherJs, nativeGather, type GatherFn } from './gather.js';
import { ByteDictionary } from './byte-dictionary.js';
import { Arena } from './arena.js';
import { BITS_PER_KEY, BLOCK_BITS, BloomFilter, K, MAX_BITS } from './bloom-filter.js';
import { buildFilter, type BlockFilter } from './block-filter.js';
import { FuseFilter } from './fuse-filter.js';
import { nativeIndexBlock, type IndexBlockFn } from './native-index.js';
import { nativeBlockColumns, type BlockColumnsFns } from './block-columns.js';
import { BLOCK_HEADER_SIZE, marshalBlockHeader, type BlockHeader } from './block-header.js';
import type { BlockSummary } from './segment.js';
import { CODEC_ZSTD, FORMAT_VERSION } from './consts.js';
import { HashSet32, addTokens, addValueTokens, hashPairFrom, pairPrefix } from './tokenizer.js';
import { partitionOf } from './partition.js';
import {
  ST_BYTES, ST_DICT_SIZE, ST_DICT_USED, ST_FAC_MASK, ST_KEY, ST_LIMIT, ST_LSN, ST_MAX_LSN, ST_MAX_MS, ST_MAX_NS, ST_MAX_RECORDS,
  ST_MIN_MS, ST_MIN_NS, ST_MSGS_USED, ST_N, ST_NF, ST_RECV_MS, ST_RECV_NS, ST_SEV_MASK, ST_SIZE, ST_SLOT_PREFIX, ST_SOURCE,
  ST_STATUS, ST_TOKENS_SIZE, ST_VALUES_USED, nativeAppendRun, type AppendRunFn,
} from './block-append.js';

/** Names of the four dictionary-encoded text columns, as the index and queries call them. */
export const SLOT_NAMES = ['host', 'app', 'procid', 'msgid'] as const;
const SLOT_PREFIX = SLOT_NAMES.map((n) => pairPrefix(n));
const HOST = 0;
const APP = 1;

/** Records per block at most, whatever their size: bounds the per-block arrays and decode work. */
export const MAX_BLOCK_RECORDS = 1 << 16;

interface FieldColumn {
  name: string;
  prefix: number;
  /** Entries in the block (set from BlockBuilder.colCount when the contents are taken). */
  count: number;
}

/** A sealed block: header, the bytes of its segment entry (header + payload), and its token filter. */
export interface SealedBlock {
  header: BlockHeader;
  /** BLOCK_HEADER_SIZE bytes of header, then the compressed payload. */
  bytes: Buffer;
  filter: BlockFilter;
}

export class BlockBuilder {
  n = 0;
  /**
   * Native index (native-index.ts): messages and field values are tokenized at seal, in
   * one native call over the arenas, instead of record by record here. The dictionary
   * columns' name=value pairs are still hashed here (into `tokens`), once per value.
   */
  private readonly nativeIndex: IndexBlockFn | null;
  /** What seal() encodes with (the index above among them). */
  private readonly tools: SealTools;
  /**
   * Native gather (gather.ts), or null. With it, the batch's own bytes (the texts that
   * need no decoding) are not copied at append: their places in the arenas are reserved
   * and the copies made in one call per arena by flush(), which the caller must run
   * before the batch's buffer is reused or changed. seal() and the next batch flush too.
   */
  private readonly gather: GatherFn | null;
  /** The native append loop (block-append.ts), or null: with the native index and gather only. */
  private readonly run: AppendRunFn | null;
  /** The scalar state the native loop reads and writes (block-append.ts ST_*). */
  private readonly st = new Float64Array(ST_SIZE);
  /** The buffer the pending copies read from (the current batch's). */
  private pendSrc: Buffer | null = null;
  private readonly pendMsgs = new PendingCopies();
  private readonly pendValues = new PendingCopies();
  /** For least-recently-used eviction by the store worker. */
  lastUse = 0;
  private cap = 1024;
  private tsMs = new Float64Array(this.cap);
  private tsNs = new Uint32Array(this.cap);
  private rcMs = new Float64Array(this.cap);
  private rcNs = new Uint32Array(this.cap);
  private fac = new Uint8Array(this.cap);
  private sev = new Uint8Array(this.cap);
  private slotIds = [0, 1, 2, 3].map(() => new Uint32Array(this.cap));
  private slotDicts = [0, 1, 2, 3].map(() => new ByteDictionary());
  /**
   * Per slot, the range of the current batch's buffer interned last and its id + 1 (0:
   * none). A parser may give a record the very range of an earlier record with the same
   * bytes (the native RFC 5424 pass does for repeated header fields): then the id is
   * known without reading the bytes. Forgotten at every flush (new batch, end of an
   * entry, seal), so a range never outlives the buffer it was taken from.
   */
  private readonly lastRange = new Uint32Array(8);
  private readonly lastRangeId = new Uint32Array(4);
  /** The buffer those ranges are of (null after a flush: nothing kept alive). */
  private lastRangeBuf: Buffer | null = null;
  private src = new Uint32Array(this.cap);
  private sources: string[] = [];
  private sourceIds = new Map<string, number>();
  private msgAt = new Uint32Array(this.cap);
  private msgLen = new Uint32Array(this.cap);
  private readonly msgs = new Arena(64 * 1024);
  /** Fields in record order: record i's are entries fStart[i] .. fStart[i+1]-1. */
  private fStart = new Uint32Array(this.cap + 1);
  private fCol = new Uint32Array(4096);
  private fAt = new Uint32Array(4096);
  private fLen = new Uint32Array(4096);
  private nf = 0;
  private readonly values = new Arena(32 * 1024);
  private columns: FieldColumn[] = [];
  /** Entries per field column, by column id. */
  private colCount = new Uint32Array(64);
  private columnIds = new Map<string, number>();
  private readonly tokens = new HashSet32(1024);
  /** The batch the per-batch values below belong to. */
  private cacheOf: RecordBatch | null = null;
  /** -0: a double field from the start (a receive time in ms is past the small integers; a 0 here made the first batch's time change the field's kind, and V8 threw appendNative out of its optimized code). */
  private recvMs = -0;
  private recvNs = 0;
  /** Block source id of the batch (when it has no per-record peers). */
  private batchSource = -1;
  /** Key id of `keysOf` → column id + 1. */
  private keysOf: KeyNames | null = null;
  private colMap = new Int32Array(256);
  /** Estimate of the payload size so far, for sealing at the target. */
  bytes = 0;
  private minMs = Infinity;
  private minNs = 0;
  private maxMs = -Infinity;
  private maxNs = 0;
  private facMask = 0;
  private sevMask = 0;
  private maxLsn = 0;

  /**
   * `index: 'js'` builds the token filter in JavaScript even where the native addon is
   * there; `copy: 'js'` copies texts one by one at append; `columns: 'js'` encodes the
   * row-wise columns in JavaScript; `append: 'js'` appends record by record in
   * JavaScript only, without the native loop (tests compare both ways).
   */
  constructor(opts: { index?: 'native' | 'js'; copy?: 'native' | 'js'; columns?: 'native' | 'js'; append?: 'native' | 'js' } = {}) {
    this.tools = sealTools({ index: opts.index === 'js', gather: opts.copy === 'js', columns: opts.columns === 'js' });
    this.nativeIndex = this.tools.index;
    this.gather = opts.copy === 'js' ? null : nativeGather();
    // The native loop leaves message and field tokens to the seal (the native index), and copies as gather would.
    this.run = opts.append !== 'js' && this.nativeIndex !== null && this.gather !== null ? nativeAppendRun() : null;
    const st = this.st;
    for (let slot = 0; slot < 4; slot++) st[ST_SLOT_PREFIX + slot] = SLOT_PREFIX[slot]!;
    st[ST_MAX_RECORDS] = MAX_BLOCK_RECORDS;
  }

  /** Makes the copies append() deferred (see `gather`): the batch's buffer may then go. */
  flush(): void {
    this.lastRangeId.fill(0);
    this.lastRangeBuf = null;
    if (this.pendMsgs.n > 0) this.pendMsgs.copy(this.gather!, this.msgs, this.pendSrc!);
    if (this.pendValues.n > 0) this.pendValues.copy(this.gather!, this.values, this.pendSrc!);
  }

  /** Puts buf[start, end) into an arena: later (pending) when it is the batch's own bytes and gather is native. */
  private put(arena: Arena, pend: PendingCopies, buf: Buffer, start: number, end: number): number {
    if (this.gather !== null && buf === this.pendSrc) {
      const at = arena.reserve(end - start);
      pend.add(start, end - start, at);
      return at;
    }
    if (pend.n > 0) pend.copy(this.gather!, arena, this.pendSrc!); // keeps the pending copies' places consecutive
    return arena.put(buf, start, end);
  }

  /** Appends record i of a parsed batch (its text is copied; the batch can go). */
  append(b: RecordBatch, i: number, lsn: number): void {
    const n = this.n;
    if (n === this.cap) this.resize(this.cap * 2);
    if (this.cacheOf !== b) this.newBatch(b);
    let ms = b.timeMs[i]!;
    let ns = b.timeNs[i]!;
    if (!Number.isSafeInteger(ms)) {
      // Parsers give whole ms; stay exact whatever happens.
      const whole = Math.floor(ms);
      ns = Math.min(999_999, ns + Math.round((ms - whole) * 1e6));
      ms = whole;
    }
    this.tsMs[n] = ms;
    this.tsNs[n] = ns;
    if (ms < this.minMs || (ms === this.minMs && ns < this.minNs)) {
      this.minMs = ms;
      this.minNs = ns;
    }
    if (ms > this.maxMs || (ms === this.maxMs && ns > this.maxNs)) {
      this.maxMs = ms;
      this.maxNs = ns;
    }
    this.rcMs[n] = this.recvMs;
    this.rcNs[n] = this.recvNs;
    const f = b.facility[i]!;
    const s = b.severity[i]!;
    this.fac[n] = f;
    this.sev[n] = s;
    this.facMask |= 1 << f;
    this.sevMask |= 1 << s;
    if (lsn > this.maxLsn) this.maxLsn = lsn;
    this.src[n] = b.peers === null ? this.batchSource : this.sourceId(b.source.listener, b.source.transport, b.peers[i] ?? b.source.peer);

    let bytes = 24;
    const data = b.buf;
    const spans = b.spans;
    const enc = b.enc;
    for (let slot = 0; slot < 4; slot++) {
      const k = i * 10 + slot * 2;
      const e = enc[i * SLOTS + slot]!;
      let start = spans[k]!;
      let end = spans[k + 1]!;
      let buf = data;
      if (e !== ENC_UTF8) {
        buf = decoded(e, data, start, end, b.keys);
        start = 0;
        end = buf.length;
      } else if (start === end) {
        this.slotIds[slot]![n] = 0;
        continue;
      } else if (this.lastRangeId[slot] !== 0 && this.lastRange[2 * slot] === start && this.lastRange[2 * slot + 1] === end && data === this.lastRangeBuf) {
        this.slotIds[slot]![n] = this.lastRangeId[slot]!;
        bytes += end - start;
        continue;
      }
      const d = this.slotDicts[slot]!;
      const before = d.size;
      const id = d.intern(buf, start, end);
      // A value new to this block: its name=value pair joins the index (once per block).
      if (d.size !== before) this.tokens.add(hashPairFrom(SLOT_PREFIX[slot]!, buf, start, end));
      this.slotIds[slot]![n] = id + 1;
      bytes += end - start;
      if (buf === data) {
        if (this.lastRangeBuf !== data) {
          // Ranges of another buffer (only without a flush between batches, which callers do not do).
          this.lastRangeId.fill(0);
          this.lastRangeBuf = data;
        }
        this.lastRange[2 * slot] = start;
        this.lastRange[2 * slot + 1] = end;
        this.lastRangeId[slot] = id + 1;
      }
    }

    {
      const k = i * 10 + 8;
      const e = enc[i * SLOTS + 4]!;
      let start = spans[k]!;
      let end = spans[k + 1]!;
      let buf = data;
      if (e !== ENC_UTF8) {
        buf = decoded(e, data, start, end, b.keys);
        start = 0;
        end = buf.length;
      }
      this.msgAt[n] = this.put(this.msgs, this.pendMsgs, buf, start, end);
      this.msgLen[n] = end - start;
      if (this.nativeIndex === null) addTokens(this.tokens, buf, start, end);
      bytes += end - start;
    }

    this.fStart[n] = this.nf;
    const f1 = b.fieldStart[i + 1]!;
    for (let fi = b.fieldStart[i]!; fi < f1; fi++) {
      const key = b.fieldKey[fi]!;
      let col = key < this.colMap.length ? this.colMap[key]! - 1 : -1;
      if (col < 0) col = this.columnId(key, b.keys);
      const e = b.fieldEnc[fi]!;
      let start = b.fieldSpans[2 * fi]!;
      let end = b.fieldSpans[2 * fi + 1]!;
      let buf = data;
      if (e !== ENC_UTF8) {
        buf = decoded(e, data, start, end, b.keys);
        start = 0;
        end = buf.length;
      }
      const x = this.nf;
      if (x === this.fCol.length) this.growFields();
      this.fCol[x] = col;
      this.fAt[x] = this.put(this.values, this.pendValues, buf, start, end);
      this.fLen[x] = end - start;
      this.nf = x + 1;
      this.colCount[col]!++;
      if (this.nativeIndex === null) addValueTokens(this.tokens, this.columns[col]!.prefix, buf, start, end);
      bytes += end - start + 4;
    }
    this.bytes += bytes;
    this.n = n + 1;
  }

  /**
   * Appends records from, from + 1, … of b while they are in partition `key`
   * (partitionOf their time), up to `to`, and until the builder holds `limit` bytes or
   * is full (the caller then seals it). Record `from` is appended whatever its time (the
   * caller chose this builder for it). Returns the index of the first record not
   * appended. The native loop (block-append.ts) takes the records it can; append()
   * every other one.
   */
  appendWhile(b: RecordBatch, from: number, to: number, lsn: number, key: number, limit: number): number {
    let i = from;
    // Records for append() before the native loop is tried again: doubled each time it takes none (a batch
    // of records it leaves, e.g. escaped JSON or failed parses, costs a native call per few records, not per record).
    let js = 1;
    while (i < to) {
      if (this.run !== null && b.peers === null) {
        const at = i;
        i = this.appendNative(b, i, to, lsn, key, limit);
        // Stopped at the end, another partition or the limit; else record i is append()'s (or record `from`, which goes in whatever its time).
        if (this.st[ST_STATUS] === 0 && i > at) return i;
        js = i > at ? 1 : Math.min(js * 2, 256);
      }
      for (let k = 0; k < js && i < to; k++) {
        this.append(b, i, lsn);
        i++;
        if (this.bytes >= limit || this.full || (i < to && partitionOf(b.timeMs[i]!) !== key)) return i;
      }
    }
    return i;
  }

  /** One native run from record `from` (see appendWhile): the index of the first record it did not append. */
  private appendNative(b: RecordBatch, from: number, to: number, lsn: number, key: number, limit: number): number {
    if (this.cacheOf !== b) this.newBatch(b);
    // The native loop copies to the arenas' ends: the deferred copies go first, to their places.
    if (this.pendMsgs.n > 0) this.pendMsgs.copy(this.gather!, this.msgs, this.pendSrc!);
    if (this.pendValues.n > 0) this.pendValues.copy(this.gather!, this.values, this.pendSrc!);
    const st = this.st;
    const d = this.slotDicts;
    const ids = this.slotIds;
    st[ST_N] = this.n;
    st[ST_NF] = this.nf;
    st[ST_BYTES] = this.bytes;
    st[ST_MIN_MS] = this.minMs;
    st[ST_MIN_NS] = this.minNs;
    st[ST_MAX_MS] = this.maxMs;
    st[ST_MAX_NS] = this.maxNs;
    st[ST_FAC_MASK] = this.facMask;
    st[ST_SEV_MASK] = this.sevMask;
    st[ST_MAX_LSN] = this.maxLsn;
    st[ST_MSGS_USED] = this.msgs.used;
    st[ST_VALUES_USED] = this.values.used;
    st[ST_RECV_MS] = this.recvMs;
    st[ST_RECV_NS] = this.recvNs;
    st[ST_SOURCE] = this.batchSource;
    st[ST_LSN] = lsn;
    st[ST_KEY] = key;
    st[ST_LIMIT] = limit;
    st[ST_TOKENS_SIZE] = this.tokens.size;
    for (let k = 0; k < 4; k++) {
      st[ST_DICT_SIZE + k] = d[k]!.size;
      st[ST_DICT_USED + k] = d[k]!.arena.used;
    }
    const i = this.run!(
      b.buf, b.timeMs, b.timeNs, b.facility, b.severity, b.spans, b.enc, b.fieldStart, b.fieldKey, b.fieldEnc, b.fieldSpans,
      from, to,
      this.tsMs, this.tsNs, this.rcMs, this.rcNs, this.fac, this.sev, this.src, ids[0]!, ids[1]!, ids[2]!, ids[3]!,
      this.msgAt, this.msgLen, this.msgs.buf, this.fStart, this.fCol, this.fAt, this.fLen, this.values.buf, this.colMap, this.colCount,
      d[0]!.table, d[0]!.hashes, d[0]!.starts, d[0]!.lens, d[0]!.arena.buf,
      d[1]!.table, d[1]!.hashes, d[1]!.starts, d[1]!.lens, d[1]!.arena.buf,
      d[2]!.table, d[2]!.hashes, d[2]!.starts, d[2]!.lens, d[2]!.arena.buf,
      d[3]!.table, d[3]!.hashes, d[3]!.starts, d[3]!.lens, d[3]!.arena.buf,
      this.tokens.slots, st,
    );
    this.n = st[ST_N]!;
    this.nf = st[ST_NF]!;
    this.bytes = st[ST_BYTES]!;
    this.minMs = st[ST_MIN_MS]!;
    this.minNs = st[ST_MIN_NS]!;
    this.maxMs = st[ST_MAX_MS]!;
    this.maxNs = st[ST_MAX_NS]!;
    this.facMask = st[ST_FAC_MASK]!;
    this.sevMask = st[ST_SEV_MASK]!;
    this.maxLsn = st[ST_MAX_LSN]!;
    this.msgs.used = st[ST_MSGS_USED]!;
    this.values.used = st[ST_VALUES_USED]!;
    this.tokens.size = st[ST_TOKENS_SIZE]!;
    for (let k = 0; k < 4; k++) {
      d[k]!.size = st[ST_DICT_SIZE + k]!;
      d[k]!.arena.used = st[ST_DICT_USED + k]!;
    }
    return i;
  }

  /** Per-batch values, and the key cache when the batch brings another key dictionary. */
  private newBatch(b: RecordBatch): void {
    this.flush();
    this.pendSrc = b.buf;
    this.cacheOf = b;
    const r = splitReceived(b.received);
    this.recvMs = r.ms;
    this.recvNs = r.ns;
    this.batchSource = b.peers === null ? this.sourceId(b.source.listener, b.source.transport, b.source.peer) : -1;
    if (this.keysOf !== b.keys) {
      this.keysOf = b.keys;
      this.colMap.fill(0);
    }
    if (this.colMap.length < b.keys.size) {
      const next = new Int32Array(Math.max(256, b.keys.size * 2));
      next.set(this.colMap);
      this.colMap = next;
    }
  }

  private sourceId(listener: string, transport: string, peer: string): number {
    const key = `${listener}\u0000${transport}\u0000${peer}`;
    let id = this.sourceIds.get(key);
    if (id === undefined) {
      id = this.sources.length / 3;
      this.sources.push(listener, transport, peer);
      this.sourceIds.set(key, id);
    }
    return id;
  }

  private columnId(key: number, keys: KeyNames): number {
    const name = keys.strings[key] ?? '';
    let id = this.columnIds.get(name);
    if (id === undefined) {
      id = this.columns.length;
      this.columns.push({ name, prefix: pairPrefix(name), count: 0 });
      this.columnIds.set(name, id);
      if (id === this.colCount.length) {
        const next = new Uint32Array(id * 2);
        next.set(this.colCount);
        this.colCount = next;
      }
    }
    if (key < this.colMap.length) this.colMap[key] = id + 1;
    return id;
  }

  get full(): boolean {
    return this.n >= MAX_BLOCK_RECORDS;
  }

  /** Encodes, compresses and resets: the builder is empty afterwards. */
  seal(compressor: Compressor, epoch: number, out: ByteWriter): SealedBlock {
    const block = encodeBlock(this.contents(), compressor, epoch, out, this.tools);
    this.reset();
    return block;
  }

  /**
   * A copy of the contents in memory of their own, exactly sized (for a seal thread:
   * `transfer` lists their buffers), and the builder reset: it is empty afterwards.
   */
  detach(): { contents: BlockContents; transfer: ArrayBuffer[] } {
    const c = this.contents();
    const n = c.n;
    const nf = c.nf;
    const bytes = (a: Uint8Array, len: number) => Uint8Array.prototype.slice.call(a, 0, len);
    const copy: BlockContents = {
      ...c,
      tsMs: c.tsMs.slice(0, n), tsNs: c.tsNs.slice(0, n), rcMs: c.rcMs.slice(0, n), rcNs: c.rcNs.slice(0, n),
      fac: c.fac.slice(0, n), sev: c.sev.slice(0, n), src: c.src.slice(0, n),
      slotIds: c.slotIds.map((a) => a.slice(0, n)),
      slotDicts: c.slotDicts.map((d) => ({ size: d.size, buf: bytes(d.buf, d.used), used: d.used, starts: d.starts.slice(0, d.size), lens: d.lens.slice(0, d.size) })),
      sources: [...c.sources],
      msgAt: c.msgAt.slice(0, n), msgLen: c.msgLen.slice(0, n), msgs: bytes(c.msgs, this.msgs.used),
      fStart: c.fStart.slice(0, n + 1), fCol: c.fCol.slice(0, nf), fAt: c.fAt.slice(0, nf), fLen: c.fLen.slice(0, nf), values: bytes(c.values, this.values.used),
      columns: c.columns.map((x) => ({ ...x })),
      tokens: { size: c.tokens.size, slots: c.tokens.slots.slice() },
    };
    this.reset();
    const transfer = new Set<ArrayBuffer>();
    const add = (a: { buffer: ArrayBufferLike }) => void transfer.add(a.buffer as ArrayBuffer);
    [copy.tsMs, copy.tsNs, copy.rcMs, copy.rcNs, copy.fac, copy.sev, copy.src, copy.msgAt, copy.msgLen, copy.msgs,
      copy.fStart, copy.fCol, copy.fAt, copy.fLen, copy.values, copy.tokens.slots, ...copy.slotIds].forEach(add);
    for (const d of copy.slotDicts) [d.buf, d.starts, d.lens].forEach(add);
    return { contents: copy, transfer: [...transfer] };
  }

  /** The contents as they are: views of the builder's memory, valid until it changes (deferred copies made). */
  private contents(): BlockContents {
    this.flush();
    this.fStart[this.n] = this.nf;
    for (let k = 0; k < this.columns.length; k++) this.columns[k]!.count = this.colCount[k]!;
    return {
      n: this.n, nf: this.nf,
      tsMs: this.tsMs, tsNs: this.tsNs, rcMs: this.rcMs, rcNs: this.rcNs, fac: this.fac, sev: this.sev,
      slotIds: this.slotIds,
      slotDicts: this.slotDicts.map((d) => ({ size: d.size, buf: d.arena.buf, used: d.arena.used, starts: d.starts, lens: d.lens })),
      sources: this.sources, src: this.src,
      msgAt: this.msgAt, msgLen: this.msgLen, msgs: this.msgs.buf,
      fStart: this.fStart, fCol: this.fCol, fAt: this.fAt, fLen: this.fLen, values: this.values.buf,
      columns: this.columns,
      tokens: this.tokens,
      minMs: this.minMs, minNs: this.minNs, maxMs: this.maxMs, maxNs: this.maxNs,
      facMask: this.facMask, sevMask: this.sevMask, maxLsn: this.maxLsn,
    };
  }

  private reset(): void {
    this.lastRangeId.fill(0);
    this.lastRangeBuf = null;
    this.n = 0;
    this.nf = 0;
    this.bytes = 0;
    this.slotDicts = [0, 1, 2, 3].map(() => new ByteDictionary());
    this.sources = [];
    this.sourceIds.clear();
    this.msgs.used = 0;
    this.values.used = 0;
    this.columns = [];
    this.colCount.fill(0);
    this.columnIds.clear();
    this.cacheOf = null;
    this.pendSrc = null;
    this.keysOf = null;
    this.colMap.fill(0);
    this.tokens.clear();
    this.minMs = Infinity;
    this.maxMs = -Infinity;
    this.minNs = 0;
    this.maxNs = 0;
    this.facMask = 0;
    this.sevMask = 0;
    this.maxLsn = 0;
    // Capacity is kept for the next block of this partition (a builder of an idle partition is dropped at the next commit).
  }

  private growFields(): void {
    const grow = (a: Uint32Array) => {
      const b = new Uint32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.fCol = grow(this.fCol);
    this.fAt = grow(this.fAt);
    this.fLen = grow(this.fLen);
  }

  private resize(cap: number): void {
    const keep = Math.min(cap, this.n);
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a.subarray(0, keep));
      return b;
    };
    const u32 = (a: Uint32Array, extra = 0) => {
      const b = new Uint32Array(cap + extra);
      b.set(a.subarray(0, keep));
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a.subarray(0, keep));
      return b;
    };
    this.tsMs = f64(this.tsMs);
    this.rcMs = f64(this.rcMs);
    this.tsNs = u32(this.tsNs);
    this.rcNs = u32(this.rcNs);
    this.src = u32(this.src);
    this.msgAt = u32(this.msgAt);
    this.msgLen = u32(this.msgLen);
    this.fStart = u32(this.fStart, 1);
    this.slotIds = this.slotIds.map((a) => u32(a));
    this.fac = u8(this.fac);
    this.sev = u8(this.sev);
    this.cap = cap;
  }
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Stable counting sort of the rows in `rows` by keys[row] (0 ≤ key < range). */
function countingSort(rows: Uint32Array, keys: Uint32Array, range: number): Uint32Array {
  const count = new Uint32Array(range + 1);
  for (let j = 0; j < rows.length; j++) count[keys[rows[j]!]! + 1]!++;
  for (let k = 1; k <= range; k++) count[k]! += count[k - 1]!;
  const out = new Uint32Array(rows.length);
  for (let j = 0; j < rows.length; j++) {
    const row = rows[j]!;
    out[count[keys[row]!]!++] = row;
  }
  return out;
}

/**
 * uvarint (LEB128) of vals[perm[j]] for j < n, in one loop (values of a Uint32Array, so
 * below 2^32: at most 5 bytes each). Returns the sum of the values.
 */
function putUvarints(out: ByteWriter, vals: Uint32Array, perm: Uint32Array, n: number): number {
  out.ensure(5 * n);
  const buf = out.buf;
  let p = out.pos;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    let v = vals[perm[j]!]!;
    sum += v;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
  }
  out.pos = p;
  return sum;
}

/**
 * What a block is encoded from: a builder's contents as plain data (typed arrays,
 * strings, numbers), so that a seal thread can receive them. Record i's fields are
 * entries fStart[i] .. fStart[i+1]-1; text is at [at, at + len) of `msgs` / `values`.
 */
export interface BlockContents {
  n: number;
  nf: number;
  tsMs: Float64Array;
  tsNs: Uint32Array;
  rcMs: Float64Array;
  rcNs: Uint32Array;
  fac: Uint8Array;
  sev: Uint8Array;
  /** Per slot (host, app, procid, msgid): id + 1 per record, 0 = absent. */
  slotIds: Uint32Array[];
  /** Per slot: its distinct values, entry id at buf[starts[id], starts[id] + lens[id]). */
  slotDicts: { size: number; buf: Uint8Array; used: number; starts: Uint32Array; lens: Uint32Array }[];
  /** listener, transport, peer per source id. */
  sources: string[];
  src: Uint32Array;
  msgAt: Uint32Array;
  msgLen: Uint32Array;
  msgs: Uint8Array;
  fStart: Uint32Array;
  fCol: Uint32Array;
  fAt: Uint32Array;
  fLen: Uint32Array;
  values: Uint8Array;
  columns: FieldColumn[];
  /** Hashes for the token filter gathered at append (name=value pairs of the slots; all tokens without the native index). */
  tokens: { size: number; slots: Uint32Array };
  minMs: number;
  minNs: number;
  maxMs: number;
  maxNs: number;
  facMask: number;
  sevMask: number;
  maxLsn: number;
}

/** Row order for the payload: by app, then host, then arrival (two stable counting sorts). */
function order(c: BlockContents, columns: BlockColumnsFns | null): Uint32Array {
  const n = c.n;
  if (columns !== null) {
    const perm = new Uint32Array(n);
    columns.orderRows(c.slotIds[HOST]!, c.slotDicts[HOST]!.size + 1, c.slotIds[APP]!, c.slotDicts[APP]!.size + 1, n, perm);
    return perm;
  }
  const byHost = countingSort(identity(n), c.slotIds[HOST]!, c.slotDicts[HOST]!.size + 1);
  return countingSort(byHost, c.slotIds[APP]!, c.slotDicts[APP]!.size + 1);
}

/**
 * What encodeBlock() works with besides the contents: the native block index (null: the
 * JavaScript tokenizer, the same bits), the copy of text ranges, and the native
 * row-wise column loops (null: the JavaScript ones, the same bytes).
 */
export interface SealTools {
  index: IndexBlockFn | null;
  gather: GatherFn;
  columns: BlockColumnsFns | null;
}

/** The native tools where the addon has them, except those `js` names. */
export function sealTools(js: { index?: boolean; gather?: boolean; columns?: boolean } = {}): SealTools {
  return {
    index: js.index === true ? null : nativeIndexBlock(),
    gather: (js.gather === true ? null : nativeGather()) ?? gatherJs,
    columns: js.columns === true ? null : nativeBlockColumns(),
  };
}

/**
 * A block's contents encoded (columns), compressed, with header and token filter: what
 * BlockBuilder.seal() makes of its contents, here or in a seal thread (seal-thread.ts),
 * with `tools` (native or JavaScript: the same bytes and bits either way).
 *
 * Its loops over the records are small functions of their own (timeUnit, sum): called
 * once a block, encodeBlock is rarely hot enough to optimize as a whole, and each loop in
 * it made V8 compile all of it again to enter the loop optimized (on-stack replacement):
 * seven compiles over the first seconds of a run.
 */
export function encodeBlock(c: BlockContents, compressor: Compressor, epoch: number, out: ByteWriter, tools: SealTools): SealedBlock {
  const n = c.n;
  const { index, gather, columns } = tools;
  const perm = order(c, columns);
  out.reset();
  out.uvarint(n);
  // Timestamps: deltas along the row order, in the coarsest unit every timestamp of the
  // block is a whole number of (ms, µs or ns: most sources give ms or µs).
  const unit = timeUnit(c.tsNs, n);
  out.uvarint(unit === 1_000_000 ? 6 : unit === 1000 ? 3 : 0);
  let rowsDone = false;
  if (columns !== null) {
    out.ensure(23 * n);
    const p = columns.encodeRows(out.buf, out.pos, perm, n, c.tsMs, c.tsNs, c.rcMs, c.rcNs, c.fac, c.sev, c.minMs, c.minNs, unit);
    if (p >= 0) {
      out.pos = p;
      rowsDone = true;
    }
  }
  if (!rowsDone) encodeRowsJs(c, out, perm, unit);
  for (let slot = 0; slot < 4; slot++) {
    const d = c.slotDicts[slot]!;
    out.uvarint(d.size);
    for (let id = 0; id < d.size; id++) out.lenBytes(d.buf, d.starts[id]!, d.starts[id]! + d.lens[id]!);
    putIds(out, c.slotIds[slot]!, perm, n, columns);
  }
  out.uvarint(c.sources.length / 3);
  for (const s of c.sources) out.string(s);
  putIds(out, c.src, perm, n, columns);
  let msgBytes = 0;
  if (columns !== null) {
    msgBytes = sum(c.msgLen, n);
    putIds(out, c.msgLen, perm, n, columns);
  } else {
    msgBytes = putUvarints(out, c.msgLen, perm, n);
  }
  out.ensure(msgBytes);
  out.pos += gather(out.buf, out.pos, c.msgs, c.msgAt, c.msgLen, perm, 0, n);
  if (columns !== null) writeFieldsNative(c, out, perm, columns);
  else writeFields(c, out, perm, gather);
  const raw = out.view();
  const comp = compressor.compress(raw);
  const header: BlockHeader = {
    version: FORMAT_VERSION, codec: CODEC_ZSTD, epoch, count: n,
    minMs: c.minMs, minNs: c.minNs, maxMs: c.maxMs, maxNs: c.maxNs,
    rawLen: raw.length, compLen: comp.length, facMask: c.facMask, sevMask: c.sevMask,
    // -0 and then the CRC: the literal makes payloadCrc a double field, which holds every
    // CRC. Written in the literal, a CRC below 2^30 would make it a small-integer field,
    // and each block whose CRC is larger threw encodeBlock out of its optimized code
    // (its loops then ran unoptimized for the next blocks).
    maxLsn: c.maxLsn, payloadCrc: -0,
  };
  header.payloadCrc = crc32c(comp);
  const bytes = Buffer.allocUnsafe(BLOCK_HEADER_SIZE + comp.length);
  marshalBlockHeader(header, bytes, 0);
  comp.copy(bytes, BLOCK_HEADER_SIZE);
  const filter = index === null ? buildFilter(c.tokens) : nativeFilter(c, index);
  return { header, bytes, filter };
}

/** The coarsest unit (ns: 1e6 for ms, 1000 for µs, else 1) every one of the first n timestamps' ns part is a whole number of. */
function timeUnit(tsNs: Uint32Array, n: number): number {
  let unit = 1_000_000;
  for (let i = 0; i < n && unit > 1; i++) {
    const ns = tsNs[i]!;
    if (ns % unit !== 0) unit = ns % 1000 === 0 ? 1000 : 1;
  }
  return unit;
}

function sum(a: Uint32Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i]!;
  return t;
}

/** Time deltas, receive times, facility and severity of the rows in `perm` order (the definition of encodeRows in block_columns.cc). */
function encodeRowsJs(c: BlockContents, out: ByteWriter, perm: Uint32Array, unit: number): void {
  const n = c.n;
  let prevMs = c.minMs;
  let prevNs = c.minNs;
  out.ensure(10 * n);
  for (let j = 0; j < n; j++) {
    const i = perm[j]!;
    const ms = c.tsMs[i]!;
    const ns = c.tsNs[i]!;
    const v = ((ms - prevMs) * 1_000_000 + (ns - prevNs)) / unit;
    // Small deltas (most: rows of one group follow each other) inline; others through svarint.
    if (v >= -0x20000000 && v < 0x20000000) out.pos = putUvarint(out.buf, out.pos, v >= 0 ? v * 2 : -v * 2 - 1);
    else out.svarint(v);
    prevMs = ms;
    prevNs = ns;
  }
  // Receive times may span more than a partition (a replay after downtime): ms and ns apart.
  prevMs = c.minMs;
  out.ensure(10 * n);
  for (let j = 0; j < n; j++) {
    const ms = c.rcMs[perm[j]!]!;
    const v = ms - prevMs;
    if (v >= -0x20000000 && v < 0x20000000) out.pos = putUvarint(out.buf, out.pos, v >= 0 ? v * 2 : -v * 2 - 1);
    else out.svarint(v);
    prevMs = ms;
  }
  putUvarints(out, c.rcNs, perm, n);
  out.ensure(2 * n);
  for (let j = 0; j < n; j++) out.buf[out.pos + j] = c.fac[perm[j]!]!;
  out.pos += n;
  for (let j = 0; j < n; j++) out.buf[out.pos + j] = c.sev[perm[j]!]!;
  out.pos += n;
}

/** uvarints of vals[perm[j]], j < n: natively when `columns` is there. */
function putIds(out: ByteWriter, vals: Uint32Array, perm: Uint32Array, n: number, columns: BlockColumnsFns | null): void {
  if (columns === null) {
    putUvarints(out, vals, perm, n);
    return;
  }
  out.ensure(5 * n);
  out.pos = columns.putUvarints(out.buf, out.pos, vals, perm, 0, n);
}

/**
 * The token filter of the block, in one native call: the same bytes as buildFilter
 * over the JavaScript tokenizer's hashes (a bloom filter when no fuse filter can be made).
 */
function nativeFilter(c: BlockContents, index: IndexBlockFn): BlockFilter {
  const prefixes = new Uint32Array(c.columns.length);
  for (let k = 0; k < prefixes.length; k++) prefixes[k] = c.columns[k]!.prefix;
  const run = (kind: 0 | 1) => index(c.msgs, c.msgAt, c.msgLen, c.n, c.values, c.fAt, c.fLen, c.fCol, c.nf,
    prefixes, c.tokens.slots, BITS_PER_KEY, MAX_BITS / BLOCK_BITS, kind);
  const fuse = run(1);
  if (fuse !== null) return FuseFilter.unmarshal(new ByteReader(fuse));
  const bits = run(0)!;
  return new BloomFilter(bits, bits.length * 8, K);
}

/** The field columns, each with its values in row order (entries are kept in record order until now). */
function writeFields(c: BlockContents, out: ByteWriter, perm: Uint32Array, gather: GatherFn): void {
  const cols = c.columns;
  out.uvarint(cols.length);
  if (cols.length === 0) return;
  // Entries of each column, in the new row order: a counting sort by column.
  const base = new Uint32Array(cols.length + 1);
  for (let k = 0; k < cols.length; k++) base[k + 1] = base[k]! + cols[k]!.count;
  const fill = base.slice(0, cols.length);
  const entry = new Uint32Array(c.nf);
  const row = new Uint32Array(c.nf);
  for (let j = 0; j < c.n; j++) {
    const i = perm[j]!;
    for (let x = c.fStart[i]!; x < c.fStart[i + 1]!; x++) {
      const at = fill[c.fCol[x]!]!++;
      entry[at] = x;
      row[at] = j;
    }
  }
  for (let k = 0; k < cols.length; k++) {
    const col = cols[k]!;
    out.string(col.name);
    out.uvarint(col.count);
    const from = base[k]!;
    const to = base[k + 1]!;
    out.ensure(5 * (to - from));
    const buf = out.buf;
    let p = out.pos;
    let prev = 0;
    for (let k = from; k < to; k++) {
      p = putUvarint(buf, p, row[k]! - prev);
      prev = row[k]!;
    }
    out.pos = p;
    const bytes = putUvarints(out, c.fLen, entry.subarray(from, to), to - from);
    out.ensure(bytes);
    out.pos += gather(out.buf, out.pos, c.values, c.fAt, c.fLen, entry, from, to);
  }
}

/** writeFields() in native loops (block_columns.cc encodeFields): the same bytes. */
function writeFieldsNative(c: BlockContents, out: ByteWriter, perm: Uint32Array, columns: BlockColumnsFns): void {
  const cols = c.columns;
  out.uvarint(cols.length);
  if (cols.length === 0) return;
  const names = new ByteWriter(256);
  const nameEnds = new Uint32Array(cols.length);
  const counts = new Uint32Array(cols.length);
  for (let k = 0; k < cols.length; k++) {
    names.string(cols[k]!.name);
    nameEnds[k] = names.pos;
    counts[k] = cols[k]!.count;
  }
  out.ensure(names.pos + 5 * cols.length + 10 * c.nf + sum(c.fLen, c.nf));
  out.pos = columns.encodeFields(out.buf, out.pos, perm, c.n, c.fStart, c.fCol, c.fAt, c.fLen, c.values, names.view(), nameEnds, counts);
}

/** Copies of a batch's texts into an arena, deferred until flush (see BlockBuilder.gather). */
class PendingCopies {
  at = new Uint32Array(1024);
  len = new Uint32Array(1024);
  n = 0;
  /** Where in the arena the first one goes (the others follow it). */
  dst = 0;

  add(start: number, len: number, dst: number): void {
    const n = this.n;
    if (n === 0) this.dst = dst;
    if (n === this.at.length) {
      const at = new Uint32Array(n * 2);
      at.set(this.at);
      this.at = at;
      const l = new Uint32Array(n * 2);
      l.set(this.len);
      this.len = l;
    }
    this.at[n] = start;
    this.len[n] = len;
    this.n = n + 1;
  }

  copy(gather: GatherFn, arena: Arena, src: Buffer): void {
    gather(arena.buf, this.dst, src, this.at, this.len, null, 0, this.n);
    this.n = 0;
  }
}

/** The UTF-8 bytes of a value stored with escapes or as a constant (the rare, slow path). */
/**
 * What the index entry of a block of this batch's records would tell a query (plan.ts
 * blockMayMatch): their time range and masks, and the set of their tokens, the same as
 * BlockBuilder.append gathers for the index (slot `name=value` pairs, message words,
 * field values), up to 32-bit hash collisions. Nothing is copied or interned. Live tail
 * (query/wal-tail.ts) tests each batch with it before it makes records of the batch.
 */
export function batchSummary(b: RecordBatch): BlockSummary {
  const tokens = new HashSet32(Math.max(64, b.count * 4));
  let minMs = Infinity;
  let minNs = 0;
  let maxMs = -Infinity;
  let maxNs = 0;
  let facMask = 0;
  let sevMask = 0;
  const data = b.buf;
  const { spans, enc } = b;
  const prefixes = new Map<number, number>();
  for (let i = 0; i < b.count; i++) {
    // Times as append() keeps them (whole ms, ns within it).
    let ms = b.timeMs[i]!;
    let ns = b.timeNs[i]!;
    if (!Number.isSafeInteger(ms)) {
      const whole = Math.floor(ms);
      ns = Math.min(999_999, ns + Math.round((ms - whole) * 1e6));
      ms = whole;
    }
    if (ms < minMs || (ms === minMs && ns < minNs)) {
      minMs = ms;
      minNs = ns;
    }
    if (ms > maxMs || (ms === maxMs && ns > maxNs)) {
      maxMs = ms;
      maxNs = ns;
    }
    facMask |= 1 << b.facility[i]!;
    sevMask |= 1 << b.severity[i]!;
    for (let slot = 0; slot < 4; slot++) {
      const k = i * 10 + slot * 2;
      const e = enc[i * SLOTS + slot]!;
      const start = spans[k]!;
      const end = spans[k + 1]!;
      if (e !== ENC_UTF8) {
        const v = decoded(e, data, start, end, b.keys);
        tokens.add(hashPairFrom(SLOT_PREFIX[slot]!, v, 0, v.length));
      } else if (start !== end) {
        tokens.add(hashPairFrom(SLOT_PREFIX[slot]!, data, start, end));
      }
    }
    {
      const e = enc[i * SLOTS + 4]!;
      const start = spans[i * 10 + 8]!;
      const end = spans[i * 10 + 9]!;
      if (e !== ENC_UTF8) {
        const v = decoded(e, data, start, end, b.keys);
        addTokens(tokens, v, 0, v.length);
      } else {
        addTokens(tokens, data, start, end);
      }
    }
    const f1 = b.fieldStart[i + 1]!;
    for (let fi = b.fieldStart[i]!; fi < f1; fi++) {
      const key = b.fieldKey[fi]!;
      let prefix = prefixes.get(key);
      if (prefix === undefined) prefixes.set(key, (prefix = pairPrefix(b.keys.strings[key] ?? '')));
      const e = b.fieldEnc[fi]!;
      const start = b.fieldSpans[2 * fi]!;
      const end = b.fieldSpans[2 * fi + 1]!;
      if (e !== ENC_UTF8) {
        const v = decoded(e, data, start, end, b.keys);
        addValueTokens(tokens, prefix, v, 0, v.length);
      } else {
        addValueTokens(tokens, prefix, data, start, end);
      }
    }
  }
  return {
    header: { minMs, minNs, maxMs, maxNs, facMask: facMask >>> 0, sevMask: sevMask >>> 0 },
    filter: { mayContain: (h: number) => tokens.has(h) },
  };
}

function decoded(enc: number, data: Buffer, start: number, end: number, keys: KeyNames): Buffer {
  if (enc === ENC_CONST) return Buffer.from(keys.strings[start] ?? '', 'utf8');
  const raw = data.toString('utf8', start, end);
  if (enc === ENC_JSON) return Buffer.from(unescapeJson(raw), 'utf8');
  if (enc === ENC_SD) return Buffer.from(unescapeSd(raw), 'utf8');
  return Buffer.from(raw, 'utf8');
}
