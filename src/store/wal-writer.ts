/**
 * The write-ahead log's writer, on the event loop with asynchronous I/O (libuv's
 * thread pool does the write and fdatasync calls). Group commit:
 *
 *   append(entry) ──► queue ──► [ write every queued entry at the file's end (one writev) ]
 *                                        │
 *                               fdatasync (fsync "always": right away;
 *                                          "interval": once per interval; "never": not at all)
 *                                        │
 *                               onDurable(entries)  ← the ack point
 *
 * While a write or sync is in flight, new entries wait in the queue and all go out
 * with the next one: under load one fdatasync covers thousands of records, at low
 * rates each entry is synced on its own without waiting.
 *
 * Failures (ENOSPC, EIO): the entries stay queued and are written again at the same
 * position after a backoff, so a partial write is overwritten, never duplicated.
 * After a failed fdatasync the entries written since the last good sync are written
 * again too (the kernel may have dropped the dirty pages, so a second sync that
 * succeeds proves nothing about them).
 *
 * The end of the log: every write's entries are followed by an end mark (a zero word,
 * overwritten by the next write), and so is a new file's header. Readers stop there
 * (wal-reader.ts), whatever the file holds past it.
 *
 * Keyed checksums (wal-key.ts): in a file the store's WAL key covers, the header says
 * layout version 2, and each entry's checksum is masked at the write (an entry written
 * again after a failure may go to another file, which the key may not cover).
 *
 * Prepared files (docs/storage.md, "Write-ahead log"): a write that makes a file longer
 * changes its size, and a durable write then waits for a journal commit, which on
 * ext4 (data=ordered) first writes out the dirty data of every other file in the
 * transaction: the segments the store worker is writing. So the next WAL file is
 * prepared in the background while the current one fills, under a name readers ignore
 * (`next.walprep`, and `next.walspare` for a second one). At rotation it is renamed
 * into place and WAL writes overwrite blocks that already exist, which needs no
 * journal commit. Without a prepared file (not ready yet, or the disk too full to
 * spare one), a new file is created and grows as before.
 *
 * A prepared file is made in one of two ways:
 * - Recycled (the usual way under load): a WAL file whose entries are all committed is,
 *   when one of the two places is free and no reader has it open
 *   (native/file_open.cc), renamed to that place's partial name and cut to fileTarget
 *   rather than deleted. The second place is what lets a commit that comes while a
 *   fresh file is on its way (as at full load it usually does) recycle its file. Its
 *   old entries stay where they are: their LSNs are all below the new first LSN, and
 *   readers never take them for the log. Deleting a 64 MiB file and zero-filling a new
 *   one allocate and free blocks (journal commits, and discards on a file system
 *   mounted with `discard`), and WAL writes in flight meanwhile took 10–30 ms instead
 *   of ~1; overwriting blocks a file already has costs neither, and not zeroing it
 *   halves what the WAL writes to the disk.
 * - Fresh (at start, or when nothing is ready or on its way and no committed file can be
 *   recycled): written with zeros to fileTarget and synced. It is only started once the
 *   open file is a quarter full, so that the commit after a rotation can hand its file
 *   over first.
 * A reader that opens the file between that check and the rename gets RECYCLE_GRACE_MS
 * before its bytes change, and stops at it if it is slower (wal-follower.ts).
 */
import { open, rename, statfs, unlink, type FileHandle } from 'node:fs/promises';
import { constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_HEADER_SIZE, FORMAT_VERSION, WAL_END_MARK, WAL_FILE_MAGIC, WAL_KEYED_VERSION, WAL_PREPARED_FILE, WAL_SPARE_FILE } from './consts.js';
import { walFileSalt, type WalKey } from './wal-key.js';
import { walFileName, type WalFile } from './wal-reader.js';
import { syncDirAsync } from './fs-util.js';
import { fileOpenElsewhere } from '../native/file-open.js';

export type FsyncMode = 'always' | 'interval' | 'never';

export interface WalEntryRef {
  lsn: number;
  entry: Buffer;
  /** The entry's own checksum, before the writer masks it for a keyed file (set by append()). */
  crc?: number;
}

