/**
 * The store, as the pipeline sees it (an Output), on the event loop: the WAL with
 * group commit, the ack point, recovery, and the store worker that builds blocks
 * (docs/storage.md). The data flow:
 *
 *   write(batches) ──copy──► WAL entry ──► WalWriter (write + fdatasync, grouped)
 *                                              │ durable: batch.ack(), metrics
 *                                              ▼
 *                               store worker (blocks, compression, segments, commits)
 *                                              │ committed(lsn)
 *                                              ▼
 *                                  WAL files ≤ lsn deleted
 *
 * write() returns once the records are copied into a WAL entry, so the read buffers
 * go back to the pool at once; what is held in memory between the copy and the
 * worker having consumed the records is bounded by `maxPending`: past it, write()
 * waits, the pipeline fills and the senders are paused.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from '../pipeline/pipeline.js';
import type { FrameBatch } from '../pipeline/batch.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Logger } from '../log.js';
import { RinglogError } from '../errors.js';
import { nowMs } from '../pipeline/batch.js';
import { CHECKPOINT_FILE, FORMAT_FILE, LOCK_FILE, READABLE_STORE_VERSIONS, STORE_VERSION, PARTITIONS_DIR, STORE_DIR, WAL_DIR, WAL_FILE_MAGIC, WAL_FILE_TARGET, WAL_KEYED_VERSION } from './consts.js';
import { encodeEntry, type StoreBatch } from './wal-entry.js';
import { WalWriter, type FsyncMode, type WalEntryRef } from './wal-writer.js';
import { replaceFileDurably, truncateFile } from './fs-util.js';
import { listWalFiles, scanWalFile } from './wal-reader.js';
import { formatText, newWalKey, parseFormat, type WalKey } from './wal-key.js';
import type { FromWorker, ThreadFaults, ToWorker, WalEntryMessage, WorkerInit, WorkerStats } from './store-worker.js';
import type { Checkpoint } from './checkpoint.js';
import { EntryBuffers } from './entry-buffers.js';

export interface StoreOptions {
  /** The data directory; the store lives in DATA_DIR/store. */
  dataDir: string;
  fsync: FsyncMode;
  fsyncIntervalMs: number;
  compressionLevel: number;
  blockTarget: number;
  commitBytes: number;
  commitIntervalMs: number;
  retention: { maxAgeMs: number; maxBytes: number; checkIntervalMs: number };
  /** Bytes copied but not yet consumed by the worker before write() waits. */
  maxPending: number;
  /** Prepare each next WAL file ahead, recycled or zero-filled (wal-writer.ts); default true. */
  walPrepare?: boolean;
  /** Start a new WAL file past this size; default WAL_FILE_TARGET. */
  walFileSize?: number;
  /** Seal blocks in a thread of their own (seal-thread.ts); `auto` (the default): when the machine has two cores or more. */
  sealThread?: boolean | 'auto';
  /** Parse WAL entries in a thread of their own (parse-thread.ts); `auto` (the default): when the machine has more than two cores. */
  parseThread?: boolean | 'auto';
  /** Tests only (not in the configuration): make a thread of the store worker die, as a crash would. */
  testFaults?: ThreadFaults;
  /**
   * The worker reports parse counts (records per format, parse errors) to /metrics: true
   * when the event loop does not parse (no output but the store needs parsed records).
   */
  countParse?: boolean;
}

interface PendingEntry {
  acks: (() => void)[];
  /** Receive time (ms) of each batch, for the receive → durable latency. */
  received: number[];
  records: number;
  rawBytes: number;
}

/** Where the store lives inside a data directory. */
export function storeRoot(dataDir: string): string {
  return join(dataDir, STORE_DIR);
}

/**
 * store.sealThread / store.parseThread: `auto` (the default) means at least `cores`
 * cores: 2 for the seal thread, 3 for the parse thread (docs/configuration.md).
 */
function helperThread(setting: boolean | 'auto' | undefined, cores: number): boolean {
  return (setting ?? 'auto') === 'auto' ? availableParallelism() >= cores : setting === true;
}

