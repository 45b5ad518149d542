/**
 * A WAL entry: the frames of one pipeline write, with what it takes to parse them
 * again (docs/storage.md, "Write-ahead log"). The log keeps frames, not parsed
 * columns: frames are the smaller of the two, and parsing is deterministic given the
 * frame, its listener's format and its receive time, so recovery re-parses.
 *
 *   entry  := magic u32 'RLWE' · body length u32 · crc32c(body) u32 · body
 *   body   := kind u8 (1 = records) · lsn f64 · batches uvarint · batch*
 *   batch  := format str · received f64 · listener str · transport str · peer str
 *             · count uvarint · hasFlags u8 [flags u8 × count] · hasPeers u8 [peer str × count]
 *             · region length uvarint · (gap uvarint, length uvarint) × count · region bytes
 *
 * str is uvarint length + UTF-8. Frame k starts `gap` bytes after the end of frame
 * k-1 (the first: after the region start): when a batch's frames lie close together
 * in the read buffer (LF-delimited lines), the whole stretch is copied at once and
 * the gaps are the delimiters; otherwise the frames are copied one by one, gap 0.
 *
 * encodeEntry() writes the entry and, in the same pass, the PackedRecords the store
 * worker builds blocks from (spans moved to point into the entry).
 */
import { crc32c } from '@node-rs/crc32';
import { ENC_CONST, SLOTS, type RecordBatch } from '../record/record-batch.js';
import type { KeyDictionary } from '../record/key-dictionary.js';
import type { FrameBatch, Transport } from '../pipeline/batch.js';
import { FORMATS, type FormatName } from '../protocols/formats/format.js';
import { splitReceived } from '../record/time.js';
import { ByteReader, CorruptError } from './byte-buffer.js';
import { MAX_WAL_ENTRY, WAL_ENTRY_HEADER_SIZE, WAL_ENTRY_MAGIC } from './consts.js';
import { colsSize, viewCols, type PackedRecords } from './packed-records.js';

const KIND_RECORDS = 1;

/** A batch may be copied as one stretch when its gaps add up to at most this much per frame. */
const MAX_GAP_PER_FRAME = 2;

export interface EncodedEntry {
  /** The whole entry, header included: write it to the log as it is. */
  entry: Buffer;
  packed: PackedRecords;
}

function strBound(s: string): number {
  return 5 + 3 * s.length;
}

/**
 * Encodes one WAL entry for `batches`. Not reentrant: one encoder per store (its
 * scratch maps are reused across calls).
 */
export class EntryEncoder {
  /** Per key dictionary: key id → local id + 1 (0 = not in this message yet). */
  private local = new WeakMap<KeyDictionary, Int32Array>();
  private touched: { map: Int32Array; id: number }[] = [];

