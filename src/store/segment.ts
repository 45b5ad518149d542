/**
 * Segment files (docs/storage.md, "Segments and index"):
 *
 *   NNNNNN.seg := file header · (block header 72 B · compressed payload)*
 *   NNNNNN.idx := file header · index entry*
 *   index entry := magic u32 'RLEI' · entry length u32 · segment offset f64
 *                  · block header 72 B · token filter · crc32c u32 (of everything before it)
 *
 * Both files only ever grow by appending, except when recovery cuts an uncommitted or
 * torn tail. The index is what queries read first (time range, masks, token filter);
 * it can be rebuilt from the segment, whose blocks carry their own headers and CRCs.
 */
import { closeSync, fdatasyncSync, ftruncateSync, fstatSync, openSync, readFileSync, rmSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { ByteReader, ByteWriter, CorruptError } from './byte-buffer.js';
import { filterByteLength, marshalFilter, unmarshalFilter, type BlockFilter } from './block-filter.js';
import { BLOCK_HEADER_SIZE, marshalBlockHeader, unmarshalBlockHeader, type BlockHeader } from './block-header.js';
import { FILE_HEADER_SIZE, FORMAT_VERSION, IDX_ENTRY_MAGIC, IDX_FILE_MAGIC, MAX_IDX_ENTRY, SEG_FILE_MAGIC, BLOCK_MAGIC } from './consts.js';
import { segmentName } from './partition.js';
import type { SealedBlock } from './block-builder.js';

/** What a query's block-level test reads of an index entry (plan.ts blockMayMatch). */
export interface BlockSummary {
  header: Pick<BlockHeader, 'minMs' | 'minNs' | 'maxMs' | 'maxNs' | 'facMask' | 'sevMask'>;
  filter: { mayContain(hash: number): boolean };
}

export interface IndexEntry {
  /** Where the block (its header) starts in the .seg file. */
  segOffset: number;
  header: BlockHeader;
  /** The block's token filter (block-filter.ts). */
  filter: BlockFilter;
}

export type Damage = 'none' | 'tail' | 'middle';

export interface IndexRead {
  entries: IndexEntry[];
  /** End of the last valid entry: where the file should be cut after a torn tail. */
  validEnd: number;
  /** 'tail': bytes after the last valid entry do not parse (a torn append); 'middle': a damaged entry with valid ones after it. */
  damage: Damage;
}

export interface SegmentPaths {
  seg: string;
  idx: string;
}

export function segmentPaths(dir: string, no: number): SegmentPaths {
  const base = join(dir, segmentName(no));
  return { seg: `${base}.seg`, idx: `${base}.idx` };
}

export function fileHeader(magic: number): Buffer {
  const b = Buffer.alloc(FILE_HEADER_SIZE);
  b.writeUInt32LE(magic, 0);
  b.writeUInt32LE(FORMAT_VERSION, 4);
  return b;
}

/** Checks a file header; throws CorruptError when it is not ours (another version counts as damage, see block-header.ts). */
export function checkFileHeader(buf: Uint8Array, magic: number, what: string): void {
  if (buf.length < FILE_HEADER_SIZE) throw new CorruptError(`${what}: shorter than its header`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  if (b.readUInt32LE(0) !== magic) throw new CorruptError(`${what}: bad magic`);
  const v = b.readUInt32LE(4);
  if (v !== FORMAT_VERSION) throw new CorruptError(`${what}: header names layout version ${v}, not ${FORMAT_VERSION}`);
}

/** Bytes of the index entry of a block with this filter (what marshalIndexEntry writes). */
export function indexEntryLength(filter: BlockFilter): number {
  return 16 + BLOCK_HEADER_SIZE + filterByteLength(filter) + 4;
}

export function marshalIndexEntry(segOffset: number, header: BlockHeader, filter: BlockFilter): Buffer {
  const w = new ByteWriter(indexEntryLength(filter));
  w.u32(IDX_ENTRY_MAGIC);
  w.u32(0); // length, filled below
  w.f64(segOffset);
  w.ensure(BLOCK_HEADER_SIZE);
  marshalBlockHeader(header, w.buf, w.pos);
  w.pos += BLOCK_HEADER_SIZE;
  marshalFilter(filter, w);
  const len = w.pos + 4;
  w.buf.writeUInt32LE(len, 4);
  w.u32(crc32c(w.buf.subarray(0, w.pos)));
  return Buffer.from(w.view());
}

/** The entry at buf[pos], or null when there is no valid one there. */
function indexEntryAt(buf: Buffer, pos: number): { entry: IndexEntry; len: number } | null {
  if (pos + 8 > buf.length || buf.readUInt32LE(pos) !== IDX_ENTRY_MAGIC) return null;
  const len = buf.readUInt32LE(pos + 4);
  if (len < 16 + BLOCK_HEADER_SIZE + 9 || len > MAX_IDX_ENTRY || pos + len > buf.length) return null;
  if (crc32c(buf.subarray(pos, pos + len - 4)) !== buf.readUInt32LE(pos + len - 4)) return null;
  try {
    const r = new ByteReader(buf, pos + 8, pos + len - 4);
    const segOffset = r.f64();
    const header = unmarshalBlockHeader(buf, r.pos);
    r.pos += BLOCK_HEADER_SIZE;
    const filter = unmarshalFilter(r);
    if (r.remaining !== 0 || !Number.isSafeInteger(segOffset) || segOffset < FILE_HEADER_SIZE) return null;
    return { entry: { segOffset, header, filter }, len };
  } catch (err) {
    if (err instanceof CorruptError) return null;
    throw err;
  }
}

/** Parses a whole .idx file (its bytes). Never throws on damage: it is reported in `damage`. */
export function readIndex(buf: Buffer): IndexRead {
  const entries: IndexEntry[] = [];
  checkFileHeader(buf, IDX_FILE_MAGIC, 'index file');
  let pos = FILE_HEADER_SIZE;
  let damage: Damage = 'none';
  let validEnd = pos;
  while (pos < buf.length) {
    const e = indexEntryAt(buf, pos);
    if (e) {
      entries.push(e.entry);
      pos += e.len;
      validEnd = pos;
      continue;
    }
    // Not an entry here: a torn tail, unless a valid entry follows somewhere.
    damage = 'tail';
    for (let q = buf.indexOf(MAGIC_IDX_BYTES, pos + 1); q >= 0; q = buf.indexOf(MAGIC_IDX_BYTES, q + 1)) {
      if (indexEntryAt(buf, q)) {
        damage = 'middle';
        break;
      }
    }
    break;
  }
  return { entries, validEnd, damage };
}

const MAGIC_IDX_BYTES = Buffer.alloc(4);
MAGIC_IDX_BYTES.writeUInt32LE(IDX_ENTRY_MAGIC);
const MAGIC_BLOCK_BYTES = Buffer.alloc(4);
MAGIC_BLOCK_BYTES.writeUInt32LE(BLOCK_MAGIC);

export interface ScannedBlock {
  offset: number;
  header: BlockHeader;
}

/**
 * Walks a .seg file's blocks by their own headers, for rebuilding a damaged index.
 * A damaged header is skipped by searching for the next block magic whose header
 * checks out, so one bad block does not hide the ones after it. Payload CRCs are
 * checked by the caller when it decodes the block.
 */
export function scanSegment(buf: Buffer): { blocks: ScannedBlock[]; validEnd: number; skippedBytes: number; headerDamaged: boolean } {
  // A damaged file header hides nothing: the blocks after it carry their own magic and CRCs.
  let headerDamaged = false;
  try {
    checkFileHeader(buf, SEG_FILE_MAGIC, 'segment file');
  } catch (err) {
    if (!(err instanceof CorruptError)) throw err;
    headerDamaged = true;
  }
  const blocks: ScannedBlock[] = [];
  let pos = FILE_HEADER_SIZE;
  let validEnd = pos;
  let skipped = 0;
  while (pos + BLOCK_HEADER_SIZE <= buf.length) {
    let header: BlockHeader | null = null;
    try {
      header = unmarshalBlockHeader(buf, pos);
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
    }
    if (header && pos + BLOCK_HEADER_SIZE + header.compLen <= buf.length) {
      blocks.push({ offset: pos, header });
      pos += BLOCK_HEADER_SIZE + header.compLen;
      validEnd = pos;
      continue;
    }
    const next = buf.indexOf(MAGIC_BLOCK_BYTES, pos + 1);
    if (next < 0) break;
    skipped += next - pos;
    pos = next;
  }
  return { blocks, validEnd, skippedBytes: skipped + (buf.length - Math.max(validEnd, pos < buf.length ? pos : buf.length)), headerDamaged };
}

function writeFully(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off, position + off);
    if (n <= 0) throw new Error('write made no progress');
    off += n;
  }
}