export interface WalWriterOptions {
  fsync: FsyncMode;
  /** For fsync "interval": how often. */
  fsyncIntervalMs: number;
  /** Start a new file past this size. */
  fileTarget: number;
  /** Entries that reached the ack point, in LSN order. */
  onDurable: (entries: WalEntryRef[]) => void;
  /** A write or sync failed; it is retried after `retryMs`. */
  onError: (err: NodeJS.ErrnoException, retryMs: number) => void;
  /** Writing works again after errors. */
  onRecovered: () => void;
  /** After each fdatasync: its duration in seconds and the bytes it covered. */
  onSync?: (seconds: number, bytes: number) => void;
  /** Prepare the next file ahead (recycled, or zero-filled to fileTarget); default true. */
  prepare?: boolean;
  /** Make the next file from a committed one rather than delete it (with prepare); default true. Off: bench/wal.ts's baseline. */
  recycle?: boolean;
  /** Whether a file is open anywhere else (true), not (false), or that cannot be told (null); default: native/file_open.cc. */
  openElsewhere?: (path: string) => boolean | null;
  /** The store's WAL key (wal-key.ts): the checksums of files it covers are keyed; null or absent: plain. */
  walKey?: WalKey | null;
}

/** A fresh prepared file is made only when the file system keeps this many times fileTarget free besides. */
const PREPARE_FREE_FACTOR = 4;
/**
 * Zeros are written 1 MiB at a time, each write durable on its own (O_DSYNC): a
 * 64 MiB burst of dirty pages flushed at once would queue ahead of WAL writes on
 * the device for tens of milliseconds, which is what preparing is meant to avoid.
 */
const ZERO_CHUNK = 1024 * 1024;
/** The end mark after each write (wal-reader.ts). */
const END_MARK = Buffer.alloc(WAL_END_MARK);
/** How long a recycled file keeps its entries after it is renamed away, for a reader that opened it just before (tail.pollInterval is 25 ms). */
const RECYCLE_GRACE_MS = 250;
/** A fresh next file is started once the open one holds this share of fileTarget (a recycled one as soon as there is one). */
const PREPARE_FRESH_AT = 1 / 4;

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5_000;

export class WalWriter {
  private fh: FileHandle | null = null;
  private file: WalFile | null = null;
  /** Files written by this writer or found at start, oldest first (the last is the open one). */
  readonly files: WalFile[];
  private size = 0;
  /** The mask of the open file's entry checksums (0: plain). */
  private salt = 0;
  private queue: WalEntryRef[] = [];
  private queuedBytes = 0;
  /** Written but not yet synced, with the position the first of them starts at. */
  private unsynced: WalEntryRef[] = [];
  private unsyncedFrom = 0;
  private lastSync = 0;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private failing = false;
  private loop: Promise<void> | null = null;
  /** The two places a next file is prepared in (`next.walprep`, `next.walspare`); a rotation takes the first ready one. */
  private readonly slots: Slot[] = [newSlot(WAL_PREPARED_FILE), newSlot(WAL_SPARE_FILE)];
  /** Preparing a fresh file failed or was not possible (too little space) for the file with this first LSN: not tried again before the next one. */
  private prepareSkippedFor = -1;
  /**
   * Files opened from a prepared one / created to grow (ringlog_store_wal_files_opened),
   * and how many of the prepared ones were made from a committed WAL file.
   */
  readonly opened = { prepared: 0, grown: 0, recycled: 0 };

  constructor(private readonly dir: string, existing: WalFile[], private readonly opts: WalWriterOptions) {
    this.files = existing.slice();
  }

  /** Bytes appended and not yet durable. */
  get pendingBytes(): number {
    let n = this.queuedBytes;
    for (const e of this.unsynced) n += e.entry.length;
    return n;
  }

  /** Opens a new file whose first entry will be `nextLsn`, then starts the loop. */
  async start(nextLsn: number): Promise<void> {
    // A prepared file left by the last run is used; a half-made one is removed, and a
    // ready one too when preparing is off.
    for (const slot of this.slots) {
      await unlink(this.slotPath(slot, true)).catch(() => {});
      if (this.opts.prepare === false) await unlink(this.slotPath(slot, false)).catch(() => {});
      else {
        slot.ready = await open(this.slotPath(slot, false), 'r').then(async (fh) => {
          const { size } = await fh.stat();
          await fh.close();
          return size >= this.opts.fileTarget;
        }, () => false);
      }
    }
    await this.openFile(nextLsn);
    this.lastSync = performance.now();
    this.loop = this.run();
  }

