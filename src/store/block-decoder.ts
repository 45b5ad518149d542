/**
 * The read side of a block: checks the payload CRC, decompresses it and decodes the
 * columns (block-builder.ts describes them) into a DecodedBlock, from which queries
 * test and build records. Every length is checked against what is left, so a damaged
 * payload throws CorruptError instead of reading out of bounds.
 */
import { Decompressor } from 'zstd-napi';
import { crc32c } from '@node-rs/crc32';
import { setField, type LogRecord } from '../record/record.js';
import { toNs } from '../record/time.js';
import { ByteReader, CorruptError } from './byte-buffer.js';
import type { BlockHeader } from './block-header.js';
import { SLOT_NAMES } from './block-builder.js';
import { buildFilter, type BlockFilter } from './block-filter.js';
import { HashSet32, addTokens, addValueTokens, hashPairFrom, pairPrefix } from './tokenizer.js';

export interface DecodedField {
  name: string;
  rows: Uint32Array;
  /** Value k is payload[starts[k], starts[k] + lens[k]). */
  starts: Uint32Array;
  lens: Uint32Array;
}

/** Where the columns that are decoded on first use start in the payload. */
interface LazyColumns {
  /** Time deltas, and their unit as a power of ten of ns. */
  time: number;
  unit: number;
  received: number;
  /** Per slot: its dictionary, then its ids. */
  slots: number[];
  sources: number;
}

/**
 * A decoded block. The columns a query reads for nearly every row (messages, fields,
 * severity, facility) are decoded at once; timestamps, receive times, host/app/procid/
 * msgid and sources are decoded on first use: a full-text count never pays for them.
 * The payload's CRC was checked before any of it is read, so a lazy column that
 * turns out inconsistent (a bug, or a CRC collision) still throws CorruptError.
 */
export class DecodedBlock {
  private _tsMs: Float64Array | null = null;
  private _tsNs: Uint32Array | null = null;
  private _rcMs: Float64Array | null = null;
  private _rcNs: Uint32Array | null = null;
  private _slotDicts: string[][] | null = null;
  private _slotIds: Uint32Array[] | null = null;
  private _sources: string[] | null = null;
  private _sourceIds: Uint32Array | null = null;

  constructor(
    readonly header: BlockHeader,
    readonly payload: Buffer,
    readonly n: number,
    readonly facility: Uint8Array,
    readonly severity: Uint8Array,
    private readonly lazy: LazyColumns,
    readonly msgStarts: Uint32Array,
    readonly msgLens: Uint32Array,
    readonly fields: DecodedField[],
  ) {}

  get tsMs(): Float64Array {
    if (this._tsMs === null) this.decodeTime();
    return this._tsMs!;
  }

  get tsNs(): Uint32Array {
    if (this._tsNs === null) this.decodeTime();
    return this._tsNs!;
  }

  get rcMs(): Float64Array {
    if (this._rcMs === null) this.decodeReceived();
    return this._rcMs!;
  }

  get rcNs(): Uint32Array {
    if (this._rcNs === null) this.decodeReceived();
    return this._rcNs!;
  }

  /** Per slot (host, app, procid, msgid): the dictionary… */
  get slotDicts(): string[][] {
    if (this._slotDicts === null) this.decodeSlots();
    return this._slotDicts!;
  }

  /** …and per record the id (0 = absent, k = entry k-1). */
  get slotIds(): Uint32Array[] {
    if (this._slotIds === null) this.decodeSlots();
    return this._slotIds!;
  }

  /** (listener, transport, peer) triplets… */
  get sources(): string[] {
    if (this._sources === null) this.decodeSources();
    return this._sources!;
  }

  /** …and per record the id. */
  get sourceIds(): Uint32Array {
    if (this._sourceIds === null) this.decodeSources();
    return this._sourceIds!;
  }

  /** Timestamps: deltas in the block's unit from the header's minimum, kept as (ms, ns) within the safe-integer range. */
  private decodeTime(): void {
    const { n, header } = this;
    const r = new ByteReader(this.payload, this.lazy.time);
    const tsMs = new Float64Array(n);
    const tsNs = new Uint32Array(n);
    const unit = 10 ** this.lazy.unit;
    let ms = header.minMs;
    let ns = header.minNs;
    for (let i = 0; i < n; i++) {
      ns += r.svarint() * unit;
      if (ns < 0 || ns >= 1_000_000) {
        const carry = Math.floor(ns / 1_000_000);
        ms += carry;
        ns -= carry * 1_000_000;
      }
      if (ms < header.minMs || ms > header.maxMs) throw new CorruptError('a timestamp outside the block\'s time range');
      tsMs[i] = ms;
      tsNs[i] = ns;
    }
    this._tsMs = tsMs;
    this._tsNs = tsNs;
  }

