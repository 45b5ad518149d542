/**
 * BlockBuilder: gathers the records of one partition column by column, then seals
 * them into a block (docs/storage.md, "Blocks"): the columnar payload, compressed
 * with zstd, its header and its bloom filter.
 *
 * Payload (before compression), columns one after the other:
 *
 *   n uvarint
 *   time      n × svarint ms delta (first: from header minMs), n × uvarint ns
 *   received  same
 *   facility  n bytes          severity  n bytes
 *   host, app, procid, msgid: dict size uvarint, entries (uvarint length + bytes),
 *             then n × uvarint (0 = absent, k = entry k-1)
 *   source    count uvarint, count × (listener, transport, peer) strings, n × uvarint id
 *   message   n × uvarint length, then the bytes
 *   fields    keys uvarint; per key: name string, count uvarint,
 *             count × uvarint row delta, count × uvarint length, then the value bytes
 *
 * Values are stored decoded (JSON and structured-data escapes undone), as UTF-8 bytes
 * exactly as received otherwise. Grouping a field's values together is what makes
 * them compress: a column of status codes or user ids is far more regular than a
 * record.
 */
import { Compressor } from 'zstd-napi';
import { crc32c } from '@node-rs/crc32';
import { ENC_CONST, ENC_JSON, ENC_SD, ENC_UTF8, SLOTS } from '../record/record-batch.js';
import { unescapeJson, unescapeSd } from '../record/record.js';
import { ByteWriter } from './byte-buffer.js';
import { ByteDictionary } from './byte-dictionary.js';
import { BloomFilter } from './bloom-filter.js';
import { BLOCK_HEADER_SIZE, marshalBlockHeader, type BlockHeader } from './block-header.js';
import { CODEC_ZSTD, FORMAT_VERSION } from './consts.js';
import { HashSet32, addTokens, hashPairFrom, pairPrefix } from './tokenizer.js';
import type { RecordColumnsView } from './packed-records.js';

/** Names of the four dictionary-encoded text columns, as the index and queries call them. */
export const SLOT_NAMES = ['host', 'app', 'procid', 'msgid'] as const;
const SLOT_PREFIX = SLOT_NAMES.map((n) => pairPrefix(n));

/** Records per block at most, whatever their size: bounds the per-block arrays and decode work. */
export const MAX_BLOCK_RECORDS = 1 << 16;

class FieldColumn {
  rows = new Uint32Array(64);
  lens = new Uint32Array(64);
  count = 0;
  readonly bytes = new ByteWriter(1024);
  readonly prefix: number;
  constructor(readonly name: string) {
    this.prefix = pairPrefix(name);
  }
  push(row: number, src: Uint8Array, start: number, end: number): void {
    if (this.count === this.rows.length) {
      const r = new Uint32Array(this.count * 2);
      r.set(this.rows);
      this.rows = r;
      const l = new Uint32Array(this.count * 2);
      l.set(this.lens);
      this.lens = l;
    }
    this.rows[this.count] = row;
    this.lens[this.count] = end - start;
    this.count++;
    this.bytes.bytes(src, start, end);
  }
}

/** A sealed block: header, the bytes of its segment entry (header + payload), and its bloom filter. */
export interface SealedBlock {
  header: BlockHeader;
  /** BLOCK_HEADER_SIZE bytes of header, then the compressed payload. */
  bytes: Buffer;
  bloom: BloomFilter;
}

export class BlockBuilder {
  n = 0;
  private cap = 1024;
  private tsMs = new Float64Array(this.cap);
  private tsNs = new Uint32Array(this.cap);
  private rcMs = new Float64Array(this.cap);
  private rcNs = new Uint32Array(this.cap);
  private fac = new Uint8Array(this.cap);
  private sev = new Uint8Array(this.cap);
  private slotIds = [0, 1, 2, 3].map(() => new Uint32Array(this.cap));
  private slotDicts = [0, 1, 2, 3].map(() => new ByteDictionary());
  private src = new Uint32Array(this.cap);
  private sources: string[] = [];
  private sourceIds = new Map<string, number>();
  private msgLens = new Uint32Array(this.cap);
  private readonly msg = new ByteWriter(1 << 20);
  private fields = new Map<string, FieldColumn>();
  private readonly tokens = new HashSet32(8192);
  /** Estimate of the payload size so far, for sealing at the target. */
  bytes = 0;
  private minMs = Infinity;
  private minNs = 0;
  private maxMs = -Infinity;
  private maxNs = 0;
  private facMask = 0;
  private sevMask = 0;
  private maxLsn = 0;
  /** When the first record went in (ms, monotonic), for sealing by age. */
  openedAt = 0;

