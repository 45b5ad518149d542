/**
 * Follows the write-ahead log as the server appends to it, like `tail -f` over the
 * WAL files: for live tail (query/tail-worker.ts). It starts at the end of the log
 * (only entries appended from then on) and, on each poll, reads what was appended
 * since, entry by entry, moving to the next file when the writer does.
 *
 * An entry whose bytes are not all there yet is read at the next poll. At an end mark
 * (a zero word), or an entry of the file's earlier use (a recycled file: LSNs below its
 * first), the log ends for now: the writer will write there next (wal-reader.ts). A
 * stretch that is not a valid entry is waited on for a while (a reader can see an entry
 * half copied into the page cache) and then taken for damage and skipped up to the next
 * valid entry of the file in what was read; in the file the writer is in, never further
 * (past the writer's position lie old bytes), so a damaged stretch longer than a read is
 * only skipped once the writer has moved on. The file being read stays open, so the
 * writer deleting it after a commit does not lose its end. A file the writer recycled
 * instead (renamed away and reused as a newer WAL file, wal-writer.ts) holds other
 * bytes now: once seen renamed, it is left for the next file, and an entry whose LSN
 * lies outside the file's range ends it; its unread entries were all committed.
 *
 * A follower with a finite `maxBehind` (live tail) stays bounded when it cannot keep
 * up, in two ways:
 * - Within the open file, when the entries it has not read reach more than `maxBehind`
 *   bytes past its position, it skips them: it still reads them, but only counts
 *   their records (`skippedRecords`, exact) instead of handing them over.
 * - Across files, when it is two or more files behind: at a poll, a WAL file exists
 *   that is newer than the one after the open file (so the open file and the next
 *   are both complete and the writer is in a third). It then stops reading the old
 *   files and jumps to the newest file, the writer's current one, at its first entry.
 *   The entries it jumps over (the rest of the open file and every file in between)
 *   are not read at all, so their records are not known: they are counted as lost
 *   entries, from the LSNs alone (the newest file is named by its first LSN; LSNs are
 *   consecutive), at the jump. Reading them entry by entry, even only to count, is
 *   what kept a slow follower behind until the writer recycled or deleted files under
 *   it. A follower merely finishing the previous file when the writer has just moved
 *   on (one file behind) does not jump and still gets every entry.
 *   It jumps to the newest file's start, not to its end as a follower starting at the
 *   end does: the newest file is at most one file's worth (the writer's file target)
 *   of entries, so from its start the follower delivers all of it when it can; when
 *   those entries already reach more than `maxBehind` past its start, the in-file skip
 *   above applies to them at once, which costs at most one file's reading per jump
 *   (and a jump needs two rotations) and keeps their records counted exactly.
 * A follower with `maxBehind` Infinity (the default; a reader's cache of the WAL tail,
 * `from: 'start'`, store-reader.ts) never skips and never jumps: it reads every entry.
 *
 * Entries it never got to read otherwise (in a file recycled or deleted before it read
 * them, or skipped as damage) show as a gap in the LSNs, which consecutive entries
 * have, and are counted as lost entries too: their records are not known.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_HEADER_SIZE, MAX_WAL_ENTRY, WAL_DIR, WAL_ENTRY_HEADER_SIZE, WAL_ENTRY_MAGIC } from './consts.js';
import { atEndMark, checkEntry, decodeEntryBody, entryLsn, type DecodedEntry } from './wal-entry.js';
import { ENTRY_MAGIC_BYTES, listWalFiles, nextValidEntry, type ResyncBounds, type WalFile } from './wal-reader.js';
import { readWalKey, walFileSalt, type WalKey } from './wal-key.js';
import { CorruptError } from './byte-buffer.js';

export interface FollowResult {
  /** Records in entries skipped to catch up (not delivered). */
  skippedRecords: number;
  /**
   * Entries not read at all (jumped over, or LSNs missing between two entries read):
   * how many records they held is not known.
   */
  lostEntries: number;
}

/** How long a stretch that is not a valid entry is waited on before it is skipped as damage. */
const DAMAGE_WAIT_MS = 2_000;
/**
 * A poll's first read, doubled for each read that held only entries, up to MAX_READ:
 * a poll at the writer's position reads FIRST_READ bytes past it (zeros, or old bytes in
 * a recycled file) and stops at the end mark.
 */
const FIRST_READ = 64 * 1024;
const MAX_READ = 8 * 1024 * 1024;

/** What consume() stopped at. */
const enum Stop {
  /** Everything given was used, or an entry needs bytes past the end of what was read. */
  More,
  /** An end mark, or a stretch that is not (yet) an entry: the writer's position, for now. */
  Frontier,
}