  private decodeReceived(): void {
    const n = this.n;
    const r = new ByteReader(this.payload, this.lazy.received);
    const rcMs = new Float64Array(n);
    const rcNs = new Uint32Array(n);
    let prev = this.header.minMs;
    for (let i = 0; i < n; i++) {
      prev += r.svarint();
      rcMs[i] = prev;
    }
    for (let i = 0; i < n; i++) {
      const x = r.uvarint();
      if (x >= 1_000_000) throw new CorruptError('bad ns value');
      rcNs[i] = x;
    }
    this._rcMs = rcMs;
    this._rcNs = rcNs;
  }

  private decodeSlots(): void {
    const n = this.n;
    const dicts: string[][] = [];
    const ids: Uint32Array[] = [];
    for (let slot = 0; slot < SLOT_NAMES.length; slot++) {
      const r = new ByteReader(this.payload, this.lazy.slots[slot]!);
      const size = r.uvarint();
      const dict: string[] = [];
      for (let k = 0; k < size; k++) dict.push(r.string());
      const col = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const id = r.uvarint();
        if (id > size) throw new CorruptError(`dictionary id ${id} of ${size}`);
        col[i] = id;
      }
      dicts.push(dict);
      ids.push(col);
    }
    this._slotDicts = dicts;
    this._slotIds = ids;
  }

  private decodeSources(): void {
    const r = new ByteReader(this.payload, this.lazy.sources);
    const nsrc = r.uvarint();
    const sources: string[] = [];
    for (let k = 0; k < 3 * nsrc; k++) sources.push(r.string());
    const ids = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const id = r.uvarint();
      if (id >= nsrc) throw new CorruptError(`source id ${id} of ${nsrc}`);
      ids[i] = id;
    }
    this._sources = sources;
    this._sourceIds = ids;
  }

  /** Field values by record, built on first use: row → [(field index, value index)…]. */
  private byRow: Int32Array[] | null = null;

  message(i: number): string {
    return this.payload.toString('utf8', this.msgStarts[i]!, this.msgStarts[i]! + this.msgLens[i]!);
  }

  slot(i: number, slot: number): string | null {
    const id = this.slotIds[slot]![i]!;
    return id === 0 ? null : this.slotDicts[slot]![id - 1]!;
  }

  /** Value of field `name` in record i, or undefined. */
  field(i: number, name: string): string | undefined {
    for (const f of this.fields) {
      if (f.name !== name) continue;
      // The last value wins when a record repeats a key (as in fieldsOf).
      const k = lowerBound(f.rows, i + 1) - 1;
      if (k >= 0 && f.rows[k] === i) return this.payload.toString('utf8', f.starts[k]!, f.starts[k]! + f.lens[k]!);
      return undefined;
    }
    return undefined;
  }

  fieldsOf(i: number): Record<string, string> {
    if (this.byRow === null) this.indexRows();
    const out: Record<string, string> = {};
    const list = this.byRow![i];
    if (list) {
      for (let j = 0; j < list.length; j += 2) {
        const f = this.fields[list[j]!]!;
        const k = list[j + 1]!;
        setField(out, f.name, this.payload.toString('utf8', f.starts[k]!, f.starts[k]! + f.lens[k]!));
      }
    }
    return out;
  }

  private indexRows(): void {
    const counts = new Uint32Array(this.n);
    for (const f of this.fields) for (let k = 0; k < f.rows.length; k++) counts[f.rows[k]!]!++;
    const rows: Int32Array[] = new Array(this.n);
    const fill = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) if (counts[i]! > 0) rows[i] = new Int32Array(2 * counts[i]!);
    this.fields.forEach((f, fi) => {
      for (let k = 0; k < f.rows.length; k++) {
        const r = f.rows[k]!;
        const at = fill[r]!;
        rows[r]![at] = fi;
        rows[r]![at + 1] = k;
        fill[r] = at + 2;
      }
    });
    this.byRow = rows;
  }

  record(i: number): LogRecord {
    const s = this.sourceIds[i]!;
    return {
      timestamp: toNs(this.tsMs[i]!, this.tsNs[i]!),
      received: toNs(this.rcMs[i]!, this.rcNs[i]!),
      host: this.slot(i, 0),
      app: this.slot(i, 1),
      procid: this.slot(i, 2),
      msgid: this.slot(i, 3),
      facility: this.facility[i]!,
      severity: this.severity[i]!,
      message: this.message(i),
      fields: this.fieldsOf(i),
      source: { listener: this.sources[3 * s]!, transport: this.sources[3 * s + 1]! as LogRecord['source']['transport'], peer: this.sources[3 * s + 2]! },
    };
  }
}