/**
 * Appends blocks to one segment (the .seg and .idx pair) with positional writes:
 * a write that fails (ENOSPC…) throws and leaves the lengths where they were, so the
 * retry overwrites the partial bytes instead of leaving garbage between blocks.
 */
export class SegmentWriter {
  private segFd: number;
  private idxFd: number;
  /** Bytes written so far (the next block goes here). */
  segLen: number;
  idxLen: number;
  /** Written since the last sync. */
  dirty = false;
  blocks = 0;
  /** For least-recently-used eviction by the store worker. */
  lastUse = 0;

  private constructor(readonly dir: string, readonly no: number, segFd: number, idxFd: number, segLen: number, idxLen: number) {
    this.segFd = segFd;
    this.idxFd = idxFd;
    this.segLen = segLen;
    this.idxLen = idxLen;
  }

  /** Creates a new segment pair (headers written, not yet synced). */
  static create(dir: string, no: number): SegmentWriter {
    const p = segmentPaths(dir, no);
    const flags = constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC;
    const segFd = openSync(p.seg, flags, 0o644);
    let idxFd = -1;
    try {
      idxFd = openSync(p.idx, flags, 0o644);
      writeFully(segFd, fileHeader(SEG_FILE_MAGIC), 0);
      writeFully(idxFd, fileHeader(IDX_FILE_MAGIC), 0);
    } catch (err) {
      closeSync(segFd);
      if (idxFd >= 0) closeSync(idxFd);
      // Leave no half-made pair behind (a full disk): the retry creates it again under the
      // same number, instead of one more empty pair per attempt that recovery reports as damage.
      for (const f of [p.seg, p.idx]) rmSync(f, { force: true });
      throw err;
    }
    const w = new SegmentWriter(dir, no, segFd, idxFd, FILE_HEADER_SIZE, FILE_HEADER_SIZE);
    w.dirty = true;
    return w;
  }

