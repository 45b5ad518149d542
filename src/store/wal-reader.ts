/**
 * Reads the write-ahead log back: at recovery (entries past the checkpoint are
 * parsed again and go into blocks) and for readers (records not yet in blocks).
 *
 * Where the log in a file ends: the writer puts an end mark (a zero word where the next
 * entry's magic would be; no entry starts with a zero byte) after each write's entries
 * and after a new file's header (wal-writer.ts). What lies past it is not the log:
 * zeros in a file that was prepared by zero-filling it, the entries of its earlier use
 * in a recycled file, or nothing at all in a file that grew as it was written. The
 * entries of a recycled file's earlier use all have LSNs below the file's first LSN
 * (its name): LSNs only grow, and a file is recycled only once all its entries are
 * committed. Such an entry is never read as data, wherever it is found.
 *
 * Nothing past the end of the log is read or searched: a write cut short by a crash
 * after the end mark of the write before (its pages reach the disk in any order) was
 * never acknowledged, and a recycled file's old messages may hold byte strings that are
 * well-formed entries (frames are copied into entries as they are).
 *
 * Checksums are keyed (wal-key.ts) in a file the store's WAL key covers (by its name),
 * so that an entry a sender put in a message does not check out where bytes are searched.
 *
 * Damage handling: an entry whose header or CRC does not check out is skipped by
 * searching for the next valid entry of this file, whose LSN must be one that can
 * follow the last one read (nextValidEntry). When nothing valid follows, what remains
 * is a torn tail (the server died mid-append; it runs to the next entry of the earlier
 * use, or to the last non-zero byte): recovery cuts it off. A damaged stretch with
 * valid entries after it loses only that stretch.
 */
import { readdirOrEmpty } from './fs-util.js';
import { basename, join } from 'node:path';
import { FILE_HEADER_SIZE, FORMAT_VERSION, WAL_ENTRY_HEADER_SIZE, WAL_ENTRY_MAGIC, WAL_FILE_MAGIC, WAL_KEYED_VERSION } from './consts.js';
import { walFileSalt, type WalKey } from './wal-key.js';
import { CorruptError } from './byte-buffer.js';
import { atEndMark, checkEntry, decodeEntryBody, entryLsn, type DecodedEntry } from './wal-entry.js';
import { readFileOrNull } from './segment.js';

const WAL_NAME = /^([0-9a-f]{16})\.wal$/;

export function walFileName(firstLsn: number): string {
  return `${firstLsn.toString(16).padStart(16, '0')}.wal`;
}

/** The first LSN a WAL file's name gives, or 0 for a name that is not a WAL file's. */
export function walFileFirstLsn(path: string): number {
  const m = WAL_NAME.exec(basename(path));
  return m ? parseInt(m[1]!, 16) : 0;
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
  /** Bytes after validEnd that hold no valid entry (a torn append), up to an earlier use's entry or the last non-zero byte. */
  tornTail: number;
  /** Bytes skipped between valid entries (damage in the middle of the file). */
  damagedBytes: number;
  /** Entries whose frame CRC was fine but whose body did not decode. */
  badEntries: number;
  /** The 16-byte file header is not ours (the entries were read anyway). */
  headerDamaged: boolean;
  lastLsn: number;
}

/** An entry's magic as it is on disk. */
export const ENTRY_MAGIC_BYTES = Buffer.alloc(4);
ENTRY_MAGIC_BYTES.writeUInt32LE(WAL_ENTRY_MAGIC);

/** The smallest entry: its header, the kind, the LSN and a batch count. */
const MIN_ENTRY = WAL_ENTRY_HEADER_SIZE + 10;

/** What an entry found past damage must agree with (nextValidEntry). */
export interface ResyncBounds {
  /** LSN of the last entry read in this file before the damage, decoded or not (0: none). */
  lastLsn: number;
  /** The file's first LSN, from its name (0: not known). */
  firstLsn: number;
  /** The next file's first LSN (Infinity: not known). */
  nextFirstLsn: number;
  /** Where in buf that entry (or the file header) ended; before buf's start when the damage began in an earlier read. */
  lastEnd: number;
  /** The mask of the file's keyed entry checksums (0: not keyed; wal-key.ts). */
  salt: number;
}