  /**
   * Appends record r of a packed message. `data` holds the text, `keys` the message's
   * field names and constants, `sources` its (listener, transport, peer) triplets.
   */
  append(v: RecordColumnsView, r: number, data: Uint8Array, keys: string[], sources: string[], lsn: number): void {
    const i = this.n;
    if (i === this.cap) this.grow();
    if (i === 0) this.openedAt = performance.now();
    let ms = v.timeMs[r]!;
    let ns = v.timeNs[r]!;
    if (!Number.isSafeInteger(ms)) {
      // Parsers give whole ms; stay exact whatever happens.
      const whole = Math.floor(ms);
      ns = Math.min(999_999, ns + Math.round((ms - whole) * 1e6));
      ms = whole;
    }
    this.tsMs[i] = ms;
    this.tsNs[i] = ns;
    if (ms < this.minMs || (ms === this.minMs && ns < this.minNs)) {
      this.minMs = ms;
      this.minNs = ns;
    }
    if (ms > this.maxMs || (ms === this.maxMs && ns > this.maxNs)) {
      this.maxMs = ms;
      this.maxNs = ns;
    }
    this.rcMs[i] = v.recvMs[r]!;
    this.rcNs[i] = v.recvNs[r]!;
    const f = v.facility[r]!;
    const s = v.severity[r]!;
    this.fac[i] = f;
    this.sev[i] = s;
    this.facMask |= 1 << f;
    this.sevMask |= 1 << s;
    if (lsn > this.maxLsn) this.maxLsn = lsn;

    const sid = v.source[r]!;
    const key = `${sources[3 * sid]}\u0000${sources[3 * sid + 1]}\u0000${sources[3 * sid + 2]}`;
    let local = this.sourceIds.get(key);
    if (local === undefined) {
      local = this.sources.length / 3;
      this.sources.push(sources[3 * sid]!, sources[3 * sid + 1]!, sources[3 * sid + 2]!);
      this.sourceIds.set(key, local);
    }
    this.src[i] = local;

    let bytes = 24;
    for (let slot = 0; slot < 4; slot++) {
      const k = r * 10 + slot * 2;
      const enc = v.enc[r * SLOTS + slot]!;
      let start = v.spans[k]!;
      let end = v.spans[k + 1]!;
      let buf = data;
      if (enc !== ENC_UTF8) {
        buf = decoded(enc, data, start, end, keys);
        start = 0;
        end = buf.length;
      }
      if (start === end && enc !== ENC_CONST) {
        this.slotIds[slot]![i] = 0;
        continue;
      }
      this.slotIds[slot]![i] = this.slotDicts[slot]!.intern(buf, start, end) + 1;
      this.tokens.add(hashPairFrom(SLOT_PREFIX[slot]!, buf, start, end));
      bytes += end - start;
    }

    {
      const k = r * 10 + 8;
      const enc = v.enc[r * SLOTS + 4]!;
      let start = v.spans[k]!;
      let end = v.spans[k + 1]!;
      let buf = data;
      if (enc !== ENC_UTF8) {
        buf = decoded(enc, data, start, end, keys);
        start = 0;
        end = buf.length;
      }
      this.msgLens[i] = end - start;
      this.msg.bytes(buf, start, end);
      addTokens(this.tokens, buf, start, end);
      bytes += end - start;
    }

    for (let fi = v.fieldStart[r]!; fi < v.fieldStart[r + 1]!; fi++) {
      const name = keys[v.fieldKey[fi]!]!;
      let col = this.fields.get(name);
      if (col === undefined) {
        col = new FieldColumn(name);
        this.fields.set(name, col);
      }
      const enc = v.fieldEnc[fi]!;
      let start = v.fieldSpans[2 * fi]!;
      let end = v.fieldSpans[2 * fi + 1]!;
      let buf = data;
      if (enc !== ENC_UTF8) {
        buf = decoded(enc, data, start, end, keys);
        start = 0;
        end = buf.length;
      }
      col.push(i, buf, start, end);
      this.tokens.add(hashPairFrom(col.prefix, buf, start, end));
      bytes += end - start + 4;
    }
    this.bytes += bytes;
    this.n = i + 1;
  }

  get full(): boolean {
    return this.n >= MAX_BLOCK_RECORDS;
  }