export class Store implements Output {
  readonly name = 'store';
  /** This output's write() is not the ack point; it calls batch.ack() itself once durable. */
  readonly acks = true;
  readonly root: string;
  private worker: Worker | null = null;
  private wal: WalWriter | null = null;
  private nextLsn = 1;
  private readonly pending = new Map<number, PendingEntry>();
  /** Bytes copied into WAL entries and not yet consumed by the worker. */
  private pendingBytes = 0;
  private spaceWaiters: (() => void)[] = [];
  /** WAL entry buffers: new, or given back by the worker once it consumed their entries. */
  private readonly entryBuffers: EntryBuffers;
  private readonly entryBuffer = (bound: number) => this.entryBuffers.take(bound);
  private durableWaiters: { lsn: number; resolve: () => void }[] = [];
  private lastDurableLsn = 0;
  private checkpoint: Checkpoint = { seq: 0, epoch: 0, lsn: 0 };
  private commitWaiters = new Map<number, (cp: Checkpoint) => void>();
  private nextCommitId = 1;
  private lastStats: WorkerStats | null = null;
  private closed = false;
  private locked = false;
  private walStalled = false;
  private fatal: ((err: Error) => void) | null = null;
  private workerClosed: (() => void) | null = null;
  /** The worker thread has ended (closed, or died): close() does not wait for it. */
  private workerExited = false;
  /** A worker failure was reported (once: its exit after a 'fatal' is the same failure). */
  private workerFailedOnce = false;

  constructor(private readonly opts: StoreOptions, private readonly metrics: Metrics, private readonly log: Logger) {
    this.entryBuffers = new EntryBuffers(opts.maxPending);
    this.root = storeRoot(opts.dataDir);
    metrics.onCollect(() => this.observe());
  }

  /** Called when the store cannot go on (the worker died): the caller should stop the server. */
  onFatal(fn: (err: Error) => void): void {
    this.fatal = fn;
  }

  /** Opens (or creates) the store, recovers it, and starts the WAL. */
  async open(): Promise<void> {
    try {
      mkdirSync(join(this.root, WAL_DIR), { recursive: true });
      mkdirSync(join(this.root, PARTITIONS_DIR), { recursive: true });
    } catch (err) {
      throw new RinglogError('RL_STORE_OPEN', `cannot create the store in ${this.root}: ${(err as Error).message}`, { cause: err });
    }
    // Refused before the LOCK is taken (nothing is created in a store of another
    // version); created or moved to this version only once it is held.
    checkFormat(this.root, 'probe');
    this.lock();
    const walKey = checkFormat(this.root, 'write');
    const ready = await this.startWorker();
    this.checkpoint = ready.checkpoint;
    this.reportRecovery(ready);
    const replayed = this.replayWal(ready.checkpoint.lsn, walKey);
    this.wal = new WalWriter(join(this.root, WAL_DIR), listWalFiles(join(this.root, WAL_DIR)), {
      walKey,
      fsync: this.opts.fsync,
      fsyncIntervalMs: this.opts.fsyncIntervalMs,
      fileTarget: this.opts.walFileSize ?? WAL_FILE_TARGET,
      prepare: this.opts.walPrepare !== false,
      onDurable: (entries) => this.durable(entries),
      onError: (err, retryMs) => this.walError(err, retryMs),
      onRecovered: () => {
        this.walStalled = false;
        this.metrics.storeStalled.set(0);
        this.log.info('store: WAL writes work again');
      },
      onSync: (seconds) => {
        this.metrics.storeWalSyncs.inc();
        this.metrics.storeWalSyncSeconds.observe(seconds);
      },
    });
    try {
      await this.wal.start(this.nextLsn);
    } catch (err) {
      throw new RinglogError('RL_STORE_OPEN', `cannot start the write-ahead log in ${join(this.root, WAL_DIR)}: ${(err as Error).message}`, { cause: err });
    }
    if (replayed > 0) await this.commit();
    this.log.info('store open', {
      dir: this.root, checkpoint_epoch: this.checkpoint.epoch, checkpoint_lsn: this.checkpoint.lsn, next_lsn: this.nextLsn,
      blocks: ready.recovery.blocks, records: ready.recovery.records, replayed_records: replayed, fsync: this.opts.fsync,
    });
  }

