/**
 * The store worker: a worker thread that turns durable WAL entries into blocks, so
 * that column building, tokenizing, compression and block I/O never run on the
 * event loop (docs/storage.md, "Threads").
 *
 *   records (PackedRecords, in LSN order) ──► builder per partition ──► seal at ~blockTarget
 *        └─► consumed (flow control)              └─► segment .seg + .idx (written, not synced)
 *   commit (every commitBytes or commitInterval, or when asked):
 *        seal every builder · fdatasync every written segment · checkpoint(epoch, last LSN)
 *        └─► committed: the main thread deletes WAL files ≤ that LSN
 *   after a commit, now and then: retention (age, size)
 *
 * I/O is synchronous here (this thread does nothing else); a failed write (ENOSPC…)
 * is retried with a backoff while new records wait, which the main thread sees as
 * records not being consumed: its bound fills and backpressure reaches the senders.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { lowerThreadPriority, nameThread } from '../thread-priority.js';
import { join } from 'node:path';
import { Compressor } from 'zstd-napi';
import { BlockBuilder, type SealedBlock } from './block-builder.js';
import { ByteWriter } from './byte-buffer.js';
import { CheckpointWriter, readCheckpoint, type Checkpoint, type CheckpointRead } from './checkpoint.js';
import { CHECKPOINT_FILE, PARTITION_MS, PARTITIONS_DIR, SEGMENT_TARGET, WAL_DIR, WAL_ENTRY_HEADER_SIZE } from './consts.js';
import { listWalFiles, type WalFile } from './wal-reader.js';
import { decodeEntryBody, type StoreBatch } from './wal-entry.js';
import { Parsers, type ParseCountsByListener } from './parsers.js';
import { listPartitions, listSegments, partitionName, partitionOf } from './partition.js';
import { recoverSegments, type LastSegment, type RecoveryReport } from './recovery.js';
import { SegmentWriter, segmentPaths } from './segment.js';
import { syncDir } from './fs-util.js';
import type { Fields } from '../log.js';
import { SealThread } from './seal-thread.js';
import { ParseThread, type ParsedEntries, type ParsedEntry } from './parse-thread.js';
import type { RecordBatch } from '../record/record-batch.js';

export interface WorkerInit {
  root: string;
  compressionLevel: number;
  blockTarget: number;
  commitBytes: number;
  commitIntervalMs: number;
  retention: { maxAgeMs: number; maxBytes: number; checkIntervalMs: number };
  /** Report parse counts (records per format, parse errors): the event loop does not parse. */
  countParse: boolean;
  /** Seal blocks in the seal thread (seal-thread.ts) rather than here. */
  sealThread: boolean;
  /** Parse entries in the parse thread (parse-thread.ts) rather than here. */
  parseThread: boolean;
  testFaults: ThreadFaults;
}

/** Tests only: the parse or seal thread crashes (an uncaught exception) when asked for its (n+1)th entry or block. */
export interface ThreadFaults {
  parseThreadExitAfter?: number;
  sealThreadExitAfter?: number;
}

/** A durable WAL entry for the worker to parse and build into blocks: `entry[0, length)` (transferred). */
export interface WalEntryMessage {
  lsn: number;
  entry: ArrayBuffer;
  length: number;
}

/**
 * The entries one group commit made durable, in LSN order, in one message: at low
 * rates an entry holds one read's worth of records, and a message (and its answer) per
 * entry cost both threads more than the entries' records did.
 */
export interface RecordsMessage {
  type: 'records';
  entries: WalEntryMessage[];
  /** Set by the store worker: the entries handed to the parse thread as the message arrived (their buffers are then detached). */
  parsed?: Promise<ParsedEntries>;
}

export type ToWorker =
  | RecordsMessage
  | { type: 'commit'; id: number }
  | { type: 'retention'; id: number }
  | { type: 'close' }
  /** Internal: a block came back from the seal thread (written in turn, without waiting for the next one). */
  | { type: 'sealed' };

