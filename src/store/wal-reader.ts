/**
 * Reads the write-ahead log back: at recovery (entries past the checkpoint are
 * parsed again and go into blocks) and for readers (records not yet in blocks).
 *
 * The log in a file ends at its end, or where zeros begin: the writer prepares files
 * by filling them with zeros ahead of time (wal-writer.ts), and no entry starts with
 * a zero byte (the magic).
 *
 * Damage handling: an entry whose header or CRC does not check out is skipped by
 * searching for the next valid entry. When nothing valid follows, what remains up to
 * the last non-zero byte is a torn tail (the server died mid-append): recovery cuts
 * it off. A damaged stretch with valid entries after it loses only that stretch.
 */
import { readdirOrEmpty } from './fs-util.js';
import { join } from 'node:path';
import { FILE_HEADER_SIZE, WAL_ENTRY_HEADER_SIZE, WAL_ENTRY_MAGIC, WAL_FILE_MAGIC } from './consts.js';
import { CorruptError } from './byte-buffer.js';
import { checkEntry, decodeEntryBody, type DecodedEntry } from './wal-entry.js';
import { checkFileHeader, readFileOrNull } from './segment.js';

const WAL_NAME = /^([0-9a-f]{16})\.wal$/;

export function walFileName(firstLsn: number): string {
  return `${firstLsn.toString(16).padStart(16, '0')}.wal`;
}

export interface WalFile {
  firstLsn: number;
  path: string;
}

/** WAL files in `dir`, in LSN order. */
export function listWalFiles(dir: string): WalFile[] {
  const out: WalFile[] = [];
  for (const name of readdirOrEmpty(dir)) {
    const m = WAL_NAME.exec(name);
    if (m) out.push({ firstLsn: parseInt(m[1]!, 16), path: join(dir, name) });
  }
  return out.sort((a, b) => a.firstLsn - b.firstLsn);
}

export interface WalFileScan {
  path: string;
  /** The file vanished while being read (a reader racing the writer's cleanup). */
  missing: boolean;
  /** End of the last valid entry. */
  validEnd: number;
  size: number;
  /** Bytes after validEnd that hold no valid entry (a torn append). */
  tornTail: number;
  /** Bytes skipped between valid entries (damage in the middle of the file). */
  damagedBytes: number;
  /**
   * Of those, stretches of zeros only: in a prepared file, part of a write that did
   * not reach the disk before a crash (the pages of one write can survive in any
   * order), with valid entries of the same write after it.
   */
  zeroBytes: number;
  /** Entries whose frame CRC was fine but whose body did not decode. */
  badEntries: number;
  /** The 16-byte file header is not ours (the entries were read anyway). */
  headerDamaged: boolean;
  lastLsn: number;
}

const MAGIC = Buffer.alloc(4);
MAGIC.writeUInt32LE(WAL_ENTRY_MAGIC);

/** Where the next entry that checks out begins in buf after `pos`, or -1. */
export function nextValidEntry(buf: Buffer, pos: number): number {
  for (let q = buf.indexOf(MAGIC, pos + 1); q >= 0; q = buf.indexOf(MAGIC, q + 1)) {
    if (checkEntry(buf, q, buf.length) >= 0) return q;
  }
  return -1;
}

const ZEROS = Buffer.alloc(64 * 1024);

/**
 * The end of the non-zero bytes of buf[from, to): `from` when they are all zero.
 * (Compared a chunk at a time from the end: a prepared file is mostly zeros.)
 */
export function endOfNonZero(buf: Uint8Array, from: number, to: number = buf.length): number {
  let end = to;
  while (end > from) {
    const start = Math.max(from, end - ZEROS.length);
    if (Buffer.compare(ZEROS.subarray(0, end - start), buf.subarray(start, end)) !== 0) {
      while (buf[end - 1] === 0) end--;
      return end;
    }
    end = start;
  }
  return from;
}

/**
 * Reads one WAL file and calls `onEntry` for every valid entry with lsn > fromLsn.
 * Never throws on damage (it is counted in the result), only on I/O errors. A damaged
 * file header does not stop the scan: every entry carries its own magic and CRC.
 */
export function scanWalFile(path: string, fromLsn: number, onEntry: (e: DecodedEntry) => void): WalFileScan {
  const res: WalFileScan = { path, missing: false, validEnd: 0, size: 0, tornTail: 0, damagedBytes: 0, zeroBytes: 0, badEntries: 0, headerDamaged: false, lastLsn: 0 };
  const buf = readFileOrNull(path);
  if (buf === null) {
    res.missing = true;
    return res;
  }
  res.size = buf.length;
  try {
    checkFileHeader(buf, WAL_FILE_MAGIC, `WAL file ${path}`);
  } catch (err) {
    if (!(err instanceof CorruptError)) throw err;
    res.headerDamaged = true;
    if (buf.length < FILE_HEADER_SIZE) {
      res.tornTail = buf.length;
      return res;
    }
  }
  let pos = FILE_HEADER_SIZE;
  res.validEnd = pos;
  // Trailing zeros (a prepared file's unused part) are not data.
  const end = endOfNonZero(buf, pos);
  while (pos < end) {
    const len = checkEntry(buf, pos, buf.length);
    if (len >= 0) {
      const start = pos + WAL_ENTRY_HEADER_SIZE;
      try {
        const e = decodeEntryBody(buf, start, start + len);
        if (e.lsn > res.lastLsn) res.lastLsn = e.lsn;
        if (e.lsn > fromLsn) onEntry(e);
      } catch (err) {
        if (!(err instanceof CorruptError)) throw err;
        res.badEntries++;
      }
      pos = start + len;
      res.validEnd = pos;
      continue;
    }
    // Find the next valid entry; none means a torn tail.
    const next = nextValidEntry(buf, pos);
    if (next < 0) {
      res.tornTail = end - pos;
      break;
    }
    res.damagedBytes += next - pos;
    if (endOfNonZero(buf, pos, next) === pos) res.zeroBytes += next - pos;
    pos = next;
  }
  return res;
}