  private lock(): void {
    const path = join(this.root, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
        this.locked = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new RinglogError('RL_STORE_OPEN', `cannot create ${path}: ${(err as Error).message}`);
      }
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new RinglogError('RL_STORE_LOCKED', `the store in ${this.root} is in use by another ringlog (pid ${pid}); one server per data directory`);
      }
      // A lock left by a process that is gone (killed, crashed): take it over.
      unlinkSync(path);
    }
    throw new RinglogError('RL_STORE_LOCKED', `could not take the lock ${path}`);
  }

  private startWorker(): Promise<Extract<FromWorker, { type: 'ready' }>> {
    const init: WorkerInit = {
      root: this.root,
      compressionLevel: this.opts.compressionLevel,
      blockTarget: this.opts.blockTarget,
      commitBytes: this.opts.commitBytes,
      commitIntervalMs: this.opts.commitIntervalMs,
      retention: this.opts.retention,
      countParse: this.opts.countParse ?? true,
      sealThread: helperThread(this.opts.sealThread, 2),
      parseThread: helperThread(this.opts.parseThread, 3),
      testFaults: this.opts.testFaults ?? {},
    };
    const worker = new Worker(new URL('./store-worker.js', import.meta.url), { workerData: init, name: 'ringlog-store' });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true;
          resolve(m);
        } else if (m.type === 'fatal' && !ready) reject(new RinglogError('RL_STORE_OPEN', `store recovery failed: ${m.error}`));
        else this.onWorkerMessage(m);
      });
      worker.on('error', (err) => {
        if (!ready) reject(new RinglogError('RL_STORE_OPEN', `store worker failed to start: ${err.message}`, { cause: err }));
        else this.workerFailed(err.stack ?? err.message);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new RinglogError('RL_STORE_OPEN', `store worker exited with code ${code} before it was ready`));
        else if (!this.closed) this.workerFailed(`store worker exited with code ${code}`);
        this.workerExited = true;
        this.workerClosed?.();
      });
    });
  }

  private workerFailed(error: string): void {
    if (this.closed || this.workerFailedOnce) return;
    this.workerFailedOnce = true;
    this.wakeSpace();
    this.log.error('store worker failed: the server stops; every acknowledged record is in the WAL and is recovered at the next start', { error });
    this.fatal?.(new RinglogError('RL_STORE_FAILED', `store worker failed: ${error}`));
  }

  private onWorkerMessage(m: FromWorker): void {
    switch (m.type) {
      case 'consumed':
        this.pendingBytes -= m.bytes;
        for (const ab of m.entries) this.entryBuffers.give(ab);
        this.wakeSpace();
        break;
      case 'committed': {
        this.checkpoint = m.checkpoint;
        this.applyStats(m.stats);
        void this.wal?.deleteUpTo(m.checkpoint.lsn).catch((err: Error) => this.log.warn('store: could not delete old WAL files', { error: err.message }));
        if (m.id !== null) {
          const w = this.commitWaiters.get(m.id);
          this.commitWaiters.delete(m.id);
          w?.(m.checkpoint);
        }
        break;
      }
      case 'stats':
        this.applyStats(m.stats);
        break;
      case 'parsed':
        for (const { listener, counts } of m.counts) {
          for (const [format, n] of counts.formats) this.metrics.recordsParsed.inc({ listener, format }, n);
          for (const [reason, n] of counts.errors) this.metrics.parseErrors.inc({ listener, reason }, n);
          if (counts.timestampsReplaced > 0) this.metrics.timestampsReplaced.inc({ listener }, counts.timestampsReplaced);
        }
        break;
      case 'log':
        this.log[m.level](`store: ${m.msg}`, m.fields);
        break;
      case 'fatal':
        this.workerFailed(m.error);
        break;
      case 'closed':
        this.applyStats(m.stats);
        break;
    }
  }

  /** Worker counters are cumulative: move the growth into the registry. */
  private applyStats(s: WorkerStats): void {
    const p = this.lastStats;
    const d = (a: number, b: number | undefined) => Math.max(0, a - (b ?? 0));
    this.metrics.storeBlocks.inc(d(s.blocks, p?.blocks));
    this.metrics.storeBlockRawBytes.inc(d(s.blockRawBytes, p?.blockRawBytes));
    this.metrics.storeBlockBytes.inc(d(s.blockBytes, p?.blockBytes));
    this.metrics.storeCommits.inc(d(s.commits, p?.commits));
    this.metrics.storeWriteErrors.inc({ file: 'segment' }, d(s.writeErrors.segment, p?.writeErrors.segment));
    this.metrics.storeWriteErrors.inc({ file: 'checkpoint' }, d(s.writeErrors.checkpoint, p?.writeErrors.checkpoint));
    this.metrics.storeRetentionDeleted.inc({ reason: 'age' }, d(s.retentionDeletedBytes.age, p?.retentionDeletedBytes.age));
    this.metrics.storeRetentionDeleted.inc({ reason: 'size' }, d(s.retentionDeletedBytes.size, p?.retentionDeletedBytes.size));
    this.metrics.storeDiskBytes.set(s.diskBytes);
    this.metrics.storePartitions.set(s.partitions);
    this.metrics.storeStalled.set(s.stalled || this.walStalled ? 1 : 0);
    this.lastStats = s;
  }

  private reportRecovery(ready: Extract<FromWorker, { type: 'ready' }>): void {
    const r = ready.recovery;
    const damage = this.metrics.storeDamage;
    damage.inc({ kind: 'uncommitted_block' }, r.uncommittedBlocks);
    damage.inc({ kind: 'torn_tail' }, r.tornTails);
    damage.inc({ kind: 'rebuilt_index' }, r.rebuiltIndexes);
    damage.inc({ kind: 'damaged_block' }, r.damagedBlocks);
    damage.inc({ kind: 'damaged_header' }, r.damagedHeaders);
    damage.inc({ kind: 'checkpoint_slot' }, ready.checkpointDamagedSlots);
    this.metrics.storeDamagedBytes.inc(r.damagedBytes);
    this.metrics.storeDiskBytes.set(r.diskBytes);
    this.metrics.storePartitions.set(r.partitions);
    const cpFile = join(this.root, CHECKPOINT_FILE);
    if (ready.checkpointLost) {
      damage.inc({ kind: 'checkpoint_lost' });
      this.log.error('store recovery: no valid checkpoint slot; every intact block is kept and the WAL is replayed past the newest block (records of the last commit may appear twice)', { file: cpFile });
    } else if (ready.checkpointDamagedSlots > 0) {
      this.log.warn('store recovery: a checkpoint slot is damaged; the other one is used', { file: cpFile, damaged_slots: ready.checkpointDamagedSlots });
    }
    if (ready.checkpointStale) {
      damage.inc({ kind: 'checkpoint_stale' });
      this.log.error('store recovery: the checkpoint is older than the WAL (a newer one was damaged or the file replaced); the intact blocks of the later commit are kept, the WAL is replayed after them, and a new checkpoint was written', { file: cpFile });
    }
    const serious = r.tornTails + r.rebuiltIndexes + r.damagedBlocks + r.damagedHeaders > 0 || r.damagedBytes > 0;
    if (serious) {
      this.log.warn('store: recovery found damage and repaired what it could', {
        torn_tails: r.tornTails, rebuilt_indexes: r.rebuiltIndexes, damaged_blocks: r.damagedBlocks, damaged_bytes: r.damagedBytes,
      });
    }
    for (const note of r.notes.slice(0, 50)) this.log[serious ? 'warn' : 'info'](`store recovery: ${note}`);
    if (r.notes.length > 50) this.log.warn(`store recovery: ${r.notes.length - 50} more notes not shown`);
  }

  /**
   * Replays WAL entries past the checkpoint into the worker (they are durable but not
   * yet in committed blocks); cuts a torn tail off the last file. Returns the records.
   */
  private replayWal(fromLsn: number, walKey: WalKey | null): number {
    const dir = join(this.root, WAL_DIR);
    const files = listWalFiles(dir);
    let records = 0;
    let maxLsn = fromLsn;
    files.forEach((f, i) => {
      const scan = scanWalFile(f.path, fromLsn, (e) => {
        // The entry again, in a buffer of its own for the worker (which parses it, as it does every entry).
        const { entry, records: n } = encodeEntry(e.batches, e.lsn);
        this.post([{ lsn: e.lsn, entry }]);
        records += n;
      }, walKey);
      if (scan.lastLsn > maxLsn) maxLsn = scan.lastLsn;
      if (scan.headerDamaged) {
        this.metrics.storeDamage.inc({ kind: 'damaged_header' });
        this.log.warn('store recovery: damaged WAL file header; its entries were read anyway', { file: f.path });
      }
      const last = i === files.length - 1;
      if (scan.damagedBytes > 0 || scan.badEntries > 0) {
        this.metrics.storeDamage.inc({ kind: 'damaged_wal_entry' }, scan.badEntries + (scan.damagedBytes > 0 ? 1 : 0));
        this.metrics.storeDamagedBytes.inc(scan.damagedBytes);
        this.log.warn('store recovery: damaged WAL entries skipped (their records are lost)', { file: f.path, damaged_bytes: scan.damagedBytes, bad_entries: scan.badEntries });
      }
      if (scan.tornTail > 0) {
        this.metrics.storeDamage.inc({ kind: 'torn_tail' });
        this.metrics.storeDamagedBytes.inc(scan.tornTail);
        this.log[last ? 'info' : 'warn'](last ? 'store recovery: torn WAL tail cut off (an append cut short by the crash; it was never acknowledged)' : 'store recovery: damaged end of a WAL file', { file: f.path, bytes: scan.tornTail });
        if (last) truncateFile(f.path, scan.validEnd);
      }
    });
    this.nextLsn = maxLsn + 1;
    this.metrics.storeReplayed.inc(records);
    return records;
  }

  /**
   * Hands durable entries to the worker in one message (their ArrayBuffers are
   * transferred, not copied). `counted`: their bytes are already in pendingBytes.
   */
  private post(entries: WalEntryRef[], counted = false): void {
    const list: WalEntryMessage[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const { lsn, entry } of entries) {
      const ab = entry.buffer as ArrayBuffer;
      if (!counted) this.pendingBytes += ab.byteLength;
      list.push({ lsn, entry: ab, length: entry.byteOffset + entry.length });
      transfer.push(ab);
    }
    if (list.length > 0) this.worker!.postMessage({ type: 'records', entries: list } satisfies ToWorker, transfer);
  }

  /** Copies the batches' frames into a WAL entry and queues it; waits first while too much is pending. */
  async write(batches: FrameBatch[]): Promise<void> {
    if (this.closed) throw new RinglogError('RL_OUTPUT_FAILED', 'store is closed');
    while (this.pendingBytes >= this.opts.maxPending) {
      // A failed worker consumes nothing more: waiting would be forever.
      if (this.workerFailedOnce) throw new RinglogError('RL_STORE_FAILED', 'the store worker failed; the store takes no more records until a restart');
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    let n = 0;
    for (const b of batches) n += b.count;
    if (n === 0) {
      for (const b of batches) b.ack?.();
      return;
    }
    const lsn = this.nextLsn++;
    const { entry, rawBytes } = encodeEntry(batches as StoreBatch[], lsn, this.entryBuffer);
    const acks: (() => void)[] = [];
    const received: number[] = [];
    for (const b of batches) {
      if (b.ack) acks.push(b.ack);
      received.push(b.received);
    }
    this.pending.set(lsn, { acks, received, records: n, rawBytes });
    // As for every output: receipt of the oldest record → written (here: copied into the WAL queue).
    this.metrics.outputLatency.observe({ output: this.name }, (nowMs() - batches[0]!.received) / 1000);
    this.pendingBytes += (entry.buffer as ArrayBuffer).byteLength;
    this.wal!.append({ lsn, entry });
  }

  /** Wakes the writers waiting for space: there is some, or the worker failed (write() then throws instead of waiting for ever). */
  private wakeSpace(): void {
    if (this.pendingBytes >= this.opts.maxPending && !this.workerFailedOnce) return;
    const w = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const r of w) r();
  }

  private durable(entries: WalEntryRef[]): void {
    const now = nowMs();
    let records = 0;
    let bytes = 0;
    let walBytes = 0;
    const handed: WalEntryRef[] = [];
    for (const e of entries) {
      const p = this.pending.get(e.lsn);
      if (!p) continue;
      handed.push(e);
      this.pending.delete(e.lsn);
      for (const a of p.acks) a();
      for (const r of p.received) this.metrics.storeDurableLatency.observe(Math.max(0, now - r) / 1000);
      records += p.records;
      bytes += p.rawBytes;
      walBytes += e.entry.length;
      this.lastDurableLsn = e.lsn;
    }
    this.post(handed, true);
    this.metrics.storeRecords.inc(records);
    this.metrics.storeBytes.inc(bytes);
    // As every output reports its writes: for the store, written means durable.
    this.metrics.outputRecords.inc({ output: this.name }, records);
    this.metrics.outputBytes.inc({ output: this.name }, walBytes);
    this.metrics.outputLastWrite.set({ output: this.name }, Date.now() / 1000);
    this.metrics.storeWalBytes.inc(walBytes);
    if (this.durableWaiters.length > 0) {
      const keep: typeof this.durableWaiters = [];
      for (const w of this.durableWaiters) (w.lsn <= this.lastDurableLsn ? w.resolve() : keep.push(w));
      this.durableWaiters = keep;
    }
  }

  private walError(err: NodeJS.ErrnoException, retryMs: number): void {
    this.metrics.storeWriteErrors.inc({ file: 'wal' });
    this.metrics.storeStalled.set(1);
    if (!this.walStalled || retryMs >= 5_000) {
      this.log.error(err.code === 'ENOSPC'
        ? 'disk full: WAL writes stalled; records wait in memory, senders are slowed (backpressure), nothing is acknowledged until space returns'
        : 'store: WAL write failed; retrying', { error: err.message, code: err.code, retry_ms: retryMs });
    }
    this.walStalled = true;
  }

  /** Resolves once everything written so far is durable (the ack point). */
  flush(): Promise<void> {
    const lsn = this.nextLsn - 1;
    if (lsn <= this.lastDurableLsn) return Promise.resolve();
    return new Promise((resolve) => this.durableWaiters.push({ lsn, resolve }));
  }

  /** Asks the worker to commit now: everything it has consumed goes into committed blocks. */
  commit(): Promise<Checkpoint> {
    const id = this.nextCommitId++;
    return new Promise((resolve) => {
      this.commitWaiters.set(id, resolve);
      this.worker!.postMessage({ type: 'commit', id } satisfies ToWorker);
    });
  }

  /** Bytes copied into the store and not yet consumed by the worker (its backlog; at most maxPending). */
  get backlogBytes(): number {
    return this.pendingBytes;
  }

  /** Bytes handed to the store and not yet acknowledged (in the WAL queue or being written). */
  get unackedBytes(): number {
    return this.wal?.pendingBytes ?? 0;
  }

  /** Shutdown: everything queued is written and synced, committed into blocks, and the WAL it was in deleted. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.wal?.close();
    this.closed = true;
    const worker = this.worker;
    if (worker) {
      const exited = new Promise<void>((r) => (this.workerClosed = r));
      const done = new Promise<void>((resolve) => {
        worker.on('message', (m: FromWorker) => {
          // A worker that failed (fatal) will not close: its records are in the WAL for the next start.
          if (m.type === 'closed' || m.type === 'fatal') resolve();
        });
      });
      worker.postMessage({ type: 'close' } satisfies ToWorker);
      if (!this.workerExited) await Promise.race([done, exited]);
      await this.wal?.deleteUpTo(this.checkpoint.lsn).catch(() => 0);
      await worker.terminate();
    }
    if (this.locked) {
      try {
        unlinkSync(join(this.root, LOCK_FILE));
      } catch {
        /* already gone */
      }
      this.locked = false;
    }
  }

  private observe(): void {
    this.metrics.storePendingBytes.set(this.pendingBytes);
    this.metrics.storeWalFiles.set(this.wal?.files.length ?? 0);
    if (this.wal) {
      this.metrics.storeWalFilesOpened.set({ kind: 'prepared' }, this.wal.opened.prepared);
      this.metrics.storeWalFilesOpened.set({ kind: 'grown' }, this.wal.opened.grown);
      this.metrics.storeWalFilesOpened.set({ kind: 'recycled' }, this.wal.opened.recycled);
    }
  }
}