export class WalFollower {
  private readonly dir: string;
  private fd: number | null = null;
  private firstLsn = -1;
  /** The open file's path and inode, to see it recycled. */
  private path = '';
  private ino = 0;
  /** The first LSN of the next file once the writer has moved on (entries at or past it are not this file's). */
  private nextFirstLsn = Infinity;
  /** File offset of `carry`'s first byte. */
  private offset = 0;
  /** File offset where the last entry read in the open file (or its header) ends. */
  private lastEnd = 0;
  /** The LSN of the last entry that checked out in the open file, decoded or not (the bound of a resync). */
  private boundLsn = 0;
  /** A search past damage goes on in the next read (a file the writer is done with). */
  private resyncing = false;
  /** The open file's size when this poll read it. */
  private fileEnd = 0;
  /** The store's WAL key (wal-key.ts; read again while there is none), and the mask of the open file's entry checksums (0: plain). */
  private readonly storeRoot: string;
  private walKey: WalKey | null;
  private salt = 0;
  private carry: Buffer = Buffer.alloc(0);
  private lastLsn = 0;
  /** Entries found missing (LSN gaps) since the last poll's result. */
  private lost = 0;
  /** A stretch that did not check out: its file offset and when it was first seen. */
  private stuck: { at: number; since: number } | null = null;
  /** The writer has moved on to a newer file: what does not check out in this one is damage. */
  private writerDone = false;

  private readonly maxBehind: number;

  private readonly damageWaitMs: number;

  /**
   * `from: 'end'` (live tail): only entries appended from now on; `from: 'start'` (a
   * reader's cache of the WAL tail): every entry of every WAL file, oldest first.
   * `maxBehind`: how many bytes of entries the follower may be behind the writer in
   * the open file before it skips them, counting their records; when finite, the
   * follower also jumps to the newest file when it is two or more files behind (see
   * above). Default Infinity: every entry is read and handed over.
   * `damageWaitMs`: how long bytes that are not a valid entry are waited on before
   * they are skipped as damage (default 2 s).
   */
  constructor(storeRoot: string, opts: { from: 'start' | 'end'; maxBehind?: number; damageWaitMs?: number }) {
    this.dir = join(storeRoot, WAL_DIR);
    this.storeRoot = storeRoot;
    this.walKey = readWalKey(storeRoot);
    this.maxBehind = opts.maxBehind ?? Infinity;
    this.damageWaitMs = opts.damageWaitMs ?? DAMAGE_WAIT_MS;
    if (opts.from === 'start') return;
    // Start at the end: the newest file, past its last complete entry.
    const files = listWalFiles(this.dir);
    const last = files[files.length - 1];
    if (last !== undefined && this.open(last.firstLsn, last.path)) this.skipToEntryBoundary(fstatSync(this.fd!).size);
    this.lost = 0; // entries before the end were never wanted
  }

  private open(firstLsn: number, path: string): boolean {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    this.firstLsn = firstLsn;
    this.path = path;
    this.ino = fstatSync(this.fd).ino;
    this.nextFirstLsn = Infinity;
    this.offset = FILE_HEADER_SIZE;
    this.lastEnd = FILE_HEADER_SIZE;
    this.boundLsn = 0;
    this.resyncing = false;
    this.carry = Buffer.alloc(0);
    this.stuck = null;
    this.writerDone = false;
    this.readSalt();
    return true;
  }

  /**
   * The open file's checksum mask (wal-key.ts). A follower started before the store had
   * a key (a tail of a store that a newer server then opened) reads FORMAT again.
   */
  private readSalt(): void {
    this.walKey ??= readWalKey(this.storeRoot);
    this.salt = walFileSalt(this.walKey, this.firstLsn);
  }

  /**
   * Moves to the end of the last whole entry (once, at start-up): the file may end
   * inside an entry being written, or hold zeros or old bytes past the writer.
   */
  private skipToEntryBoundary(size: number): void {
    this.offset = FILE_HEADER_SIZE;
    this.carry = Buffer.alloc(0);
    this.read(() => {}, size);
  }

  /**
   * Where the entries of the open file end, going from header to header from the
   * current position (one small read per entry): how far behind the writer this
   * reader is, without reading the entries.
   */
  private entriesEnd(size: number): number {
    // The header and the LSN after the body's kind byte: an earlier use's entry is not one.
    const head = Buffer.allocUnsafe(WAL_ENTRY_HEADER_SIZE + 9);
    let at = this.offset;
    for (;;) {
      if (at + head.length > size) return Math.min(at, size);
      if (readSync(this.fd!, head, 0, head.length, at) < head.length) return at;
      if (head.readUInt32LE(0) !== WAL_ENTRY_MAGIC) return at;
      const len = head.readUInt32LE(4);
      if (len > MAX_WAL_ENTRY || len < 9 || !this.ours(head.readDoubleLE(WAL_ENTRY_HEADER_SIZE + 1))) return at;
      at += WAL_ENTRY_HEADER_SIZE + len;
    }
  }

