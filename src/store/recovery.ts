/**
 * Start-up checks of the block files (docs/storage.md, "Commit and recovery"), run by
 * the store worker before it writes anything:
 *
 *  - index entries of blocks past the checkpoint's epoch were never committed: they
 *    and their blocks are cut off (their records are still in the WAL and are
 *    replayed);
 *  - a torn tail (a partial index entry, a block cut short) is cut off;
 *  - an index damaged in the middle is rebuilt from its segment, whose blocks carry
 *    their own headers and CRCs, so every intact block stays reachable;
 *  - the last block of every segment has its payload CRC checked (the tail is where
 *    a crash leaves damage); damage elsewhere is found when a query reads the block.
 *
 * Nothing here throws on damaged data: it is fixed where it can be, and reported.
 * Only I/O errors and files of a newer format version stop the start.
 */
import { closeSync, fdatasyncSync, ftruncateSync, openSync, readSync, statSync, writeSync, constants } from 'node:fs';
import { CorruptError } from './byte-buffer.js';
import { BLOCK_HEADER_SIZE, unmarshalBlockHeader, type BlockHeader } from './block-header.js';
import { filterOfBlock, decodeBlock, decompressPayload } from './block-decoder.js';
import { BLOCK_MAGIC, FILE_HEADER_SIZE, IDX_FILE_MAGIC, SEG_FILE_MAGIC } from './consts.js';
import { listPartitions, listSegments } from './partition.js';
import { fileHeader, indexEntryLength, marshalIndexEntry, readFileOrNull, readIndex, scanSegment, segmentPaths, type IndexEntry } from './segment.js';
import { replaceFileDurably, truncateFile } from './fs-util.js';

export interface RecoveryReport {
  partitions: number;
  segments: number;
  blocks: number;
  records: number;
  /** Blocks of an epoch past the checkpoint, removed (their records come back from the WAL). */
  uncommittedBlocks: number;
  /** Segments or index files whose tail was torn and cut off. */
  tornTails: number;
  /** Index files rebuilt from their segment because of damage in the middle. */
  rebuiltIndexes: number;
  /** Blocks found damaged (bad CRC, undecodable) and left out of the index. */
  damagedBlocks: number;
  /** Segment file headers found damaged and written again. */
  damagedHeaders: number;
  /** Bytes of block files that held nothing usable. */
  damagedBytes: number;
  /** Bytes of the block files now on disk. */
  diskBytes: number;
  /** Highest maxLsn over committed blocks (used when the checkpoint itself was lost). */
  maxBlockLsn: number;
  /** Highest epoch seen in a kept block. */
  maxEpoch: number;
  /** Human-readable notes, one per problem found. */
  notes: string[];
}

export interface LastSegment {
  no: number;
  segLen: number;
  idxLen: number;
  blocks: number;
}

/**
 * Checks every segment under `partitionsDir` against the committed `epoch`
 * (Infinity: trust every valid block, when the checkpoint was lost).
 * Returns the report and, per partition key, its last segment (to append to).
 */
export function recoverSegments(partitionsDir: string, epoch: number, readOnly = false): { report: RecoveryReport; last: Map<number, LastSegment> } {
  const report: RecoveryReport = {
    partitions: 0, segments: 0, blocks: 0, records: 0, uncommittedBlocks: 0, tornTails: 0, rebuiltIndexes: 0,
    damagedBlocks: 0, damagedHeaders: 0, damagedBytes: 0, diskBytes: 0, maxBlockLsn: 0, maxEpoch: 0, notes: [],
  };
  const last = new Map<number, LastSegment>();
  for (const part of listPartitions(partitionsDir)) {
    report.partitions++;
    for (const no of listSegments(part.path)) {
      report.segments++;
      const r = recoverSegment(part.path, no, epoch, report, readOnly);
      if (r) last.set(part.key, { no, ...r });
    }
  }
  return { report, last };
}