/**
 * Checks the store's FORMAT file: refuses a store of a version this build does not read
 * with a clear error. `read` (a reader): the file must be there. `probe` (a server,
 * before it takes the LOCK): it may be missing (a new store); nothing is written.
 * `write` (a server holding the LOCK): creates the file in a new store, and moves an
 * older readable store to STORE_VERSION (its files stay as they are; what is written
 * from now on may use what the newer version adds), with a WAL key (wal-key.ts) if it
 * has none. Returns the store's WAL key (null: none yet, for `read` and `probe`).
 */
export function checkFormat(root: string, mode: 'read' | 'probe' | 'write'): WalKey | null {
  const path = join(root, FORMAT_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (mode === 'read') throw new RinglogError('RL_STORE_OPEN', `${root} is not a ringlog store (no ${FORMAT_FILE} file)`);
    return mode === 'write' ? writeFormat(root, newKeyFor(root)) : null;
  }
  const f = parseFormat(text);
  if (f === null) throw new RinglogError('RL_STORE_VERSION', `${path} does not name a ringlog store format`);
  if (!READABLE_STORE_VERSIONS.includes(f.version)) {
    throw new RinglogError('RL_STORE_VERSION',
      `the store in ${root} has format version ${f.version}; this ringlog reads versions ${READABLE_STORE_VERSIONS.join(', ')} (use the ringlog version that wrote it, or a newer one)`);
  }
  if (mode === 'write' && (f.version < STORE_VERSION || f.walKey === null)) return writeFormat(root, f.walKey ?? newKeyFor(root));
  return f.walKey;
}