/**
 * Where the log may resume after damage at `pos`: the first position after it where an
 * entry checks out whose LSN can follow the last one read, or -1. Such an LSN is above
 * the last one and the file's first, below the next file's first, and at most one more
 * than the last for every MIN_ENTRY bytes since the last entry ended (as many entries as
 * the damage can have taken). The bytes searched are of unknown meaning, and frames are
 * copied into entries byte for byte: a sender can put a well-formed entry inside a
 * message, and the bound keeps such an entry from moving the log's LSNs anywhere. An
 * entry that checks out out of bounds (another use's, or one inside a message) is
 * stepped over whole; `other.at` gets the first one's position. Without bounds, any entry
 * that checks out.
 */
export function nextValidEntry(buf: Buffer, pos: number, bounds?: ResyncBounds, other?: { at: number }): number {
  const base = bounds === undefined ? 0 : Math.max(bounds.lastLsn, bounds.firstLsn - 1);
  const salt = bounds?.salt ?? 0;
  let q = buf.indexOf(ENTRY_MAGIC_BYTES, pos + 1);
  while (q >= 0) {
    const len = checkEntry(buf, q, buf.length, salt);
    if (len < 0) {
      q = buf.indexOf(ENTRY_MAGIC_BYTES, q + 1);
      continue;
    }
    if (bounds === undefined) return q;
    const lsn = entryLsn(buf, q, len);
    const most = bounds.lastLsn > 0 || bounds.firstLsn > 0 ? base + 1 + Math.ceil((q - bounds.lastEnd) / MIN_ENTRY) : Infinity;
    if (lsn > base && lsn <= most && lsn < bounds.nextFirstLsn) return q;
    if (other && other.at < 0) other.at = q;
    q = buf.indexOf(ENTRY_MAGIC_BYTES, q + WAL_ENTRY_HEADER_SIZE + len);
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
 * `walKey`: the store's (wal-key.ts): the file's checksums are keyed when its name says so.
 * Never throws on damage (it is counted in the result), only on I/O errors. A damaged
 * file header does not stop the scan: every entry carries its own magic and CRC.
 */
export function scanWalFile(path: string, fromLsn: number, onEntry: (e: DecodedEntry) => void, walKey: WalKey | null = null): WalFileScan {
  const res: WalFileScan = { path, missing: false, validEnd: 0, size: 0, tornTail: 0, damagedBytes: 0, badEntries: 0, headerDamaged: false, lastLsn: 0 };
  const buf = readFileOrNull(path);
  if (buf === null) {
    res.missing = true;
    return res;
  }
  res.size = buf.length;
  if (buf.length < FILE_HEADER_SIZE) {
    res.headerDamaged = true;
    res.tornTail = buf.length;
    return res;
  }
  const firstLsn = walFileFirstLsn(path);
  const version = buf.readUInt32LE(4);
  res.headerDamaged = buf.readUInt32LE(0) !== WAL_FILE_MAGIC || (version !== FORMAT_VERSION && version !== WAL_KEYED_VERSION);
  const salt = walFileSalt(walKey, firstLsn);
  // The LSN of the last entry that checked out, whether its body decoded or not (the bound of a resync).
  let boundLsn = 0;
  let pos = FILE_HEADER_SIZE;
  res.validEnd = pos;
  // Trailing zeros (a prepared file's unused part) are not data.
  const end = endOfNonZero(buf, pos);
  while (pos < end) {
    const len = checkEntry(buf, pos, buf.length, salt);
    const lsn = len >= 0 ? entryLsn(buf, pos, len) : -1;
    // An entry of the file's earlier use (recycled) is where the log ends, as an end mark is.
    const earlier = len >= 9 && lsn < firstLsn;
    if (len >= 0 && !earlier) {
      const start = pos + WAL_ENTRY_HEADER_SIZE;
      if (Number.isSafeInteger(lsn) && lsn > boundLsn) boundLsn = lsn;
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
    // An end mark, or what was there before: the end of the log in this file. Nothing
    // past it is the log's (a write cut short by a crash after its end mark was never
    // acknowledged), and nothing past it is searched: a recycled file's old messages could
    // hold well-formed entries.
    if (earlier || atEndMark(buf, pos)) break;
    // Damage or a torn tail: the next entry of this file, if any; none means a torn tail.
    const other = { at: -1 };
    const next = nextValidEntry(buf, pos, { lastLsn: boundLsn, firstLsn, nextFirstLsn: Infinity, lastEnd: res.validEnd, salt }, other);
    if (next < 0) {
      res.tornTail = (other.at >= 0 ? other.at : end) - pos;
      break;
    }
    res.damagedBytes += next - pos;
    pos = next;
  }
  return res;
}