function recoverSegment(dir: string, no: number, epoch: number, report: RecoveryReport, readOnly: boolean): { segLen: number; idxLen: number; blocks: number } | null {
  const p = segmentPaths(dir, no);
  let segSize = fileSize(p.seg);
  if (segSize === null) {
    report.notes.push(`${p.idx}: its segment file is missing`);
    return null;
  }
  if (segSize < FILE_HEADER_SIZE && !readOnly) {
    // The file header never reached the disk (a crash soon after the segment was created,
    // before its first commit): write it again, or blocks appended after it would make a
    // segment without a header, which scanSegment (index rebuilds) cannot read.
    report.notes.push(`${p.seg}: ${segSize} bytes, shorter than its header; header written again`);
    rewriteHeader(p.seg, SEG_FILE_MAGIC);
    segSize = FILE_HEADER_SIZE;
  } else if (!segHeaderIntact(p.seg)) {
    // A damaged file header hides no block (each has its own magic and CRCs); put it right.
    report.damagedHeaders++;
    report.damagedBytes += FILE_HEADER_SIZE;
    report.notes.push(`${p.seg}: damaged file header${readOnly ? '' : ' written again'}`);
    if (!readOnly) patchHeader(p.seg, SEG_FILE_MAGIC);
  }
  const idxBuf = readFileOrNull(p.idx);
  let entries: IndexEntry[] = [];
  let rebuild = idxBuf === null;
  if (idxBuf !== null) {
    try {
      const idx = readIndex(idxBuf);
      entries = idx.entries;
      if (idx.damage === 'middle') rebuild = true;
      else if (idx.damage === 'tail') {
        report.tornTails++;
        report.damagedBytes += idxBuf.length - idx.validEnd;
        report.notes.push(`${p.idx}: torn tail of ${idxBuf.length - idx.validEnd} bytes cut off`);
      }
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      rebuild = true;
    }
  }
  // Bytes past the last indexed block are normally an append cut short by a crash or
  // uncommitted blocks, and are cut off below. But if they hold intact committed blocks,
  // it is the index that lost its tail (torn, truncated): rebuild it from the segment
  // rather than cutting committed data off.
  let lostTail = false;
  if (!rebuild) {
    let indexedEnd = FILE_HEADER_SIZE;
    for (const e of entries) indexedEnd = Math.max(indexedEnd, e.segOffset + BLOCK_HEADER_SIZE + e.header.compLen);
    lostTail = segSize > indexedEnd && committedBlockAfter(p.seg, indexedEnd, segSize, epoch);
    rebuild = lostTail;
  }
  if (rebuild) {
    report.rebuiltIndexes++;
    report.notes.push(`${p.idx}: ${idxBuf === null ? 'missing' : lostTail ? 'lacks committed blocks that are intact in the segment' : 'damaged'}; rebuilt from ${p.seg}`);
    entries = rebuildIndex(p.seg, epoch, report);
    if (!readOnly) writeIndexFile(p.idx, entries);
  }

  // Keep entries up to the first one that is uncommitted or runs past the segment's end.
  let keep = 0;
  let segLen = FILE_HEADER_SIZE;
  let idxLen = FILE_HEADER_SIZE;
  for (const e of entries) {
    const end = e.segOffset + BLOCK_HEADER_SIZE + e.header.compLen;
    if (e.header.epoch > epoch) {
      report.uncommittedBlocks += entries.length - keep;
      break;
    }
    if (end > segSize) {
      report.tornTails++;
      report.notes.push(`${p.seg}: ends inside block ${keep} (at ${segSize} of ${end}); the blocks from there on are lost`);
      break;
    }
    keep++;
    segLen = Math.max(segLen, end);
    idxLen += indexEntryLength(e.filter);
  }
  const kept = entries.slice(0, keep);

  // The tail block is where a crash leaves damage: check its payload.
  if (kept.length > 0) {
    const e = kept[kept.length - 1]!;
    if (!payloadIntact(p.seg, e)) {
      report.damagedBlocks++;
      report.notes.push(`${p.seg}: the last block (at ${e.segOffset}) fails its CRC; queries will skip it`);
    }
  }
  for (const e of kept) {
    report.blocks++;
    report.records += e.header.count;
    if (e.header.maxLsn > report.maxBlockLsn) report.maxBlockLsn = e.header.maxLsn;
    if (e.header.epoch > report.maxEpoch) report.maxEpoch = e.header.epoch;
  }
  if (segSize > segLen) {
    report.notes.push(`${p.seg}: ${segSize - segLen} bytes after the last committed block cut off (uncommitted or torn)`);
    if (!readOnly) truncateFile(p.seg, segLen);
  }
  const idxSize = fileSize(p.idx) ?? 0;
  if (idxSize > idxLen && !readOnly) truncateFile(p.idx, idxLen);
  report.diskBytes += segLen + idxLen;
  return { segLen, idxLen, blocks: kept.length };
}