function lowerBound(a: Uint32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const decompressor = new Decompressor();

/** Checks and decompresses a block's payload (the bytes after its header). */
export function decompressPayload(header: BlockHeader, comp: Uint8Array): Buffer {
  if (comp.length !== header.compLen) throw new CorruptError(`payload is ${comp.length} bytes, header says ${header.compLen}`);
  if (crc32c(comp) !== header.payloadCrc) throw new CorruptError('block payload CRC mismatch');
  let raw: Buffer;
  try {
    raw = decompressor.decompress(comp);
  } catch (err) {
    throw new CorruptError(`zstd: ${(err as Error).message}`);
  }
  if (raw.length !== header.rawLen) throw new CorruptError(`payload decompressed to ${raw.length} bytes, header says ${header.rawLen}`);
  return raw;
}

export function decodeBlock(header: BlockHeader, comp: Uint8Array): DecodedBlock {
  const payload = decompressPayload(header, comp);
  const r = new ByteReader(payload);
  const n = r.uvarint();
  if (n !== header.count) throw new CorruptError(`block holds ${n} records, header says ${header.count}`);
  if (n > payload.length) throw new CorruptError('record count larger than the payload');
  const unit = r.uvarint();
  if (unit !== 0 && unit !== 3 && unit !== 6) throw new CorruptError(`bad time unit 10^${unit} ns`);
  // The lazy columns are only stepped over here (DecodedBlock decodes them on first use).
  const time = r.pos;
  skipVarints(r, n);
  const received = r.pos;
  skipVarints(r, 2 * n);
  const facility = Uint8Array.from(r.bytes(n));
  const severity = Uint8Array.from(r.bytes(n));
  const slots: number[] = [];
  for (let slot = 0; slot < SLOT_NAMES.length; slot++) {
    slots.push(r.pos);
    const size = r.uvarint();
    if (size > r.remaining) throw new CorruptError('dictionary larger than the payload');
    for (let k = 0; k < size; k++) r.lenBytes();
    skipVarints(r, n);
  }
  const sources = r.pos;
  const nsrc = r.uvarint();
  if (nsrc * 3 > r.remaining) throw new CorruptError('source table larger than the payload');
  for (let k = 0; k < 3 * nsrc; k++) r.lenBytes();
  skipVarints(r, n);
  const msgLens = new Uint32Array(n);
  for (let i = 0; i < n; i++) msgLens[i] = r.uvarint();
  const msgStarts = new Uint32Array(n);
  let at = r.pos;
  for (let i = 0; i < n; i++) {
    msgStarts[i] = at;
    at += msgLens[i]!;
  }
  r.bytes(at - r.pos);
  const nkeys = r.uvarint();
  if (nkeys > r.remaining) throw new CorruptError('more field names than bytes');
  const fields: DecodedField[] = [];
  for (let k = 0; k < nkeys; k++) {
    const name = r.string();
    const count = r.uvarint();
    // A record may repeat a key (JSON, logfmt: every value is kept), so count can exceed n; each value takes 2 bytes at least.
    if (count > r.remaining / 2) throw new CorruptError(`field ${name} has ${count} values in ${r.remaining} bytes`);
    const rows = new Uint32Array(count);
    let row = 0;
    for (let j = 0; j < count; j++) {
      row += r.uvarint();
      if (row >= n || (j > 0 && row < rows[j - 1]!)) throw new CorruptError(`field ${name}: bad row ${row}`);
      rows[j] = row;
    }
    const lens = new Uint32Array(count);
    for (let j = 0; j < count; j++) lens[j] = r.uvarint();
    const starts = new Uint32Array(count);
    let p = r.pos;
    for (let j = 0; j < count; j++) {
      starts[j] = p;
      p += lens[j]!;
    }
    r.bytes(p - r.pos);
    fields.push({ name, rows, starts, lens });
  }
  if (r.remaining !== 0) throw new CorruptError(`${r.remaining} stray bytes at the end of the payload`);
  return new DecodedBlock(header, payload, n, facility, severity, { time, unit, received, slots, sources }, msgStarts, msgLens, fields);
}

/** Steps over `count` varints (each at most 8 bytes, as ByteReader.uvarint reads them). */
function skipVarints(r: ByteReader, count: number): void {
  const b = r.buf;
  const end = r.end;
  let p = r.pos;
  for (let k = 0; k < count; k++) {
    const start = p;
    while (p < end && b[p]! >= 0x80) p++;
    if (p >= end) throw new CorruptError(`truncated varint at ${start}`);
    if (++p - start > 8) throw new CorruptError(`varint longer than 8 bytes at ${start}`);
  }
  r.pos = p;
}

/**
 * The token filter of a block, computed again from its decoded columns (the same
 * tokens block-builder.ts adds): for rebuilding a damaged index file. The kind is
 * today's (block-filter.ts), whichever one the block was first indexed with.
 */
export function filterOfBlock(b: DecodedBlock): BlockFilter {
  const set = new HashSet32(8192);
  const prefixes = SLOT_NAMES.map((n) => pairPrefix(n));
  for (let slot = 0; slot < SLOT_NAMES.length; slot++) {
    const values = b.slotDicts[slot]!.map((s) => Buffer.from(s, 'utf8'));
    for (const v of values) set.add(hashPairFrom(prefixes[slot]!, v, 0, v.length));
  }
  for (let i = 0; i < b.n; i++) addTokens(set, b.payload, b.msgStarts[i]!, b.msgStarts[i]! + b.msgLens[i]!);
  for (const f of b.fields) {
    const prefix = pairPrefix(f.name);
    for (let k = 0; k < f.rows.length; k++) addValueTokens(set, prefix, b.payload, f.starts[k]!, f.starts[k]! + f.lens[k]!);
  }
  return buildFilter(set);
}