export interface WorkerStats {
  records: number;
  rawBytes: number;
  blocks: number;
  blockRawBytes: number;
  blockBytes: number;
  commits: number;
  diskBytes: number;
  partitions: number;
  /** Failed writes or syncs, by file kind (segment: .seg/.idx and directories; checkpoint). */
  writeErrors: { segment: number; checkpoint: number };
  retentionDeletedBytes: { age: number; size: number };
  retentionDeletedSegments: number;
  /** True while block writes fail and are being retried. */
  stalled: boolean;
}

export type FromWorker =
  | { type: 'ready'; checkpoint: Checkpoint; checkpointLost: boolean; checkpointStale: boolean; checkpointDamagedSlots: number; recovery: RecoveryReport }
  /** The entries' buffers come back (transferred) for the next entries: no allocation, no fresh pages per entry. */
  | { type: 'consumed'; bytes: number; entries: ArrayBuffer[] }
  | { type: 'committed'; id: number | null; checkpoint: Checkpoint; stats: WorkerStats }
  | { type: 'stats'; stats: WorkerStats }
  /** Parse counts since the last such message (only when the event loop does not parse, see WorkerInit.countParse). */
  | { type: 'parsed'; counts: ParseCountsByListener }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; msg: string; fields: Fields }
  | { type: 'fatal'; error: string }
  | { type: 'closed'; stats: WorkerStats };

/** Partitions with a builder at once; a backfill over more hours seals the least recently used (see evictBuilder). */
const MAX_OPEN_BUILDERS = 32;
/** Segments open at once (two descriptors each). */
const MAX_OPEN_WRITERS = 64;
/** Blocks handed to the seal thread and not yet written, at most (each holds a block's contents, ~8 MiB at the default block size). */
const MAX_SEALING = 2;

/**
 * Parse requests not yet built into blocks, at most: the parse thread stays this far
 * ahead of the worker, not the whole backlog ahead (its columns would pile up).
 */
const MAX_PARSE_AHEAD = 3;
/** 'records' messages that wait for the parse thread are merged into one request up to this many bytes of entries (a WAL replay sends one per entry). */
const MERGE_BYTES = 4 << 20;

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 5_000;

function post(m: FromWorker, transfer?: ArrayBuffer[]): void {
  parentPort!.postMessage(m, transfer);
}