  /** Opens an existing, recovered segment pair to append after segLen / idxLen. */
  static reopen(dir: string, no: number, segLen: number, idxLen: number, blocks: number): SegmentWriter {
    const p = segmentPaths(dir, no);
    const segFd = openSync(p.seg, constants.O_RDWR);
    let idxFd: number;
    try {
      idxFd = openSync(p.idx, constants.O_RDWR);
    } catch (err) {
      closeSync(segFd);
      throw err;
    }
    const w = new SegmentWriter(dir, no, segFd, idxFd, segLen, idxLen);
    w.blocks = blocks;
    return w;
  }

  append(block: SealedBlock): void {
    const entry = marshalIndexEntry(this.segLen, block.header, block.filter);
    writeFully(this.segFd, block.bytes, this.segLen);
    writeFully(this.idxFd, entry, this.idxLen);
    this.segLen += block.bytes.length;
    this.idxLen += entry.length;
    this.blocks++;
    this.dirty = true;
  }

  /** fdatasync both files. Cuts them to their lengths first, so bytes of a failed write never linger past the end. */
  sync(): void {
    if (!this.dirty) return;
    if (fstatSync(this.segFd).size > this.segLen) ftruncateSync(this.segFd, this.segLen);
    if (fstatSync(this.idxFd).size > this.idxLen) ftruncateSync(this.idxFd, this.idxLen);
    fdatasyncSync(this.segFd);
    fdatasyncSync(this.idxFd);
    this.dirty = false;
  }

  close(): void {
    closeSync(this.segFd);
    closeSync(this.idxFd);
  }
}

/** Reads a whole file, or null if it does not exist (deleted by retention while a reader looked). */
export function readFileOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
