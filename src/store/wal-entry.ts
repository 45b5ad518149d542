/**
 * A WAL entry: the frames of one pipeline write, with what it takes to parse them
 * (docs/storage.md, "Write-ahead log"). The log keeps frames, not parsed columns:
 * frames are the smaller of the two, and parsing is deterministic given the frame, its
 * listener's format and its receive time. The store worker parses them from the entry
 * (so the event loop does not), and recovery does the same with entries read back.
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
 */
import { crc32c } from '@node-rs/crc32';
import type { FrameBatch, Transport } from '../pipeline/batch.js';
import { FORMATS, type FormatName } from '../protocols/formats/format.js';
import { ByteReader, CorruptError, putUvarint } from './byte-buffer.js';
import { MAX_WAL_ENTRY, WAL_END_MARK, WAL_ENTRY_HEADER_SIZE, WAL_ENTRY_MAGIC } from './consts.js';

const KIND_RECORDS = 1;

/** A batch may be copied as one stretch when its gaps add up to at most this much per frame. */
const MAX_GAP_PER_FRAME = 2;

/** A frame batch as the store takes it and as it reads it back from the log: with the format its listener parses with. */
export type StoreBatch = FrameBatch & { format: FormatName };

export interface EncodedEntry {
  /** The whole entry, header included, in an ArrayBuffer of its own (it is transferred to the worker after the write). */
  entry: Buffer;
  records: number;
  /** Bytes of the frames (what "raw" means in the store's figures). */
  rawBytes: number;
}

function strBound(s: string): number {
  return 5 + 3 * s.length;
}

function frameBytesOf(b: FrameBatch): number {
  let n = 0;
  for (let i = 0; i < b.count; i++) n += b.offsets[2 * i + 1]! - b.offsets[2 * i]!;
  return n;
}

/** Frames in increasing, non-overlapping order (always true of framers; checked, as the stretch copy relies on it). */
function ordered(offsets: Uint32Array, count: number): boolean {
  let prev = offsets[0]!;
  for (let i = 0; i < count; i++) {
    const s = offsets[2 * i]!;
    const e = offsets[2 * i + 1]!;
    if (s < prev || e < s) return false;
    prev = e;
  }
  return true;
}

/** Writes s as a str (uvarint length + UTF-8) at p; returns the position after it. */
function putStr(buf: Buffer, p: number, s: string): number {
  p = putUvarint(buf, p, Buffer.byteLength(s));
  return p + buf.write(s, p, 'utf8');
}

/**
 * Encodes one WAL entry holding `batches`, into `alloc(bound)` (a buffer of at least
 * bound bytes, whose ArrayBuffer the entry then owns from its start: it is transferred
 * to the store worker whole).
 *
 * Written without closures (helpers take and return the position): a closure made per
 * call is a new function each time, and V8 compiled the frame loop in one such closure
 * four or five times over the first seconds of a run (~145 ms of compile time).
 */
export function encodeEntry(batches: readonly StoreBatch[], lsn: number, alloc: (bound: number) => Buffer = Buffer.allocUnsafeSlow): EncodedEntry {
  let bound = WAL_ENTRY_HEADER_SIZE + 32;
  const frameBytes: number[] = [];
  for (const b of batches) {
    const fb = frameBytesOf(b);
    frameBytes.push(fb);
    bound += 64 + strBound(b.format) + strBound(b.source.listener) + strBound(b.source.transport) + strBound(b.source.peer);
    bound += b.count * 11;
    if (b.count > 0) bound += Math.max(fb, Math.min(b.offsets[2 * b.count - 1]! - b.offsets[0]!, fb + MAX_GAP_PER_FRAME * b.count + 64));
    if (b.peers) for (let i = 0; i < b.count; i++) bound += strBound(b.peers[i] ?? '');
  }
  const entry = alloc(bound);
  let p = WAL_ENTRY_HEADER_SIZE;
  entry[p++] = KIND_RECORDS;
  entry.writeDoubleLE(lsn, p);
  p += 8;
  p = putUvarint(entry, p, batches.length);
  let records = 0;
  let rawBytes = 0;
  for (let k = 0; k < batches.length; k++) {
    const fb = frameBytes[k]!;
    p = encodeBatch(entry, p, batches[k]!, fb);
    records += batches[k]!.count;
    rawBytes += fb;
  }
  const bodyLen = p - WAL_ENTRY_HEADER_SIZE;
  entry.writeUInt32LE(WAL_ENTRY_MAGIC, 0);
  entry.writeUInt32LE(bodyLen, 4);
  entry.writeUInt32LE(crc32c(entry.subarray(WAL_ENTRY_HEADER_SIZE, p)), 8);
  return { entry: entry.subarray(0, p), records, rawBytes };
}