  /**
   * Whether the open file was recycled: renamed away while it still has a link. A
   * deleted file (no link left) keeps its bytes and is read to its end.
   */
  private recycled(): boolean {
    if (fstatSync(this.fd!).nlink === 0) return false;
    try {
      return statSync(this.path).ino !== this.ino;
    } catch {
      return true;
    }
  }

  private close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** Reads what was appended since the last poll; `onEntry` gets each new entry in order. */
  poll(onEntry: (e: DecodedEntry) => void): FollowResult {
    const res = this.follow(onEntry);
    res.lostEntries = this.lost;
    this.lost = 0;
    return res;
  }

  private follow(onEntry: (e: DecodedEntry) => void): FollowResult {
    const res: FollowResult = { skippedRecords: 0, lostEntries: 0 };
    for (;;) {
      let files = listWalFiles(this.dir);
      if (this.fd === null) {
        const next = files.find((f) => f.firstLsn > this.firstLsn);
        if (next === undefined || !this.open(next.firstLsn, next.path)) return res;
        files = listWalFiles(this.dir);
      }
      // Two or more files behind: jump to the newest file, reading none in between.
      if (this.maxBehind !== Infinity) {
        const newer = files.filter((f) => f.firstLsn > this.firstLsn);
        if (newer.length >= 2) {
          this.jumpTo(newer[newer.length - 1]!);
          continue;
        }
      }
      // Checked before reading: when a newer file exists, the writer is done with this one.
      const next = files.find((f) => f.firstLsn > this.firstLsn);
      const done = next !== undefined;
      this.writerDone = done;
      this.nextFirstLsn = next?.firstLsn ?? Infinity;
      if (done && this.recycled()) {
        this.close();
        continue;
      }
      const size = fstatSync(this.fd!).size;
      const skipping = this.maxBehind !== Infinity && this.entriesEnd(size) - this.offset > this.maxBehind;
      this.read((e) => {
        if (skipping) for (const b of e.batches) res.skippedRecords += b.count;
        else onEntry(e);
      }, size);
      if (!done) return res;
      this.close();
    }
  }

  /**
   * Leaves the open file for the start of `to`, a newer file, without reading
   * anything in between: every entry after the last one read (or, none read yet, from
   * the open file's first on) and before `to`'s first LSN is counted as lost. If `to` is gone
   * already, the follower is left with no file open, and the next pass lists the files
   * again.
   */
  private jumpTo(to: WalFile): void {
    const from = this.lastLsn > 0 ? this.lastLsn : this.firstLsn - 1;
    this.close();
    if (!this.open(to.firstLsn, to.path)) return;
    const before = to.firstLsn - 1;
    if (before > from) {
      this.lost += before - from;
      this.lastLsn = before;
    }
  }

  /**
   * Reads from `offset` up to `end` (the file's size) and hands over every whole
   * entry, up to the writer's position. Bytes past the last whole entry are not kept:
   * they are read again at the next poll, since they may be an end mark or an entry in
   * part that the writer is still writing over.
   */
  private read(onEntry: (e: DecodedEntry) => void, end: number): void {
    const fd = this.fd!;
    this.carry = Buffer.alloc(0);
    this.fileEnd = end;
    let have = this.offset;
    // Small first: at the writer's position a poll reads little, and stops at the end mark.
    let chunkSize = FIRST_READ;
    while (have < end) {
      // An entry in part asks for the rest of it at once; otherwise a chunk at a time.
      const need = this.carry.length >= WAL_ENTRY_HEADER_SIZE ? WAL_ENTRY_HEADER_SIZE + this.carry.readUInt32LE(4) - this.carry.length : 0;
      const want = Math.min(end - have, Math.max(chunkSize, Math.min(need, MAX_WAL_ENTRY)));
      const chunk = Buffer.allocUnsafe(want);
      const n = readSync(fd, chunk, 0, want, have);
      if (n <= 0) break;
      this.carry = this.carry.length === 0 ? chunk.subarray(0, n) : Buffer.concat([this.carry, chunk.subarray(0, n)]);
      have += n;
      if (this.consume(onEntry) === Stop.Frontier) break;
      chunkSize = Math.min(chunkSize * 2, MAX_READ);
    }
    this.carry = Buffer.alloc(0);
  }