  encode(batches: readonly RecordBatch[], lsn: number): EncodedEntry {
    let bound = WAL_ENTRY_HEADER_SIZE + 32;
    let n = 0;
    let nf = 0;
    for (const b of batches) {
      bound += 64 + strBound(b.format) + strBound(b.source.listener) + strBound(b.source.transport) + strBound(b.source.peer);
      bound += b.count * 11 + this.regionBound(b);
      if (b.peers) for (let i = 0; i < b.count; i++) bound += strBound(b.peers[i] ?? '');
      n += b.count;
      nf += b.fieldKey.length;
    }
    // Its own ArrayBuffer (not the shared pool): it is transferred to the worker after the write.
    const entry = Buffer.allocUnsafeSlow(bound);
    const cols = new ArrayBuffer(colsSize(n, nf));
    const v = viewCols(cols, n, nf);
    const keys: string[] = [];
    const sources: string[] = [];
    const sourceIds = new Map<string, number>();
    const sourceId = (listener: string, transport: string, peer: string): number => {
      const k = `${listener}\u0000${transport}\u0000${peer}`;
      let id = sourceIds.get(k);
      if (id === undefined) {
        id = sources.length / 3;
        sources.push(listener, transport, peer);
        sourceIds.set(k, id);
      }
      return id;
    };

    let p = WAL_ENTRY_HEADER_SIZE;
    const u8 = (x: number) => {
      entry[p++] = x;
    };
    const uv = (x: number) => {
      while (x >= 0x80) {
        entry[p++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
      entry[p++] = x;
    };
    const f64 = (x: number) => {
      entry.writeDoubleLE(x, p);
      p += 8;
    };
    const str = (s: string) => {
      const len = Buffer.byteLength(s);
      uv(len);
      p += entry.write(s, p, 'utf8');
    };

    u8(KIND_RECORDS);
    f64(lsn);
    uv(batches.length);
    let r = 0; // record index across the message
    let f = 0; // field index across the message
    let rawBytes = 0;
    for (const b of batches) {
      const count = b.count;
      const offsets = b.offsets;
      str(b.format);
      f64(b.received);
      str(b.source.listener);
      str(b.source.transport);
      str(b.source.peer);
      uv(count);
      if (b.flags) {
        u8(1);
        for (let i = 0; i < count; i++) u8(b.flags[i]!);
      } else u8(0);
      if (b.peers) {
        u8(1);
        for (let i = 0; i < count; i++) str(b.peers[i] ?? '');
      } else u8(0);

      // Frames: one stretch when they lie close together, else one by one.
      const first = count > 0 ? offsets[0]! : 0;
      const last = count > 0 ? offsets[2 * count - 1]! : 0;
      let frameBytes = 0;
      for (let i = 0; i < count; i++) frameBytes += offsets[2 * i + 1]! - offsets[2 * i]!;
      const stretch = count > 0 && last - first <= frameBytes + MAX_GAP_PER_FRAME * count + 64 && this.ordered(offsets, count);
      const regionLen = stretch ? last - first : frameBytes;
      uv(regionLen);
      // (gap, length) per frame, written with a local position: `p` is shared with the helpers above, and slow to touch in a loop.
      let q = p;
      let prevEnd = stretch ? first : 0;
      for (let i = 0; i < count; i++) {
        const s = offsets[2 * i]!;
        let e = offsets[2 * i + 1]!;
        let x = stretch ? s - prevEnd : 0;
        prevEnd = e;
        while (x >= 0x80) {
          entry[q++] = (x & 0x7f) | 0x80;
          x >>>= 7;
        }
        entry[q++] = x;
        e -= s;
        while (e >= 0x80) {
          entry[q++] = (e & 0x7f) | 0x80;
          e >>>= 7;
        }
        entry[q++] = e;
      }
      p = q;
      const region = p;
      // delta[i]: where frame i's bytes start in the entry minus where they started in b.buf.
      let delta = 0;
      if (stretch) {
        b.buf.copy(entry, region, first, last);
        delta = region - first;
        p += regionLen;
      }
      const { ms: recvMs, ns: recvNs } = splitReceived(b.received);
      // Columns that need no change are copied whole (RecordWriter sizes them to the batch).
      const r0 = r;
      v.timeMs.set(b.timeMs.subarray(0, count), r0);
      v.timeNs.set(b.timeNs.subarray(0, count), r0);
      v.facility.set(b.facility.subarray(0, count), r0);
      v.severity.set(b.severity.subarray(0, count), r0);
      v.enc.set(b.enc.subarray(0, SLOTS * count), SLOTS * r0);
      v.recvMs.fill(recvMs, r0, r0 + count);
      v.recvNs.fill(recvNs, r0, r0 + count);
      if (b.peers) {
        for (let i = 0; i < count; i++) v.source[r0 + i] = sourceId(b.source.listener, b.source.transport, b.peers[i] ?? b.source.peer);
      } else v.source.fill(sourceId(b.source.listener, b.source.transport, b.source.peer), r0, r0 + count);
      const local = this.localMap(b.keys);
      const bSpans = b.spans;
      const bEnc = b.enc;
      const spans = v.spans;
      let at = p;
      for (let i = 0; i < count; i++, r++) {
        if (!stretch) {
          const s = offsets[2 * i]!;
          const e = offsets[2 * i + 1]!;
          b.buf.copy(entry, at, s, e);
          delta = at - s;
          at += e - s;
        }
        // Spans move with the frame's bytes; constants become ids of this message's `keys`; empty ones are [0, 0).
        for (let slot = 0; slot < SLOTS; slot++) {
          const k = i * 10 + slot * 2;
          const out = r * 10 + slot * 2;
          const start = bSpans[k]!;
          const end = bSpans[k + 1]!;
          const enc = bEnc[i * SLOTS + slot]!;
          if (enc === ENC_CONST) {
            spans[out] = this.localKey(b.keys, local, start, keys);
            spans[out + 1] = 0;
          } else if (start === end) {
            spans[out] = 0;
            spans[out + 1] = 0;
          } else {
            spans[out] = start + delta;
            spans[out + 1] = end + delta;
          }
        }
        v.fieldStart[r] = f;
        const bf1 = b.fieldStart[i + 1]!;
        for (let bf = b.fieldStart[i]!; bf < bf1; bf++, f++) {
          const key = b.fieldKey[bf]!;
          const lk = local[key]!;
          v.fieldKey[f] = lk > 0 ? lk - 1 : this.localKey(b.keys, local, key, keys);
          const enc = b.fieldEnc[bf]!;
          v.fieldEnc[f] = enc;
          const start = b.fieldSpans[2 * bf]!;
          const end = b.fieldSpans[2 * bf + 1]!;
          if (enc === ENC_CONST) {
            v.fieldSpans[2 * f] = this.localKey(b.keys, local, start, keys);
            v.fieldSpans[2 * f + 1] = 0;
          } else if (start === end) {
            v.fieldSpans[2 * f] = 0;
            v.fieldSpans[2 * f + 1] = 0;
          } else {
            v.fieldSpans[2 * f] = start + delta;
            v.fieldSpans[2 * f + 1] = end + delta;
          }
        }
      }
      p = at;
      rawBytes += frameBytes;
    }
    v.fieldStart[n] = f;
    this.resetLocal();

    const bodyLen = p - WAL_ENTRY_HEADER_SIZE;
    entry.writeUInt32LE(WAL_ENTRY_MAGIC, 0);
    entry.writeUInt32LE(bodyLen, 4);
    entry.writeUInt32LE(crc32c(entry.subarray(WAL_ENTRY_HEADER_SIZE, p)), 8);
    const written = entry.subarray(0, p);
    return { entry: written, packed: { lsn, n, nf, rawBytes, data: entry.buffer as ArrayBuffer, cols, keys, sources } };
  }

  /** Bytes the frames of b take in the entry at most. */
  private regionBound(b: RecordBatch): number {
    if (b.count === 0) return 0;
    // Counted here rather than trusting b.bytes: a wrong bound would cut the entry short.
    let frames = 0;
    for (let i = 0; i < b.count; i++) frames += b.offsets[2 * i + 1]! - b.offsets[2 * i]!;
    const span = b.offsets[2 * b.count - 1]! - b.offsets[0]!;
    return Math.max(frames, Math.min(span, frames + MAX_GAP_PER_FRAME * b.count + 64));
  }

  /** Frames in increasing, non-overlapping order (always true of framers; checked, as the stretch copy relies on it). */
  private ordered(offsets: Uint32Array, count: number): boolean {
    let prev = offsets[0]!;
    for (let i = 0; i < count; i++) {
      const s = offsets[2 * i]!;
      const e = offsets[2 * i + 1]!;
      if (s < prev || e < s) return false;
      prev = e;
    }
    return true;
  }

  /** The key dictionary's local-id map, sized to the dictionary (looked up once per batch). */
  private localMap(dict: KeyDictionary): Int32Array {
    let map = this.local.get(dict);
    if (map === undefined || map.length < dict.size) {
      const next = new Int32Array(Math.max(64, dict.size * 2));
      if (map) next.set(map);
      map = next;
      this.local.set(dict, map);
    }
    return map;
  }

  /** Local id of key `id` of `dict` in this message's `keys` (added on first use). */
  private localKey(dict: KeyDictionary, map: Int32Array, id: number, keys: string[]): number {
    const l = map[id]!;
    if (l > 0) return l - 1;
    keys.push(dict.strings[id] ?? '');
    map[id] = keys.length;
    this.touched.push({ map, id });
    return keys.length - 1;
  }

  private resetLocal(): void {
    for (const t of this.touched) t.map[t.id] = 0;
    this.touched.length = 0;
  }
}

/** A batch of frames read back from the log, ready to be parsed again. */
export interface DecodedBatch extends FrameBatch {
  format: FormatName;
}

export interface DecodedEntry {
  lsn: number;
  batches: DecodedBatch[];
}

const KNOWN_FORMATS = new Set<string>(FORMATS);

/**
 * Decodes the body of an entry (after its header, which the reader has checked: magic,
 * length, CRC). `buf` is the whole buffer the body lies in; frames are views of it.
 * Throws CorruptError on anything inconsistent.
 */
export function decodeEntryBody(buf: Buffer, start: number, end: number): DecodedEntry {
  const r = new ByteReader(buf, start, end);
  const kind = r.u8();
  if (kind !== KIND_RECORDS) throw new CorruptError(`unknown WAL entry kind ${kind}`);
  const lsn = r.f64();
  if (!Number.isSafeInteger(lsn) || lsn < 1) throw new CorruptError(`bad LSN ${lsn}`);
  const nb = r.uvarint();
  const batches: DecodedBatch[] = [];
  for (let k = 0; k < nb; k++) {
    const format = r.string() as FormatName;
    if (!KNOWN_FORMATS.has(format)) throw new CorruptError(`unknown format "${format.slice(0, 40)}"`);
    const received = r.f64();
    const listener = r.string();
    const transport = r.string() as Transport;
    const peer = r.string();
    const count = r.uvarint();
    if (count > r.remaining) throw new CorruptError(`batch of ${count} frames in ${r.remaining} bytes`);
    let flags: Uint8Array | null = null;
    if (r.u8() === 1) flags = Uint8Array.from(r.bytes(count));
    let peers: string[] | null = null;
    if (r.u8() === 1) {
      peers = [];
      for (let i = 0; i < count; i++) peers.push(r.string());
    }
    const regionLen = r.uvarint();
    const offsets = new Uint32Array(2 * count);
    let at = 0;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      at += r.uvarint();
      const len = r.uvarint();
      offsets[2 * i] = at;
      offsets[2 * i + 1] = at + len;
      at += len;
      bytes += len;
    }
    if (at > regionLen) throw new CorruptError(`frames run past their region (${at} > ${regionLen})`);
    const region = r.pos;
    r.bytes(regionLen);
    for (let i = 0; i < 2 * count; i++) offsets[i]! += region;
    batches.push({
      format, buf, offsets, flags, count, bytes, retained: regionLen, received,
      source: { listener, transport, peer }, peers, hold: null,
    });
  }
  if (r.remaining !== 0) throw new CorruptError(`${r.remaining} stray bytes after the last batch`);
  return { lsn, batches };
}

/** Checks an entry header at buf[pos]; returns the body length, or -1 when it is not a valid entry there. */
export function checkEntry(buf: Buffer, pos: number, end: number): number {
  if (pos + WAL_ENTRY_HEADER_SIZE > end) return -1;
  if (buf.readUInt32LE(pos) !== WAL_ENTRY_MAGIC) return -1;
  const len = buf.readUInt32LE(pos + 4);
  if (len > MAX_WAL_ENTRY || pos + WAL_ENTRY_HEADER_SIZE + len > end) return -1;
  const crc = buf.readUInt32LE(pos + 8);
  if (crc32c(buf.subarray(pos + WAL_ENTRY_HEADER_SIZE, pos + WAL_ENTRY_HEADER_SIZE + len)) !== crc) return -1;
  return len;
}