/** One batch of an entry at p (`fb`: its frame bytes); returns the position after it. */
function encodeBatch(entry: Buffer, p: number, b: StoreBatch, fb: number): number {
  const count = b.count;
  const offsets = b.offsets;
  p = putStr(entry, p, b.format);
  entry.writeDoubleLE(b.received, p);
  p += 8;
  p = putStr(entry, p, b.source.listener);
  p = putStr(entry, p, b.source.transport);
  p = putStr(entry, p, b.source.peer);
  p = putUvarint(entry, p, count);
  if (b.flags) {
    entry[p++] = 1;
    for (let i = 0; i < count; i++) entry[p++] = b.flags[i]!;
  } else entry[p++] = 0;
  if (b.peers) {
    entry[p++] = 1;
    for (let i = 0; i < count; i++) p = putStr(entry, p, b.peers[i] ?? '');
  } else entry[p++] = 0;
  // Frames: one stretch when they lie close together, else one by one.
  const first = count > 0 ? offsets[0]! : 0;
  const last = count > 0 ? offsets[2 * count - 1]! : 0;
  const stretch = count > 0 && last - first <= fb + MAX_GAP_PER_FRAME * count + 64 && ordered(offsets, count);
  p = putUvarint(entry, p, stretch ? last - first : fb);
  // (gap, length) per frame.
  let prevEnd = stretch ? first : 0;
  for (let i = 0; i < count; i++) {
    const s = offsets[2 * i]!;
    const e = offsets[2 * i + 1]!;
    p = putUvarint(entry, p, stretch ? s - prevEnd : 0);
    p = putUvarint(entry, p, e - s);
    prevEnd = e;
  }
  if (stretch) p += b.buf.copy(entry, p, first, last);
  else for (let i = 0; i < count; i++) p += b.buf.copy(entry, p, offsets[2 * i]!, offsets[2 * i + 1]!);
  return p;
}

export interface DecodedEntry {
  lsn: number;
  batches: StoreBatch[];
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
  const batches: StoreBatch[] = [];
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

/**
 * Checks an entry header at buf[pos]; returns the body length, or -1 when it is not a
 * valid entry there. `salt`: the mask of the file's keyed checksums (wal-key.ts), 0 when
 * they are not keyed.
 */
export function checkEntry(buf: Buffer, pos: number, end: number, salt = 0): number {
  if (pos + WAL_ENTRY_HEADER_SIZE > end) return -1;
  if (buf.readUInt32LE(pos) !== WAL_ENTRY_MAGIC) return -1;
  const len = buf.readUInt32LE(pos + 4);
  if (len > MAX_WAL_ENTRY || pos + WAL_ENTRY_HEADER_SIZE + len > end) return -1;
  const crc = buf.readUInt32LE(pos + 8);
  if (((crc32c(buf.subarray(pos + WAL_ENTRY_HEADER_SIZE, pos + WAL_ENTRY_HEADER_SIZE + len)) ^ salt) >>> 0) !== crc) return -1;
  return len;
}

/** Whether buf[pos] holds an end mark (wal-reader.ts): a zero word where an entry's magic would be. */
export function atEndMark(buf: Buffer, pos: number): boolean {
  return pos + WAL_END_MARK <= buf.length && buf.readUInt32LE(pos) === 0;
}

/**
 * The LSN of the entry at buf[pos], whose header checkEntry() accepted with body length
 * `len` (kind u8, then the LSN): -1 when the body is too short to hold one.
 */
export function entryLsn(buf: Buffer, pos: number, len: number): number {
  return len < 9 ? -1 : buf.readDoubleLE(pos + WAL_ENTRY_HEADER_SIZE + 1);
}