  append(e: WalEntryRef): void {
    if (this.closing) throw new Error('WAL is closed');
    e.crc = e.entry.readUInt32LE(8);
    this.queue.push(e);
    this.queuedBytes += e.entry.length;
    this.kick();
  }

  private kick(): void {
    if (this.wake) {
      const w = this.wake;
      this.wake = null;
      w();
    }
  }

  private slotPath(slot: Slot, partial: boolean): string {
    return join(this.dir, partial ? `${slot.name}.tmp` : slot.name);
  }

  /** A slot with nothing ready or on its way in it, or null. */
  private freeSlot(): Slot | null {
    if (this.opts.prepare === false || this.closing) return null;
    return this.slots.find((x) => !x.ready && x.preparing === null) ?? null;
  }

  /**
   * Starts preparing a fresh next file unless one is ready or on its way: zeros up to
   * fileTarget, synced, then renamed to its ready name. Failures (a full disk) only
   * mean the next file grows as it is written; the partial file is removed.
   */
  private prepareNext(): void {
    // Only when no next file is ready or on its way at all.
    if (this.slots.some((x) => x.ready || x.preparing !== null)) return;
    const slot = this.freeSlot();
    if (slot === null) return;
    const forFile = this.file?.firstLsn ?? -1;
    if (forFile === this.prepareSkippedFor) return;
    slot.recycled = false;
    const tmp = this.slotPath(slot, true);
    this.prepare(slot, async () => {
      const fs = await statfs(this.dir);
      if (fs.bavail * fs.bsize < PREPARE_FREE_FACTOR * this.opts.fileTarget) return null;
      return open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC, 0o644);
    }, forFile, true);
  }

  /**
   * Makes the next file from `path`, a WAL file whose entries are all committed: renamed
   * to the partial prepared name (synced), cut to fileTarget, renamed to the ready name.
   * Not zeroed: its entries stay, and are not the new file's (wal-reader.ts). False when
   * it cannot be used.
   * Two synchronous calls on the event loop, once per commit at most: a stat and the
   * open-elsewhere check (open, fcntl, close of a local file).
   */
  private recycle(path: string): boolean {
    const slot = this.opts.recycle === false ? null : this.freeSlot();
    if (slot === null) return false;
    // A shorter file (the last one of an earlier run) would have to grow: new blocks, as
    // a fresh file, without its free-space check. Deleted as before.
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return false;
    }
    if (size < this.opts.fileTarget) return false;
    // A reader that has it open would see its bytes change: such a file is deleted (the
    // reader keeps reading it to its end), and so is one when nobody can tell.
    if ((this.opts.openElsewhere ?? fileOpenElsewhere)(path) !== false) return false;
    slot.recycled = true;
    const tmp = this.slotPath(slot, true);
    this.prepare(slot, async () => {
      await rename(path, tmp).catch(async (err: NodeJS.ErrnoException) => {
        // Not recycled: deleted as it would have been (and the next file made fresh).
        await unlink(path).catch(() => {});
        throw err;
      });
      await syncDirAsync(this.dir);
      // A reader that opened the file just before the rename has a moment to finish it
      // before its bytes change; one that does not stops there (wal-follower.ts).
      if (!this.closing) await new Promise((r) => setTimeout(r, RECYCLE_GRACE_MS));
      const fh = await open(tmp, constants.O_RDWR);
      try {
        await fh.truncate(this.opts.fileTarget);
      } catch (err) {
        await fh.close();
        throw err;
      }
      return fh;
    }, -1, false);
    return true;
  }

  /** Zero-fills (with `zero`) the file `create` opens (null: not now) and renames it to the slot's ready name. */
  private prepare(slot: Slot, create: () => Promise<FileHandle | null>, forFile: number, zero: boolean): void {
    const tmp = this.slotPath(slot, true);
    slot.preparing = (async () => {
      const fh = await create();
      if (fh === null) return false;
      try {
        const zeros = Buffer.alloc(zero ? ZERO_CHUNK : 0);
        for (let at = 0; zero && at < this.opts.fileTarget && !this.closing; at += ZERO_CHUNK) {
          await writeAll(fh, [zeros.subarray(0, Math.min(ZERO_CHUNK, this.opts.fileTarget - at))], at);
        }
        if (this.closing) throw new Error('closing');
      } finally {
        await fh.close();
      }
      await rename(tmp, this.slotPath(slot, false));
      await syncDirAsync(this.dir);
      return true;
    })().then((ok) => {
      slot.ready = ok;
      if (!ok && forFile >= 0) this.prepareSkippedFor = forFile;
      return ok;
    }, async () => {
      if (forFile >= 0) this.prepareSkippedFor = forFile;
      await unlink(tmp).catch(() => {});
      return false;
    }).finally(() => {
      slot.preparing = null;
    });
  }

  private async openFile(firstLsn: number): Promise<void> {
    const path = join(this.dir, walFileName(firstLsn));
    // fsync "always": O_DSYNC makes each write durable when it returns — one thread-pool job
    // and one event-loop pickup per group commit instead of two (write, then fdatasync).
    const dsync = this.opts.fsync === 'always' ? constants.O_DSYNC : 0;
    let fh: FileHandle;
    const slot = this.slots.find((x) => x.ready);
    if (slot) {
      slot.ready = false;
      await rename(this.slotPath(slot, false), path);
      fh = await open(path, constants.O_RDWR | dsync);
      this.opened.prepared++;
      if (slot.recycled) this.opened.recycled++;
    } else {
      fh = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | dsync, 0o644);
      this.opened.grown++;
    }
    // The header and an end mark: a recycled file's old entries begin right after it.
    const salt = walFileSalt(this.opts.walKey ?? null, firstLsn);
    const header = Buffer.alloc(FILE_HEADER_SIZE + WAL_END_MARK);
    header.writeUInt32LE(WAL_FILE_MAGIC, 0);
    header.writeUInt32LE(salt === 0 ? FORMAT_VERSION : WAL_KEYED_VERSION, 4);
    header.writeDoubleLE(firstLsn, 8);
    try {
      await writeAll(fh, [header], 0);
      await fh.datasync();
      await syncDirAsync(this.dir);
    } catch (err) {
      await fh.close();
      await unlink(path).catch(() => {});
      throw err;
    }
    this.fh = fh;
    this.file = { firstLsn, path };
    this.salt = salt;
    // A file of this name found at start (it held no entry at or past firstLsn, e.g. a
    // header only) was just truncated and is this one now: listed twice, deleteUpTo()
    // would unlink the open file through the stale entry.
    const same = this.files.findIndex((f) => f.path === path);
    if (same >= 0) this.files.splice(same, 1);
    this.files.push(this.file);
    this.size = FILE_HEADER_SIZE;
  }

  private async rotate(firstLsn: number): Promise<void> {
    const old = this.fh!;
    await this.openFile(firstLsn);
    await old.close();
  }

  private syncDue(): boolean {
    if (this.unsynced.length === 0) return false;
    if (this.opts.fsync === 'always') return true; // (only after a failed write: O_DSYNC writes sync themselves)
    return performance.now() - this.lastSync >= this.opts.fsyncIntervalMs;
  }

  private async run(): Promise<void> {
    let retryMs = RETRY_MIN_MS;
    for (;;) {
      if (this.queue.length === 0 && !this.syncDue()) {
        if (this.closing && this.unsynced.length === 0) return;
        if (this.closing) {
          // Closing in interval mode: sync now rather than waiting for the interval.
          this.lastSync = -Infinity;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          if (this.unsynced.length > 0 && this.opts.fsync === 'interval') {
            const wait = Math.max(0, this.opts.fsyncIntervalMs - (performance.now() - this.lastSync));
            this.timer = setTimeout(() => this.kick(), wait);
          }
        });
        if (this.timer) {
          clearTimeout(this.timer);
          this.timer = null;
        }
        continue;
      }
      try {
        if (this.queue.length > 0) {
          // A new file only once everything in the old one is synced (never for "never").
          if (this.size >= this.opts.fileTarget && (this.unsynced.length === 0 || this.opts.fsync === 'never')) {
            await this.rotate(this.queue[0]!.lsn);
          }
          // Entries appended while this write is in flight go to a fresh queue.
          const batch = this.queue;
          this.queue = [];
          this.queuedBytes = 0;
          const at = this.size;
          if (this.unsynced.length === 0) this.unsyncedFrom = at;
          this.unsynced.push(...batch);
          let bytes = 0;
          for (const e of batch) bytes += e.entry.length;
          const t0 = performance.now();
          // Checksums masked for this file (written again after a failure, perhaps into
          // another file: always from the entry's own).
          if (this.salt !== 0) for (const e of batch) e.entry.writeUInt32LE((e.crc! ^ this.salt) >>> 0, 8);
          // The end mark after the entries is overwritten by the next write (size leaves it out).
          const bufs = batch.map((e) => e.entry);
          bufs.push(END_MARK);
          await writeAll(this.fh!, bufs, at);
          this.size = at + bytes;
          // Early in the file (time to pace the zeros), but not for a server that writes little.
          if (this.size >= this.opts.fileTarget * PREPARE_FRESH_AT) this.prepareNext();
          if (this.opts.fsync === 'never') this.durable();
          else if (this.opts.fsync === 'always') {
            // Written with O_DSYNC: durable now.
            this.lastSync = performance.now();
            this.opts.onSync?.((this.lastSync - t0) / 1000, this.size - this.unsyncedFrom);
            this.durable();
          }
        }
        if (this.syncDue()) {
          const t0 = performance.now();
          await this.fh!.datasync();
          this.lastSync = performance.now();
          this.opts.onSync?.((this.lastSync - t0) / 1000, this.size - this.unsyncedFrom);
          this.durable();
        }
        if (this.failing) {
          this.failing = false;
          this.opts.onRecovered();
        }
        retryMs = RETRY_MIN_MS;
      } catch (err) {
        // Put back what is not known to be durable (written or not) and write it again at the same place.
        if (this.unsynced.length > 0) {
          this.queue = [...this.unsynced, ...this.queue];
          this.size = this.unsyncedFrom;
          this.unsynced = [];
        }
        this.queuedBytes = 0;
        for (const e of this.queue) this.queuedBytes += e.entry.length;
        this.failing = true;
        this.opts.onError(err as NodeJS.ErrnoException, retryMs);
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
    }
  }

  private durable(): void {
    const done = this.unsynced;
    this.unsynced = [];
    if (done.length > 0) this.opts.onDurable(done);
  }

  /**
   * Deletes the files whose every entry is ≤ lsn (covered by a checkpoint); never the
   * open file. A file's entries end where the next file's begin.
   */
  async deleteUpTo(lsn: number): Promise<number> {
    let deleted = 0;
    while (this.files.length > 1 && this.files[0] !== this.file && this.files[1]!.firstLsn <= lsn + 1) {
      const f = this.files[0]!;
      if (this.recycle(f.path)) {
        // Gone from the list at once (the rename is under way): no other call takes it.
        this.files.shift();
        deleted++;
        continue;
      }
      // Forgotten only once gone: a failed unlink is tried again after the next commit.
      await unlink(f.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      if (this.files[0] === f) this.files.shift();
      deleted++;
    }
    if (deleted > 0) await syncDirAsync(this.dir);
    return deleted;
  }

  /** Writes and syncs everything queued, then closes the file. */
  async close(): Promise<void> {
    this.closing = true;
    this.kick();
    await this.loop;
    for (const slot of this.slots) await slot.preparing;
    await this.fh?.close();
    this.fh = null;
  }
}

/** A place a next file is prepared in. */
interface Slot {
  /** Its ready name (`.tmp` while being made). */
  name: string;
  /** Resolves true once the file is ready, while it is being made; else null. */
  preparing: Promise<boolean> | null;
  ready: boolean;
  /** Whether the file (ready or on its way) was made from a committed WAL file. */
  recycled: boolean;
}

function newSlot(name: string): Slot {
  return { name, preparing: null, ready: false, recycled: false };
}

async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let pos = position;
  let rest = bufs;
  while (rest.length > 0) {
    let total = 0;
    for (const b of rest) total += b.length;
    const { bytesWritten } = await fh.writev(rest, pos);
    if (bytesWritten === total) return;
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    pos += bytesWritten;
    // Skip what was written, keep the rest (a short write: the disk is filling up).
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      next.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    rest = next;
  }
}