function log(level: 'info' | 'warn' | 'error', msg: string, fields: Fields = {}): void {
  post({ type: 'log', level, msg, fields });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class BlockStore {
  private readonly partitionsDir: string;
  private readonly builders = new Map<number, BlockBuilder>();
  private readonly writers = new Map<number, SegmentWriter>();
  /** Per partition: the last segment found at start (appended to until it is full). */
  private readonly last: Map<number, LastSegment>;
  private readonly compressor = new Compressor();
  private readonly scratch = new ByteWriter(2 << 20);
  /** The seal thread (WorkerInit.sealThread), or null: blocks are then sealed here. */
  private readonly sealer: SealThread | null;
  /** Blocks handed to the seal thread and not yet written, in the order they were handed over. */
  private readonly sealing: { key: number; done: Promise<SealedBlock>; ready: boolean }[] = [];
  /**
   * Set when the seal thread failed on a block: its records were handed over and are in
   * no builder any more, only in the WAL. No checkpoint may be written after that (it
   * would let the WAL go): commits and retention throw, and the next start replays them.
   */
  private broken: Error | null = null;
  private readonly checkpoint: CheckpointWriter;
  /** Epoch of the blocks being written now: the next checkpoint's. */
  private epoch: number;
  private lastLsn: number;
  private uncommittedBytes = 0;
  private firstUncommittedAt = 0;
  private readonly dirsToSync = new Set<string>();
  private lastRetention = 0;
  /** The parse thread (WorkerInit.parseThread), or null: entries are then parsed here, with `parsers`. */
  private readonly parser: ParseThread | null;
  /** Column memory reused from batch to batch: addRecords builds each batch into blocks before it parses the next. */
  private readonly parsers = new Parsers((listener, err) =>
    parserFailed(listener, (err as Error)?.stack ?? String(err)), true);
  /** Use counter for least-recently-used eviction of builders and writers. */
  private clock = 0;
  /** .seg paths written since the last commit: retention leaves them (and their partitions) alone. */
  private readonly uncommittedSegs = new Set<string>();
  private readonly queue: ToWorker[] = [];
  private running = false;
  /** Set once a failure was reported (fatal): the store worker then does nothing more. */
  private failed = false;
  /** Requests handed to the parse thread whose message is not yet built (see MAX_PARSE_AHEAD). */
  private parsing = 0;
  private timer: NodeJS.Timeout;
  readonly stats: WorkerStats;

  constructor(private readonly cfg: WorkerInit, cp: Checkpoint, last: Map<number, LastSegment>, diskBytes: number, partitions: number) {
    this.partitionsDir = join(cfg.root, PARTITIONS_DIR);
    this.checkpoint = new CheckpointWriter(join(cfg.root, CHECKPOINT_FILE), cp);
    this.epoch = cp.epoch + 1;
    this.lastLsn = cp.lsn;
    this.last = last;
    this.compressor.setParameters({ compressionLevel: cfg.compressionLevel });
    this.sealer = cfg.sealThread ? new SealThread(cfg.compressionLevel, cfg.testFaults.sealThreadExitAfter) : null;
    this.parser = cfg.parseThread ? new ParseThread(this.tickMs(), cfg.testFaults.parseThreadExitAfter) : null;
    if (this.parser !== null) {
      this.parser.onCounts = (counts) => {
        if (cfg.countParse) post({ type: 'parsed', counts });
      };
      this.parser.onInternalError = parserFailed;
    }
    this.stats = {
      records: 0, rawBytes: 0, blocks: 0, blockRawBytes: 0, blockBytes: 0, commits: 0, diskBytes, partitions, writeErrors: { segment: 0, checkpoint: 0 },
      retentionDeletedBytes: { age: 0, size: 0 }, retentionDeletedSegments: 0, stalled: false,
    };
    // Commits by age, and stats for /metrics, once a second at most.
    this.timer = setInterval(() => this.tick(), this.tickMs());
  }

  private tickMs(): number {
    return Math.min(1000, Math.max(10, this.cfg.commitIntervalMs / 4));
  }

  push(m: ToWorker): void {
    const last = this.queue.length > 0 ? this.queue[this.queue.length - 1]! : null;
    if (m.type === 'records' && this.parser !== null && last?.type === 'records' && last.parsed === undefined && entryBytes(last) + entryBytes(m) <= MERGE_BYTES) {
      // Waiting for the parse thread anyway: one request for both.
      for (const e of m.entries) last.entries.push(e);
    } else {
      this.queue.push(m);
    }
    this.dispatchParses();
    if (!this.running) void this.pump();
  }

  /** Hands queued entries to the parse thread, in order, up to MAX_PARSE_AHEAD requests; pump() takes the answers in order. */
  private dispatchParses(): void {
    if (this.parser === null || this.failed) return;
    for (const m of this.queue) {
      if (this.parsing >= MAX_PARSE_AHEAD) return;
      if (m.type === 'records' && m.parsed === undefined) this.dispatchParse(m);
    }
  }

  private dispatchParse(m: RecordsMessage): void {
    m.parsed = this.parser!.parse(m.entries);
    // A failure is thrown where pump() awaits it; until then it is not an unhandled rejection (which would end this thread).
    m.parsed.catch(() => {});
    this.parsing++;
  }

  private tick(): void {
    if (!this.running && this.uncommittedBytes > 0 && performance.now() - this.firstUncommittedAt >= this.cfg.commitIntervalMs) {
      this.push({ type: 'commit', id: -1 });
    }
    // Retention also runs on a server that receives nothing (a restart with a shorter maxAge, time passing).
    const { maxAgeMs, maxBytes, checkIntervalMs } = this.cfg.retention;
    if (!this.running && (maxAgeMs > 0 || maxBytes > 0) && Date.now() - this.lastRetention >= checkIntervalMs) {
      this.push({ type: 'retention', id: -1 });
    }
    post({ type: 'stats', stats: this.stats });
    this.postParseCounts();
  }

  private postParseCounts(): void {
    const counts = this.parsers.take();
    if (this.cfg.countParse && counts.length > 0) post({ type: 'parsed', counts });
  }

  private async pump(): Promise<void> {
    if (this.failed) {
      // Failed: nothing more is built or committed (the WAL keeps every record for the next start); a close is answered.
      if (this.queue.some((m) => m.type === 'close')) post({ type: 'fatal', error: 'the store worker failed earlier' });
      this.queue.length = 0;
      return;
    }
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const m = this.queue.shift()!;
        if (m.type === 'records') {
          // Nothing here refers to an entry once added (builders copied what they keep): the
          // buffers go back to be reused, together, and before a commit (which may take a while).
          let done: ArrayBuffer[] = [];
          let bytes = 0;
          const giveBack = () => {
            if (done.length === 0) return;
            post({ type: 'consumed', bytes, entries: done }, done);
            done = [];
            bytes = 0;
          };
          if (this.parser !== null && m.parsed === undefined) this.dispatchParse(m);
          const parsed = m.parsed !== undefined ? await m.parsed : null;
          if (parsed !== null && parsed.entries.length !== m.entries.length) throw new Error(`parse thread: ${parsed.entries.length} entries parsed of ${m.entries.length}`);
          for (let k = 0; k < m.entries.length; k++) {
            const entry = await this.addRecords(m.entries[k]!, parsed?.entries[k] ?? null);
            done.push(entry);
            bytes += entry.byteLength;
            if (this.uncommittedBytes >= this.cfg.commitBytes) {
              giveBack();
              await this.commit(null);
            }
          }
          giveBack();
          if (parsed !== null) {
            this.parser!.giveBack(parsed.columns);
            this.parsing--;
            this.dispatchParses();
          }
        } else if (m.type === 'sealed') {
          await this.writeReadySeals();
        } else if (m.type === 'commit') {
          await this.commit(m.id >= 0 ? m.id : null);
        } else if (m.type === 'retention') {
          // No commit first: retention leaves uncommitted blocks alone (commits keep their own pace).
          await this.retention(true);
          post({ type: 'committed', id: m.id >= 0 ? m.id : null, checkpoint: this.checkpoint.current, stats: this.stats });
        } else if (m.type === 'close') {
          await this.commit(null);
          await this.sealer?.close();
          await this.parser?.close();
          clearInterval(this.timer);
          for (const w of this.writers.values()) w.close();
          this.writers.clear();
          this.checkpoint.close();
          this.postParseCounts();
          post({ type: 'closed', stats: this.stats });
          return;
        }
      }
    } catch (err) {
      this.failed = true;
      post({ type: 'fatal', error: (err as Error)?.stack ?? String(err) });
    } finally {
      this.running = false;
    }
  }

  /**
   * Parses a durable WAL entry (or takes it parsed from the parse thread) and adds its
   * records to the builders of their partitions. Returns the entry's buffer, to give back.
   */
  private async addRecords(m: WalEntryMessage, parsed: ParsedEntry | null): Promise<ArrayBuffer> {
    let batches: (RecordBatch | StoreBatch)[];
    let entry = m.entry;
    if (parsed !== null) {
      entry = parsed.entry;
      if (parsed.error !== null) return this.undecodable(m.lsn, parsed.error, entry);
      batches = parsed.batches;
    } else {
      try {
        batches = decodeEntryBody(Buffer.from(entry, 0, m.length), WAL_ENTRY_HEADER_SIZE, m.length).batches;
      } catch (err) {
        return this.undecodable(m.lsn, (err as Error).message, entry);
      }
    }
    if (this.uncommittedBytes === 0) this.firstUncommittedAt = performance.now();
    let raw = 0;
    let records = 0;
    for (const fb of batches) {
      const b = parsed !== null ? fb as RecordBatch : this.parsers.parse(fb);
      records += b.count;
      // Runs of records of one partition (mostly the whole batch) go to its builder in one call.
      for (let i = 0; i < b.count;) {
        const k = partitionOf(b.timeMs[i]!);
        let builder = this.builders.get(k) ?? null;
        if (builder === null) {
          if (this.builders.size >= MAX_OPEN_BUILDERS) await this.evictBuilder();
          builder = new BlockBuilder();
          this.builders.set(k, builder);
        }
        builder.lastUse = ++this.clock;
        i = builder.appendWhile(b, i, b.count, m.lsn, k, this.cfg.blockTarget);
        if (builder.bytes >= this.cfg.blockTarget || builder.full) await this.seal(k, builder);
      }
      raw += fb.bytes;
    }
    // The builders' deferred text copies, before the entry's buffer goes back to the event loop.
    for (const b of this.builders.values()) b.flush();
    this.lastLsn = m.lsn;
    this.uncommittedBytes += raw;
    this.stats.records += records;
    this.stats.rawBytes += raw;
    return entry;
  }

  /** An entry written by this process a moment ago that does not decode: a bug, not damage. Its records are lost to the blocks (still in the WAL). */
  private undecodable(lsn: number, error: string, entry: ArrayBuffer): ArrayBuffer {
    log('error', 'store: a WAL entry did not decode (a bug: please report it); its records are not in the blocks', { lsn, error });
    return entry;
  }

  /**
   * A backfill over many hours would otherwise hold a builder (and a pair of open files)
   * per hour: past MAX_OPEN_BUILDERS, the least recently used builder is sealed (a small
   * block, committed with the others) and dropped.
   */
  private async evictBuilder(): Promise<void> {
    let oldest: [number, BlockBuilder] | null = null;
    for (const e of this.builders) if (oldest === null || e[1].lastUse < oldest[1].lastUse) oldest = e;
    if (oldest === null) return;
    if (oldest[1].n > 0) await this.seal(oldest[0], oldest[1]);
    this.builders.delete(oldest[0]);
  }

  /** Past MAX_OPEN_WRITERS, the least recently used segment is synced and closed (commit syncs only open ones). */
  private evictWriter(): void {
    let oldest: [number, SegmentWriter] | null = null;
    for (const e of this.writers) if (oldest === null || e[1].lastUse < oldest[1].lastUse) oldest = e;
    if (oldest === null) return;
    this.closeWriter(oldest[0], oldest[1]);
  }

  /** Syncs and closes a segment, remembering where to append if its partition gets records again. */
  private closeWriter(key: number, w: SegmentWriter): void {
    w.sync();
    if (w.segLen < SEGMENT_TARGET) this.last.set(key, { no: w.no, segLen: w.segLen, idxLen: w.idxLen, blocks: w.blocks });
    w.close();
    this.writers.delete(key);
  }

  /**
   * Seals a builder's block and writes it to its partition's segment: here, or in the
   * seal thread, whose blocks are written in the order they were handed over. At most
   * MAX_SEALING blocks wait there (memory stays bounded); commits and retention wait
   * for all of them (drainSeals).
   */
  private async seal(key: number, b: BlockBuilder): Promise<void> {
    if (this.sealer === null) {
      await this.writeBlock(key, b.seal(this.compressor, this.epoch, this.scratch));
      return;
    }
    // At most MAX_SEALING blocks handed over and not yet written (each a copy of a block's contents).
    while (this.sealing.length >= MAX_SEALING) await this.writeNextSealed();
    const { contents, transfer } = b.detach();
    const s = { key, done: this.sealer.seal(contents, transfer, this.epoch), ready: false };
    // Written as soon as it is back (a 'sealed' message in turn); a failure is thrown where it is awaited.
    s.done.then(() => {
      s.ready = true;
      this.push({ type: 'sealed' });
    }, (err: Error) => {
      this.broken ??= err;
      s.ready = true; // awaited by writeReadySeals, which throws: the worker's failure path
      this.push({ type: 'sealed' });
    });
    this.sealing.push(s);
  }

  /** The blocks back from the seal thread, in order, up to the first still being sealed. */
  private async writeReadySeals(): Promise<void> {
    while (this.sealing.length > 0 && this.sealing[0]!.ready) await this.writeNextSealed();
  }

  private async writeNextSealed(): Promise<void> {
    const s = this.sealing.shift()!;
    await this.writeBlock(s.key, await s.done);
  }

  /** Every block handed to the seal thread, written. */
  private async drainSeals(): Promise<void> {
    while (this.sealing.length > 0) await this.writeNextSealed();
  }

  private async writeBlock(key: number, block: SealedBlock): Promise<void> {
    this.stats.blocks++;
    this.stats.blockRawBytes += block.header.rawLen;
    this.stats.blockBytes += block.bytes.length;
    await this.retry('segment', () => this.write(key, block));
  }

  /** Runs fn until it succeeds, with a backoff between failures. */
  private async retry(what: 'segment' | 'checkpoint', fn: () => void): Promise<void> {
    let wait = RETRY_MIN_MS;
    for (;;) {
      try {
        fn();
        if (this.stats.stalled) {
          this.stats.stalled = false;
          log('info', 'store writes work again', { file: what });
        }
        return;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        this.stats.writeErrors[what]++;
        if (!this.stats.stalled || wait >= RETRY_MAX_MS) {
          log('error', e.code === 'ENOSPC' ? 'disk full: store writes stalled; records wait in memory and senders are slowed (backpressure)' : 'store write failed; retrying',
            { file: what, error: e.message, code: e.code, retry_ms: wait });
        }
        this.stats.stalled = true;
        post({ type: 'stats', stats: this.stats });
        await sleep(wait);
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      }
    }
  }

  private write(key: number, block: SealedBlock): void {
    let w = this.writers.get(key);
    if (w && w.segLen >= SEGMENT_TARGET) {
      w.sync();
      w.close();
      this.writers.delete(key);
      w = undefined;
    }
    if (!w) {
      if (this.writers.size >= MAX_OPEN_WRITERS) this.evictWriter();
      w = this.openWriter(key);
    }
    w.lastUse = ++this.clock;
    this.uncommittedSegs.add(segmentPaths(w.dir, w.no).seg);
    const before = w.segLen + w.idxLen;
    w.append(block);
    this.stats.diskBytes += w.segLen + w.idxLen - before;
  }

  private openWriter(key: number): SegmentWriter {
    const dir = join(this.partitionsDir, partitionName(key));
    const last = this.last.get(key);
    let w: SegmentWriter;
    if (last && last.segLen < SEGMENT_TARGET) {
      w = SegmentWriter.reopen(dir, last.no, last.segLen, last.idxLen, last.blocks);
      this.last.delete(key);
    } else {
      const fresh = !dirExists(dir);
      if (fresh) {
        mkdirSync(dir, { recursive: true });
        this.dirsToSync.add(this.partitionsDir);
        this.stats.partitions++;
      }
      const segs = listSegments(dir);
      const no = (segs.length > 0 ? segs[segs.length - 1]! : 0) + 1;
      w = SegmentWriter.create(dir, no);
      this.stats.diskBytes += w.segLen + w.idxLen;
      this.dirsToSync.add(dir);
      this.last.delete(key);
    }
    this.writers.set(key, w);
    return w;
  }

  /** Seals every builder, syncs what was written, then moves the checkpoint. */
  private async commit(id: number | null): Promise<void> {
    if (this.broken !== null) throw this.broken;
    if (this.lastLsn === this.checkpoint.current.lsn && this.uncommittedBytes === 0) {
      if (id !== null) post({ type: 'committed', id, checkpoint: this.checkpoint.current, stats: this.stats });
      return;
    }
    const used = new Set<number>();
    for (const [key, b] of this.builders) {
      if (b.n > 0) {
        used.add(key);
        await this.seal(key, b);
      }
    }
    await this.drainSeals();
    await this.retry('segment', () => {
      for (const w of this.writers.values()) w.sync();
      for (const d of this.dirsToSync) syncDir(d);
      this.dirsToSync.clear();
    });
    const epoch = this.epoch;
    const lsn = this.lastLsn;
    await this.retry('checkpoint', () => {
      this.checkpoint.write(epoch, lsn);
    });
    this.epoch = epoch + 1;
    this.uncommittedBytes = 0;
    this.uncommittedSegs.clear();
    this.stats.commits++;
    // Partitions that got nothing since the last commit give up their builder and close
    // their (synced) segment, remembering where to append if records for them come back.
    for (const key of [...this.builders.keys()]) if (!used.has(key)) this.builders.delete(key);
    for (const [key, w] of [...this.writers]) if (!used.has(key)) this.closeWriter(key, w);
    await this.retention(false);
    post({ type: 'committed', id, checkpoint: this.checkpoint.current, stats: this.stats });
  }

  /**
   * Deletes partitions older than maxAge and, while the blocks take more than maxBytes,
   * the oldest segments: after a commit, and on a timer (an idle server too). Segments
   * written since the last commit, and partitions holding them or records not yet in a
   * block, are left for a later run: retention never removes what the next checkpoint
   * will count on. The newest segment is never deleted.
   */
  private async retention(force: boolean): Promise<void> {
    if (this.broken !== null) throw this.broken;
    await this.drainSeals(); // retention sees every block written so far
    const { maxAgeMs, maxBytes, checkIntervalMs } = this.cfg.retention;
    if (maxAgeMs <= 0 && maxBytes <= 0) return;
    const now = Date.now();
    if (!force && now - this.lastRetention < checkIntervalMs) return;
    this.lastRetention = now;
    const parts = listPartitions(this.partitionsDir);
    if (maxAgeMs > 0) {
      const cutoff = now - maxAgeMs;
      for (const p of parts) {
        if ((p.key + 1) * PARTITION_MS > cutoff) continue;
        // Records of this partition not yet committed: deleted at a later run, once they are.
        if ((this.builders.get(p.key)?.n ?? 0) > 0 || this.hasUncommitted(p.path)) continue;
        const bytes = dirBytes(p.path);
        this.dropPartition(p.key, p.path);
        this.stats.retentionDeletedBytes.age += bytes;
        log('info', 'retention: deleted a partition older than maxAge', { partition: p.name, bytes });
      }
    }
    if (maxBytes > 0) {
      const segs: { key: number; name: string; path: string; no: number; bytes: number }[] = [];
      let total = 0;
      for (const p of listPartitions(this.partitionsDir)) {
        for (const no of listSegments(p.path)) {
          const sp = segmentPaths(p.path, no);
          const bytes = (fileBytes(sp.seg) ?? 0) + (fileBytes(sp.idx) ?? 0);
          segs.push({ key: p.key, name: p.name, path: p.path, no, bytes });
          total += bytes;
        }
      }
      this.stats.diskBytes = total;
      let i = 0;
      while (total > maxBytes && i < segs.length - 1) {
        const s = segs[i++]!;
        if (this.uncommittedSegs.has(segmentPaths(s.path, s.no).seg)) continue;
        const w = this.writers.get(s.key);
        if (w && w.no === s.no) {
          w.close();
          this.writers.delete(s.key);
        }
        const last = this.last.get(s.key);
        if (last && last.no === s.no) this.last.delete(s.key);
        const sp = segmentPaths(s.path, s.no);
        rmSync(sp.idx, { force: true });
        rmSync(sp.seg, { force: true });
        this.dirsToSync.add(s.path);
        total -= s.bytes;
        this.stats.retentionDeletedBytes.size += s.bytes;
        this.stats.retentionDeletedSegments++;
        log('info', 'retention: deleted the oldest segment to stay under maxSize', { partition: s.name, segment: s.no, bytes: s.bytes });
        if (listSegments(s.path).length === 0 && !this.writers.has(s.key) && (this.builders.get(s.key)?.n ?? 0) === 0) this.dropPartition(s.key, s.path);
      }
      if (total > maxBytes) log('warn', 'retention: the newest segment alone is larger than maxSize', { bytes: total, max_bytes: maxBytes });
      this.stats.diskBytes = total;
    }
    await this.retry('segment', () => {
      for (const d of this.dirsToSync) if (dirExists(d)) syncDir(d);
      this.dirsToSync.clear();
    });
  }

  /** A segment of the partition directory holds blocks written since the last commit. */
  private hasUncommitted(dir: string): boolean {
    for (const seg of this.uncommittedSegs) if (seg.startsWith(`${dir}/`)) return true;
    return false;
  }

  private dropPartition(key: number, path: string): void {
    const w = this.writers.get(key);
    if (w) {
      w.close();
      this.writers.delete(key);
    }
    this.last.delete(key);
    this.builders.delete(key);
    this.stats.diskBytes = Math.max(0, this.stats.diskBytes - dirBytes(path));
    rmSync(path, { recursive: true, force: true });
    this.dirsToSync.add(this.partitionsDir);
    this.stats.partitions = Math.max(0, this.stats.partitions - 1);
  }
}