  private consume(onEntry: (e: DecodedEntry) => void): Stop {
    const buf = this.carry;
    let pos = 0;
    let stop = Stop.More;
    while (pos + WAL_ENTRY_HEADER_SIZE <= buf.length) {
      if (this.resyncing) {
        // Still searching past damage (in a file the writer is done with): from here on,
        // this position included, as the first search did.
        const next = nextValidEntry(buf, pos - 1, this.bounds());
        if (next < 0) {
          pos = this.readOnFrom(buf, pos - 1);
          break;
        }
        this.resyncing = false;
        pos = next;
      }
      const len = checkEntry(buf, pos, buf.length, this.salt);
      const lsn = len >= 0 ? entryLsn(buf, pos, len) : -1;
      // An entry of another use of the file: the earlier one of a recycled file, or (the
      // file recycled while being read) the newer one.
      const other = len >= 9 && !this.ours(lsn);
      if (len >= 0 && !other) {
        this.stuck = null;
        const start = pos + WAL_ENTRY_HEADER_SIZE;
        if (Number.isSafeInteger(lsn) && lsn > this.boundLsn) this.boundLsn = lsn;
        try {
          const e = decodeEntryBody(buf, start, start + len);
          if (e.lsn > this.lastLsn) {
            if (this.lastLsn > 0 && e.lsn > this.lastLsn + 1) this.lost += e.lsn - this.lastLsn - 1;
            this.lastLsn = e.lsn;
            onEntry(e);
          }
        } catch (err) {
          if (!(err instanceof CorruptError)) throw err;
        }
        pos = start + len;
        this.lastEnd = this.offset + pos;
        continue;
      }
      if (other || atEndMark(buf, pos)) {
        // The end of the log here (an end mark, or what was there before): the writer's
        // position, or the end of a file it is done with. Nothing past it is read
        // (wal-reader.ts).
        stop = Stop.Frontier;
        break;
      }
      // Not (yet) an entry: wait when it is one whose end has not arrived (in a file the
      // writer is done with, one whose end lies past the file's is damage).
      const declared = buf.readUInt32LE(pos + 4);
      const entryEnd = pos + WAL_ENTRY_HEADER_SIZE + declared;
      if (buf.readUInt32LE(pos) === WAL_ENTRY_MAGIC && declared <= MAX_WAL_ENTRY && entryEnd > buf.length &&
        !(this.writerDone && this.offset + entryEnd > this.fileEnd)) break;
      // Bytes that do not check out may be an entry still being copied in: wait on them
      // for a while before skipping them as damage.
      const at = this.offset + pos;
      const now = performance.now();
      if (this.stuck === null || this.stuck.at !== at) this.stuck = { at, since: now };
      if (!this.writerDone && now - this.stuck.since < this.damageWaitMs) {
        stop = Stop.Frontier;
        break;
      }
      // Skip to the next valid entry of this file, never past the writer's position: in a
      // file the writer is still in, only to one found in what was read (the writer wrote
      // past the damage); none there, the damage is waited on, searched again each poll.
      const next = nextValidEntry(buf, pos, this.bounds());
      if (next >= 0) {
        pos = next;
        continue;
      }
      if (!this.writerDone) {
        stop = Stop.Frontier;
        break;
      }
      // The writer is done with this file: the search goes on in the next read.
      this.stuck = null;
      this.resyncing = true;
      pos = this.readOnFrom(buf, pos);
      break;
    }
    this.offset += pos;
    this.carry = buf.subarray(pos);
    // Keep no more than one entry's worth of old buffer alive.
    if (this.carry.length > 0 && this.carry.byteOffset > 0 && this.carry.length < buf.length / 2) this.carry = Buffer.from(this.carry);
    return stop;
  }

  /** What an entry found past damage in the carried bytes must agree with (nextValidEntry). */
  private bounds(): ResyncBounds {
    return { lastLsn: Math.max(this.lastLsn, this.boundLsn), firstLsn: this.firstLsn, nextFirstLsn: this.nextFirstLsn, lastEnd: this.lastEnd - this.offset, salt: this.salt };
  }

  /**
   * Where a search past damage that found nothing in buf after `pos` goes on in the next
   * read: at the first header after pos whose entry would end past buf but within the
   * file (an entry it could not check yet: the next read holds all of it), else near the
   * end of buf, where one may begin. Always past pos.
   */
  private readOnFrom(buf: Buffer, pos: number): number {
    for (let q = buf.indexOf(ENTRY_MAGIC_BYTES, pos + 1); q >= 0 && q + WAL_ENTRY_HEADER_SIZE <= buf.length; q = buf.indexOf(ENTRY_MAGIC_BYTES, q + 1)) {
      const declared = buf.readUInt32LE(q + 4);
      const end = q + WAL_ENTRY_HEADER_SIZE + declared;
      if (declared <= MAX_WAL_ENTRY && end > buf.length && this.offset + end <= this.fileEnd) return q;
    }
    return Math.max(pos + 1, buf.length - WAL_ENTRY_HEADER_SIZE);
  }

  /** Whether an LSN is one of the open file's (not of its earlier use, nor of the file after it). */
  private ours(lsn: number): boolean {
    return lsn >= this.firstLsn && lsn < this.nextFirstLsn;
  }

  stop(): void {
    this.close();
  }
}