/**
 * A new WAL key for the store at `root`, covering the files named past every WAL file
 * there now (those keep plain checksums). Refused when one of them says it is keyed: the
 * key it was written with is gone from FORMAT (a FORMAT file restored or edited), and a
 * new one would leave its entries unreadable.
 */
function newKeyFor(root: string): WalKey {
  let from = 1;
  for (const f of listWalFiles(join(root, WAL_DIR))) {
    from = Math.max(from, f.firstLsn + 1);
    const head = Buffer.alloc(8);
    let n = 0;
    try {
      const fd = openSync(f.path, 'r');
      try {
        n = readSync(fd, head, 0, 8, 0);
      } finally {
        closeSync(fd);
      }
    } catch {
      continue;
    }
    if (n === 8 && head.readUInt32LE(0) === WAL_FILE_MAGIC && head.readUInt32LE(4) === WAL_KEYED_VERSION) {
      throw new RinglogError('RL_STORE_OPEN',
        `${f.path} was written with a WAL key that ${join(root, FORMAT_FILE)} does not hold: put back the FORMAT file the store was written with`);
    }
  }
  return newWalKey(from);
}

/** Writes the FORMAT file of this version with `walKey`, durably, in place of any older one; returns the key. */
function writeFormat(root: string, walKey: WalKey): WalKey {
  try {
    replaceFileDurably(join(root, FORMAT_FILE), formatText(STORE_VERSION, walKey));
    return walKey;
  } catch (err) {
    throw new RinglogError('RL_STORE_OPEN', `cannot write ${join(root, FORMAT_FILE)}: ${(err as Error).message}`, { cause: err });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