/** Index entries for the intact, committed blocks of a segment file. */
function rebuildIndex(segPath: string, epoch: number, report: RecoveryReport): IndexEntry[] {
  const buf = readFileOrNull(segPath);
  if (buf === null) return [];
  const scan = scanSegment(buf);
  report.damagedBytes += scan.skippedBytes;
  const entries: IndexEntry[] = [];
  for (const b of scan.blocks) {
    if (b.header.epoch > epoch) continue;
    try {
      const start = b.offset + BLOCK_HEADER_SIZE;
      const block = decodeBlock(b.header, buf.subarray(start, start + b.header.compLen));
      entries.push({ segOffset: b.offset, header: b.header, filter: filterOfBlock(block) });
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      report.damagedBlocks++;
      report.notes.push(`${segPath}: block at ${b.offset} is damaged (${(err as Error).message}); left out`);
    }
  }
  return entries;
}

/**
 * Is there an intact block of epoch ≤ `epoch` in the segment between `from` and `size`?
 * Reads only that stretch; walks it by block headers, searching for the next block magic
 * past a damaged one (as scanSegment does).
 */
function committedBlockAfter(segPath: string, from: number, size: number, epoch: number): boolean {
  let fd: number;
  try {
    fd = openSync(segPath, constants.O_RDONLY);
  } catch {
    return false;
  }
  let buf: Buffer;
  try {
    buf = Buffer.allocUnsafe(size - from);
    buf = buf.subarray(0, readSync(fd, buf, 0, buf.length, from));
  } finally {
    closeSync(fd);
  }
  let pos = 0;
  while (pos + BLOCK_HEADER_SIZE <= buf.length) {
    let h: BlockHeader | null = null;
    try {
      h = unmarshalBlockHeader(buf, pos);
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
    }
    if (h && pos + BLOCK_HEADER_SIZE + h.compLen <= buf.length) {
      if (h.epoch <= epoch) {
        try {
          decompressPayload(h, buf.subarray(pos + BLOCK_HEADER_SIZE, pos + BLOCK_HEADER_SIZE + h.compLen));
          return true;
        } catch (err) {
          if (!(err instanceof CorruptError)) throw err;
        }
      }
      pos += BLOCK_HEADER_SIZE + h.compLen;
      continue;
    }
    const next = buf.indexOf(BLOCK_MAGIC_BYTES, pos + 1);
    if (next < 0) break;
    pos = next;
  }
  return false;
}

const BLOCK_MAGIC_BYTES = Buffer.alloc(4);
BLOCK_MAGIC_BYTES.writeUInt32LE(BLOCK_MAGIC);

/** Writes a complete index file next to the old one, syncs it and renames it into place. */
function writeIndexFile(path: string, entries: IndexEntry[]): void {
  const parts = [fileHeader(IDX_FILE_MAGIC), ...entries.map((e) => marshalIndexEntry(e.segOffset, e.header, e.filter))];
  replaceFileDurably(path, Buffer.concat(parts));
}

function payloadIntact(segPath: string, e: IndexEntry): boolean {
  let fd: number;
  try {
    fd = openSync(segPath, constants.O_RDONLY);
  } catch {
    return false;
  }
  try {
    const comp = Buffer.allocUnsafe(e.header.compLen);
    const n = readSync(fd, comp, 0, comp.length, e.segOffset + BLOCK_HEADER_SIZE);
    if (n !== comp.length) return false;
    decompressPayload(e.header, comp);
    return true;
  } catch (err) {
    if (err instanceof CorruptError) return false;
    throw err;
  } finally {
    closeSync(fd);
  }
}

function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Cuts a file to nothing and writes a fresh file header (synced). */
/** The first FILE_HEADER_SIZE bytes of a segment are its header, with this format version. */
function segHeaderIntact(path: string): boolean {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const b = Buffer.alloc(FILE_HEADER_SIZE);
    readSync(fd, b, 0, FILE_HEADER_SIZE, 0);
    return b.equals(fileHeader(SEG_FILE_MAGIC));
  } finally {
    closeSync(fd);
  }
}

/** Overwrites a file's header in place, keeping what follows. */
function patchHeader(path: string, magic: number): void {
  const fd = openSync(path, constants.O_RDWR);
  try {
    writeSync(fd, fileHeader(magic), 0, FILE_HEADER_SIZE, 0);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function rewriteHeader(path: string, magic: number): void {
  const fd = openSync(path, constants.O_RDWR);
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, fileHeader(magic), 0, FILE_HEADER_SIZE, 0);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