/** A parser threw on a frame, here or in the parse thread (a bug): logged; the frame was kept as a raw record. */
function parserFailed(listener: string, error: string): void {
  log('warn', 'parser failed on a frame (a bug: please report it); the frame is kept as a raw record', { listener, error });
}

function entryBytes(m: RecordsMessage): number {
  let n = 0;
  for (const e of m.entries) n += e.length;
  return n;
}

function dirExists(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function fileBytes(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

function dirBytes(path: string): number {
  let total = 0;
  for (const no of listSegments(path)) {
    const sp = segmentPaths(path, no);
    total += (fileBytes(sp.seg) ?? 0) + (fileBytes(sp.idx) ?? 0);
  }
  return total;
}


/**
 * Which epoch's blocks are committed, from the checkpoint and the WAL (docs/storage.md,
 * "Commit and recovery"):
 *  - both slots damaged (or the file gone while blocks exist): every intact block;
 *  - the WAL no longer holds the entries right after the checkpoint's LSN: a later commit
 *    happened and deleted them, so the slot read is stale (the newer slot was damaged
 *    after it was written). Slots alternate, so with one damaged slot that commit was the
 *    very next epoch; otherwise every intact block is trusted;
 *  - else the checkpoint as read (a newer slot torn by a crash belongs to a commit that
 *    did not finish: its blocks are cut and its WAL is still there).
 */
function trustedEpoch(cp: CheckpointRead, wal: WalFile[]): { epoch: number; reason: 'lost' | 'stale' | null } {
  if (cp.lost) return { epoch: Infinity, reason: 'lost' };
  const firstLsn = wal.length > 0 ? wal[0]!.firstLsn : Infinity;
  const walGap = firstLsn > cp.checkpoint.lsn + 1 && (wal.length > 0 || cp.checkpoint.seq > 0);
  if (walGap) return { epoch: cp.damagedSlots === 1 ? cp.checkpoint.epoch + 1 : Infinity, reason: 'stale' };
  return { epoch: cp.checkpoint.epoch, reason: null };
}

function writeCheckpointNow(path: string, current: Checkpoint, epoch: number, lsn: number): Checkpoint {
  const w = new CheckpointWriter(path, current);
  try {
    return w.write(epoch, lsn);
  } finally {
    w.close();
  }
}

function start(): void {
  const cfg = workerData as WorkerInit;
  // Building blocks is background work with a bounded backlog (thread-priority.ts).
  nameThread('ringlog-store');
  lowerThreadPriority(5);
  const partitionsDir = join(cfg.root, PARTITIONS_DIR);
  mkdirSync(partitionsDir, { recursive: true });
  const cpPath = join(cfg.root, CHECKPOINT_FILE);
  const cpRead = readCheckpoint(cpPath);
  const trust = trustedEpoch(cpRead, listWalFiles(join(cfg.root, WAL_DIR)));
  const { report, last } = recoverSegments(partitionsDir, trust.epoch);
  let cp = cpRead.checkpoint;
  if (trust.reason !== null) {
    // The checkpoint could not be taken at its word: the blocks now kept are the committed
    // ones, the WAL is replayed past their newest record, and a new checkpoint says so.
    const epoch = Number.isFinite(trust.epoch) ? trust.epoch : report.maxEpoch;
    cp = writeCheckpointNow(cpPath, cpRead.checkpoint, epoch, Math.max(report.maxBlockLsn, cpRead.checkpoint.lsn));
  }
  const store = new BlockStore(cfg, cp, last, report.diskBytes, report.partitions);
  parentPort!.on('message', (m: ToWorker) => store.push(m));
  post({ type: 'ready', checkpoint: cp, checkpointLost: trust.reason === 'lost', checkpointStale: trust.reason === 'stale', checkpointDamagedSlots: cpRead.damagedSlots, recovery: report });
}

try {
  start();
} catch (err) {
  post({ type: 'fatal', error: (err as Error)?.stack ?? String(err) });
}