  /** Encodes, compresses and resets: the builder is empty afterwards. */
  seal(compressor: Compressor, epoch: number, out: ByteWriter): SealedBlock {
    const n = this.n;
    out.reset();
    out.uvarint(n);
    const time = (ms: Float64Array, ns: Uint32Array) => {
      let prev = this.minMs;
      for (let i = 0; i < n; i++) {
        out.svarint(ms[i]! - prev);
        prev = ms[i]!;
      }
      for (let i = 0; i < n; i++) out.uvarint(ns[i]!);
    };
    time(this.tsMs, this.tsNs);
    time(this.rcMs, this.rcNs);
    out.bytes(this.fac, 0, n);
    out.bytes(this.sev, 0, n);
    for (let slot = 0; slot < 4; slot++) {
      const d = this.slotDicts[slot]!;
      out.uvarint(d.size);
      for (let id = 0; id < d.size; id++) out.lenBytes(d.arena, d.starts[id]!, d.starts[id]! + d.lens[id]!);
      const ids = this.slotIds[slot]!;
      for (let i = 0; i < n; i++) out.uvarint(ids[i]!);
    }
    out.uvarint(this.sources.length / 3);
    for (const s of this.sources) out.string(s);
    for (let i = 0; i < n; i++) out.uvarint(this.src[i]!);
    for (let i = 0; i < n; i++) out.uvarint(this.msgLens[i]!);
    out.bytes(this.msg.buf, 0, this.msg.pos);
    out.uvarint(this.fields.size);
    for (const col of this.fields.values()) {
      out.string(col.name);
      out.uvarint(col.count);
      let prev = 0;
      for (let k = 0; k < col.count; k++) {
        out.uvarint(col.rows[k]! - prev);
        prev = col.rows[k]!;
      }
      for (let k = 0; k < col.count; k++) out.uvarint(col.lens[k]!);
      out.bytes(col.bytes.buf, 0, col.bytes.pos);
    }
    const raw = out.view();
    const comp = compressor.compress(raw);
    const header: BlockHeader = {
      version: FORMAT_VERSION, codec: CODEC_ZSTD, epoch, count: n,
      minMs: this.minMs, minNs: this.minNs, maxMs: this.maxMs, maxNs: this.maxNs,
      rawLen: raw.length, compLen: comp.length, facMask: this.facMask, sevMask: this.sevMask,
      maxLsn: this.maxLsn, payloadCrc: crc32c(comp),
    };
    const bytes = Buffer.allocUnsafe(BLOCK_HEADER_SIZE + comp.length);
    marshalBlockHeader(header, bytes, 0);
    comp.copy(bytes, BLOCK_HEADER_SIZE);
    const bloom = BloomFilter.build(this.tokens);
    this.reset();
    return { header, bytes, bloom };
  }

  private reset(): void {
    this.n = 0;
    this.bytes = 0;
    this.slotDicts = [0, 1, 2, 3].map(() => new ByteDictionary());
    this.sources = [];
    this.sourceIds.clear();
    this.msg.reset();
    this.fields = new Map();
    this.tokens.clear();
    this.minMs = Infinity;
    this.maxMs = -Infinity;
    this.minNs = 0;
    this.maxNs = 0;
    this.facMask = 0;
    this.sevMask = 0;
    this.maxLsn = 0;
    if (this.cap > 1 << 15) this.resize(1024);
  }

  private grow(): void {
    this.resize(this.cap * 2);
  }

  private resize(cap: number): void {
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a.subarray(0, Math.min(cap, this.n)));
      return b;
    };
    const u32 = (a: Uint32Array) => {
      const b = new Uint32Array(cap);
      b.set(a.subarray(0, Math.min(cap, this.n)));
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a.subarray(0, Math.min(cap, this.n)));
      return b;
    };
    this.tsMs = f64(this.tsMs);
    this.rcMs = f64(this.rcMs);
    this.tsNs = u32(this.tsNs);
    this.rcNs = u32(this.rcNs);
    this.src = u32(this.src);
    this.msgLens = u32(this.msgLens);
    this.slotIds = this.slotIds.map(u32);
    this.fac = u8(this.fac);
    this.sev = u8(this.sev);
    this.cap = cap;
  }
}

/** The UTF-8 bytes of a value stored with escapes or as a constant (the rare, slow path). */
function decoded(enc: number, data: Uint8Array, start: number, end: number, keys: string[]): Buffer {
  if (enc === ENC_CONST) return Buffer.from(keys[start] ?? '', 'utf8');
  const raw = Buffer.from(data.buffer, data.byteOffset + start, end - start).toString('utf8');
  if (enc === ENC_JSON) return Buffer.from(unescapeJson(raw), 'utf8');
  if (enc === ENC_SD) return Buffer.from(unescapeSd(raw), 'utf8');
  return Buffer.from(raw, 'utf8');
}
