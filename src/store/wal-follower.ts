/**
 * Follows the write-ahead log as the server appends to it, like `tail -f` over the
 * WAL files: for live tail (query/tail-worker.ts). It starts at the end of the log
 * (only entries appended from then on) and, on each poll, reads what was appended
 * since, entry by entry, moving to the next file when the writer does.
 *
 * An entry whose bytes are not all there yet is read at the next poll. A stretch that
 * is not a valid entry (damage) is skipped up to the next valid one. The file being
 * read stays open, so the writer deleting it after a commit does not lose its end.
 * When the follower is more than `maxBehind` bytes behind the writer, it jumps ahead:
 * the entries it jumps over are only counted (records, not parsed), so a slow reader
 * stays bounded and says how much it missed.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_HEADER_SIZE, MAX_WAL_ENTRY, WAL_DIR, WAL_ENTRY_HEADER_SIZE, WAL_ENTRY_MAGIC } from './consts.js';
import { checkEntry, decodeEntryBody, type DecodedEntry } from './wal-entry.js';
import { listWalFiles } from './wal-reader.js';
import { CorruptError } from './byte-buffer.js';

export interface FollowResult {
  /** Records in entries skipped to catch up (not delivered). */
  skippedRecords: number;
}

export class WalFollower {
  private readonly dir: string;
  private fd: number | null = null;
  private firstLsn = -1;
  /** File offset of `carry`'s first byte. */
  private offset = 0;
  private carry: Buffer = Buffer.alloc(0);
  private lastLsn = 0;

  private readonly maxBehind: number;

  /**
   * `from: 'end'` (live tail): only entries appended from now on; `from: 'start'` (a
   * reader's cache of the WAL tail): every entry of every WAL file, oldest first.
   */
  constructor(storeRoot: string, opts: { from: 'start' | 'end'; maxBehind?: number }) {
    this.dir = join(storeRoot, WAL_DIR);
    this.maxBehind = opts.maxBehind ?? Infinity;
    if (opts.from === 'start') return;
    // Start at the end: the newest file, past its last complete entry.
    const files = listWalFiles(this.dir);
    const last = files[files.length - 1];
    if (last !== undefined && this.open(last.firstLsn, last.path)) {
      this.offset = fstatSync(this.fd!).size;
      this.skipToEntryBoundary();
    }
  }

  private open(firstLsn: number, path: string): boolean {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    this.firstLsn = firstLsn;
    this.offset = FILE_HEADER_SIZE;
    this.carry = Buffer.alloc(0);
    return true;
  }

  /**
   * The file's size may end inside an entry being written: step back to the end of
   * the last whole entry by reading the file from its start (once, at start-up).
   */
  private skipToEntryBoundary(): void {
    const end = this.offset;
    this.offset = FILE_HEADER_SIZE;
    this.carry = Buffer.alloc(0);
    this.read(() => {}, end);
  }

  private close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Reads what was appended since the last poll; `onEntry` gets each new entry in order. */
  poll(onEntry: (e: DecodedEntry) => void): FollowResult {
    const res: FollowResult = { skippedRecords: 0 };
    for (;;) {
      let files = listWalFiles(this.dir);
      if (this.fd === null) {
        const next = files.find((f) => f.firstLsn > this.firstLsn);
        if (next === undefined || !this.open(next.firstLsn, next.path)) return res;
        files = listWalFiles(this.dir);
      }
      // Checked before reading: when a newer file exists, the writer is done with this one.
      const done = files.some((f) => f.firstLsn > this.firstLsn);
      const size = fstatSync(this.fd!).size;
      const skipping = size - (this.offset + this.carry.length) > this.maxBehind;
      this.read((e) => {
        if (skipping) for (const b of e.batches) res.skippedRecords += b.count;
        else onEntry(e);
      }, size);
      if (!done) return res;
      this.close();
    }
  }

  /** Reads [offset + carry, end) and hands over every whole entry. */
  private read(onEntry: (e: DecodedEntry) => void, end: number): void {
    const fd = this.fd!;
    let have = this.offset + this.carry.length;
    while (have < end) {
      const want = Math.min(end - have, 8 * 1024 * 1024);
      const chunk = Buffer.allocUnsafe(want);
      const n = readSync(fd, chunk, 0, want, have);
      if (n <= 0) break;
      this.carry = this.carry.length === 0 ? chunk.subarray(0, n) : Buffer.concat([this.carry, chunk.subarray(0, n)]);
      have += n;
      this.consume(onEntry);
    }
  }

  private consume(onEntry: (e: DecodedEntry) => void): void {
    const buf = this.carry;
    let pos = 0;
    while (pos + WAL_ENTRY_HEADER_SIZE <= buf.length) {
      const len = checkEntry(buf, pos, buf.length);
      if (len >= 0) {
        const start = pos + WAL_ENTRY_HEADER_SIZE;
        try {
          const e = decodeEntryBody(buf, start, start + len);
          if (e.lsn > this.lastLsn) {
            this.lastLsn = e.lsn;
            onEntry(e);
          }
        } catch (err) {
          if (!(err instanceof CorruptError)) throw err;
        }
        pos = start + len;
        continue;
      }
      // Not (yet) an entry: wait when it is one whose end has not arrived, else resync.
      const declared = buf.readUInt32LE(pos + 4);
      if (buf.readUInt32LE(pos) === WAL_ENTRY_MAGIC && declared <= MAX_WAL_ENTRY && pos + WAL_ENTRY_HEADER_SIZE + declared > buf.length) break;
      const magic = Buffer.alloc(4);
      magic.writeUInt32LE(WAL_ENTRY_MAGIC);
      const next = buf.indexOf(magic, pos + 1);
      pos = next < 0 ? Math.max(pos + 1, buf.length - 3) : next;
    }
    this.offset += pos;
    this.carry = buf.subarray(pos);
    // Keep no more than one entry's worth of old buffer alive.
    if (this.carry.length > 0 && this.carry.byteOffset > 0 && this.carry.length < buf.length / 2) this.carry = Buffer.from(this.carry);
  }

  stop(): void {
    this.close();
  }
}
