/**
 * Reads a store, read-only and safe while a server writes it (docs/storage.md,
 * "Reading"): a snapshot is the checkpoint (epoch E, LSN L), the blocks of epoch ≤ E
 * (later ones are not committed yet and are ignored), and the WAL entries past L
 * (records not yet in committed blocks, parsed again here). If the checkpoint moves
 * while the WAL is read (the writer may then delete WAL files), the snapshot is taken
 * again.
 *
 * A scan runs newest-first or oldest-first over the time range. Blocks are skipped,
 * before any is read, by their time range, severity mask and token filter (words and
 * `name=value` pairs); the blocks that remain are decoded in time order and merged,
 * so results come out in timestamp order however the records arrived. A damaged
 * block is reported and skipped; a file deleted by retention mid-scan is skipped.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, type Checkpoint } from './checkpoint.js';
import { CorruptError } from './byte-buffer.js';
import { BLOCK_HEADER_SIZE, cmpTime } from './block-header.js';
import { decodeBlock, type DecodedBlock } from './block-decoder.js';
import { CHECKPOINT_FILE, PARTITION_MS, PARTITIONS_DIR } from './consts.js';
import { listPartitions, listSegments, partitionOf } from './partition.js';
import { readFileOrNull, readIndex, segmentPaths, type IndexEntry } from './segment.js';
import { WalFollower } from './wal-follower.js';
import type { StoreBatch } from './wal-entry.js';
import { ByteWriter } from './byte-buffer.js';
import { Compressor } from 'zstd-napi';
import { checkFormat, storeRoot } from './store.js';
import { BlockBuilder, SLOT_NAMES } from './block-builder.js';
import { Parsers } from './parsers.js';
import type { LogRecord } from '../record/record.js';
import type { Node } from '../query/ast.js';
import { planQuery, toTimePoint, type Plan, type TimePoint } from '../query/plan.js';
import { regexLiteral } from '../query/parser.js';
import { toNs } from '../record/time.js';

export type { TimePoint };

export interface ScanQuery {
  /** A query-language tree (docs/query.md); the options below are ANDed with it. */
  query?: Node | null;
  /** Inclusive lower bound of the record timestamp. */
  from?: TimePoint | null;
  /** Exclusive upper bound. */
  to?: TimePoint | null;
  order?: 'newest' | 'oldest';
  /** Each must occur as whole words, case-insensitively ("disk full"), in the message or in a field value. */
  words?: string[];
  /** Each must occur in the message as it is (case-sensitive substring). */
  contains?: string[];
  /** name = value, exactly; name is host, app, procid, msgid, facility, severity, or a field name. */
  fields?: { name: string; value: string }[];
  /** Only records at least this severe (severity number ≤ this: 3 = err and worse). */
  maxSeverity?: number | null;
  limit?: number;
  /** Resume after this position (a page's last record); see SortKey. */
  after?: ScanCursor | null;
  /** Only records received at or before this time (ns): keeps pages stable while records arrive. */
  receivedBefore?: bigint | null;
  /** Called before each block is read and every few thousand records: throws to stop the scan (cancel, time limit). */
  check?: () => void;
}

/**
 * Records come out ordered by timestamp, then receive time, then a hash of the
 * message: the same order whether a record is read from the WAL or from a block, so
 * a cursor (the last key emitted and how many records with exactly that key were
 * emitted) resumes without repeating or skipping records.
 */
export interface SortKey {
  tsMs: number;
  tsNs: number;
  rcMs: number;
  rcNs: number;
  hash: number;
}

export interface ScanCursor {
  key: SortKey;
  /** Records with exactly this key already emitted. */
  skip: number;
}

export interface ScanStats {
  /** Blocks in the snapshot. */
  blocks: number;
  /** Skipped by time range, severity mask or token filter without being read. */
  skippedByTime: number;
  skippedByIndex: number;
  /** Read and decoded. */
  read: number;
  /** Failed their CRC or did not decode: skipped. */
  damaged: number;
  /** Records from the WAL (not yet in committed blocks) considered. */
  walRecords: number;
  matched: number;
}

/** One source of records in a scan: a block on disk, or the WAL's records. */
interface Candidate {
  minMs: number;
  minNs: number;
  maxMs: number;
  maxNs: number;
  open(): Item[];
}

/** A block built in memory from WAL entries, with what the index would say of it. */
interface WalBlock {
  entry: IndexEntry;
  block: DecodedBlock;
}

/** Block candidates are opened lazily; this is what a snapshot knows of a block. */
interface BlockRef {
  segPath: string;
  entry: IndexEntry;
}

export class StoreReader {
  readonly root: string;
  private onWarning: (msg: string) => void;

  /** WAL entries not yet covered by a checkpoint, by LSN, as blocks (walBlocks). */
  private walCache = new Map<number, WalBlock[]>();
  /** Parsed index files by path, reused while the file keeps its size (an index only grows, or is rebuilt). */
  private indexCache = new Map<string, { size: number; read: ReturnType<typeof readIndex> }>();
  private follower: WalFollower | null = null;
  // The same parse the store worker does (its Parsers), so WAL records read as their blocks will.
  private parsers = new Parsers();
  private compressor = fastCompressor();
  private scratch = new ByteWriter(1 << 20);

  /**
   * Called before each block is read and after each WAL entry is built into blocks: a
   * query worker uses it to slow itself down while ingestion is under pressure.
   */
  throttle: (() => void) | null = null;

  private constructor(root: string, onWarning: (msg: string) => void) {
    this.root = root;
    this.onWarning = onWarning;
  }

  /** Opens the store of a data directory for reading. Throws RL_STORE_OPEN / RL_STORE_VERSION. */
  static open(dataDir: string, onWarning: (msg: string) => void = () => {}): StoreReader {
    const root = storeRoot(dataDir);
    checkFormat(root, 'read');
    return new StoreReader(root, onWarning);
  }

  private snapshot(plan: Plan, stats: ScanStats): { checkpoint: Checkpoint; wal: WalBlock[]; blocks: BlockRef[] } {
    for (let attempt = 0; ; attempt++) {
      const read = readCheckpoint(join(this.root, CHECKPOINT_FILE));
      if (read.lost) {
        // Both slots damaged: as the server's recovery does, trust every intact block and
        // take the WAL past the newest block's LSN.
        this.onWarning(`${join(this.root, CHECKPOINT_FILE)}: both checkpoint slots are damaged; reading every intact block and the WAL after them`);
        const blocks = this.blockRefs(Infinity, plan, stats);
        let lsn = 0;
        for (const b of blocks) if (b.entry.header.maxLsn > lsn) lsn = b.entry.header.maxLsn;
        return { checkpoint: { seq: 0, epoch: Infinity, lsn }, wal: this.walBlocks(lsn), blocks };
      }
      const cp = read.checkpoint;
      const wal = this.walBlocks(cp.lsn);
      // The writer deletes WAL files once a commit covers them: if the checkpoint moved
      // while the WAL was read, entries may be missing; take the snapshot again.
      const again = readCheckpoint(join(this.root, CHECKPOINT_FILE)).checkpoint;
      if (again.seq !== cp.seq && attempt < 5) continue;
      const blocks = this.blockRefs(cp.epoch, plan, stats);
      return { checkpoint: cp, wal, blocks };
    }
  }

  /**
   * WAL entries past `lsn` as decoded blocks. A reader that lives on (a query worker)
   * follows the WAL and keeps each entry's blocks until a checkpoint covers the entry:
   * a query parses only what arrived since the previous one, and searches WAL records
   * with the same column code as committed blocks.
   */
  private walBlocks(lsn: number): WalBlock[] {
    this.follower ??= new WalFollower(this.root, { from: 'start' });
    this.follower.poll((e) => {
      if (e.lsn > lsn) this.walCache.set(e.lsn, this.entryBlocks(e.batches));
      this.throttle?.();
    });
    const out: WalBlock[] = [];
    for (const [k, blocks] of this.walCache) {
      if (k <= lsn) this.walCache.delete(k);
      else out.push(...blocks);
    }
    return out;
  }

  /** An entry's records parsed as the store worker parses them, built into blocks (one per partition). */
  private entryBlocks(batches: StoreBatch[]): WalBlock[] {
    const builders = new Map<number, BlockBuilder>();
    const out: WalBlock[] = [];
    const seal = (b: BlockBuilder) => {
      const sealed = b.seal(this.compressor, 0, this.scratch);
      // With its token filter, so that queries skip WAL blocks as they skip stored ones.
      out.push({ entry: { segOffset: 0, header: sealed.header, filter: sealed.filter }, block: decodeBlock(sealed.header, sealed.bytes.subarray(BLOCK_HEADER_SIZE)) });
    };
    for (const batch of batches) {
      const rb = this.parsers.parse(batch);
      for (let i = 0; i < rb.count;) {
        const key = partitionOf(rb.timeMs[i]!);
        let b = builders.get(key);
        if (b === undefined) builders.set(key, (b = new BlockBuilder()));
        i = b.appendWhile(rb, i, rb.count, 0, key, Infinity);
        if (b.full) seal(b);
      }
    }
    for (const b of builders.values()) if (b.n > 0) seal(b);
    return out;
  }

  private blockRefs(epoch: number, plan: Plan, stats: ScanStats): BlockRef[] {
    const out: BlockRef[] = [];
    const fromKey = plan.from ? Math.floor(plan.from.ms / PARTITION_MS) : -Infinity;
    const toKey = plan.to ? Math.floor(plan.to.ms / PARTITION_MS) : Infinity;
    for (const p of listPartitions(join(this.root, PARTITIONS_DIR))) {
      const inRange = p.key >= fromKey && p.key <= toKey;
      for (const no of listSegments(p.path)) {
        const paths = segmentPaths(p.path, no);
        let entries: IndexEntry[];
        try {
          const idx = this.readIndexCached(paths.idx);
          if (idx === null) continue;
          entries = idx.entries;
          if (idx.damage === 'middle') this.onWarning(`${paths.idx}: damaged in the middle; blocks after the damage are not visible until the server repairs it at its next start`);
        } catch (err) {
          if (!(err instanceof CorruptError)) throw err;
          this.onWarning(`${paths.idx}: ${(err as Error).message}; skipped`);
          continue;
        }
        for (const entry of entries) {
          if (entry.header.epoch > epoch) break; // not committed yet
          stats.blocks++;
          if (!inRange) {
            stats.skippedByTime++;
            continue;
          }
          out.push({ segPath: paths.seg, entry });
        }
      }
    }
    return out;
  }

  /** Records matching `q`, in time order (see SortKey). */
  *scan(q: ScanQuery, stats: ScanStats = newStats()): Generator<LogRecord> {
    for (const hit of this.scanKeyed(q, stats)) yield hit.record;
  }

  /** As scan, with each record's sort key (for a cursor to the next page). */
  *scanKeyed(q: ScanQuery, stats: ScanStats = newStats()): Generator<{ record: LogRecord; key: SortKey }> {
    const newest = (q.order ?? 'newest') === 'newest';
    const limit = q.limit ?? Infinity;
    if (limit <= 0) return;
    const after = q.after ?? null;
    let root = scanQueryNode(q);
    if (after !== null) {
      // Nothing past the cursor's timestamp in the scan's direction can come next.
      const ts = toNs(after.key.tsMs, after.key.tsNs);
      root = { kind: 'and', items: [root, newest ? { kind: 'time', from: null, to: ts + 1n } : { kind: 'time', from: ts, to: null }] };
    }
    const plan = planQuery(root);
    const rcBoundTP = q.receivedBefore === null || q.receivedBefore === undefined ? null : toTimePoint(q.receivedBefore);
    const check = q.check ?? (() => {});
    const snap = this.snapshot(plan, stats);
    const candidates: Candidate[] = [];

    // Records still in the WAL, as blocks built in memory.
    for (const { entry, block } of snap.wal) {
      stats.walRecords += block.n;
      if (!plan.blockInTime(entry) || !plan.blockMayMatch(entry)) continue;
      const h = block.header;
      candidates.push({ minMs: h.minMs, minNs: h.minNs, maxMs: h.maxMs, maxNs: h.maxNs, open: () => this.matchingItems(plan, block, rcBoundTP) });
    }

    for (const ref of snap.blocks) {
      if (skipped(plan, ref.entry, stats)) continue;
      const h = ref.entry.header;
      candidates.push({
        minMs: h.minMs, minNs: h.minNs, maxMs: h.maxMs, maxNs: h.maxNs,
        open: () => {
          check();
          const block = this.readBlock(ref, stats);
          if (block === null) return [];
          try {
            return this.matchingItems(plan, block, rcBoundTP);
          } catch (err) {
            // A column decoded on first use did not check out (block-decoder.ts).
            if (!(err instanceof CorruptError)) throw err;
            this.damaged(ref, stats, err);
            return [];
          }
        },
      });
    }

    // Merge: open candidates in order of their newest (oldest) time, emit from a heap,
    // opening every candidate that could still hold something earlier in the order first.
    const sign = newest ? -1 : 1;
    candidates.sort((a, b) => (newest ? cmpTime(b.maxMs, b.maxNs, a.maxMs, a.maxNs) : cmpTime(a.minMs, a.minNs, b.minMs, b.minNs)));
    const heap = new Heap<Item>((a, b) => sign * cmpItems(a, b));
    let next = 0;
    let emitted = 0;
    let skipLeft = after?.skip ?? 0;
    for (;;) {
      while (next < candidates.length) {
        const c = candidates[next]!;
        const top = heap.peek();
        if (top !== undefined) {
          const bound = newest ? cmpTime(c.maxMs, c.maxNs, top.tsMs, top.tsNs) < 0 : cmpTime(c.minMs, c.minNs, top.tsMs, top.tsNs) > 0;
          if (bound) break;
        }
        next++;
        for (const it of c.open()) heap.push(it);
      }
      const it = heap.pop();
      if (it === undefined) return;
      if (after !== null) {
        const d = sign * cmpKeys(it, after.key);
        if (d < 0) continue; // at or before the cursor in the scan's order
        if (d === 0 && skipLeft > 0) {
          skipLeft--;
          continue;
        }
      }
      stats.matched++;
      yield { record: it.make(), key: { tsMs: it.tsMs, tsNs: it.tsNs, rcMs: it.rcMs, rcNs: it.rcNs, hash: it.hash() } };
      if (++emitted >= limit) return;
    }
  }

  private matchingItems(plan: Plan, block: DecodedBlock, rcBound: TimePoint | null): Item[] {
    const rows = matchingRows(plan, block, rcBound);
    const items: Item[] = [];
    for (let i = 0; i < block.n; i++) if (rows[i] === 1) items.push(Item.ofRow(block, i));
    return items;
  }

  /**
   * Every matching record, in no particular order, for counting and aggregations: each
   * block's matches are given as the block and its matching rows (no record objects);
   * records still in the WAL come as the in-memory blocks built from it.
   */
  forEachMatch(q: ScanQuery, sink: (b: DecodedBlock, rows: Uint8Array) => void, stats: ScanStats = newStats()): void {
    const plan = planQuery(scanQueryNode(q));
    const rcBound = q.receivedBefore === null || q.receivedBefore === undefined ? null : toTimePoint(q.receivedBefore);
    const check = q.check ?? (() => {});
    const snap = this.snapshot(plan, stats);
    const visit = (block: DecodedBlock) => {
      const rows = matchingRows(plan, block, rcBound);
      for (let i = 0; i < block.n; i++) stats.matched += rows[i]!;
      sink(block, rows);
    };
    for (const { entry, block } of snap.wal) {
      stats.walRecords += block.n;
      if (!plan.blockInTime(entry) || !plan.blockMayMatch(entry)) continue;
      check();
      visit(block);
    }
    for (const ref of snap.blocks) {
      if (skipped(plan, ref.entry, stats)) continue;
      check();
      const block = this.readBlock(ref, stats);
      if (block === null) continue;
      try {
        visit(block);
      } catch (err) {
        if (!(err instanceof CorruptError)) throw err;
        this.damaged(ref, stats, err);
      }
    }
  }

  /** Drops what the reader keeps between scans (WAL tail blocks, parsed index files); the next scan reads them again. */
  releaseCaches(): void {
    this.walCache.clear();
    this.follower?.stop();
    this.follower = null;
    this.indexCache.clear();
  }

  private readIndexCached(path: string): ReturnType<typeof readIndex> | null {
    let size: number;
    try {
      size = statSync(path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.indexCache.delete(path);
        return null;
      }
      throw err;
    }
    const hit = this.indexCache.get(path);
    if (hit !== undefined && hit.size === size) return hit.read;
    const buf = readFileOrNull(path);
    if (buf === null) return null;
    const read = readIndex(buf);
    this.indexCache.set(path, { size: buf.length, read });
    if (this.indexCache.size > 4096) this.indexCache.delete(this.indexCache.keys().next().value!);
    return read;
  }

  private damaged(ref: BlockRef, stats: ScanStats, err: Error): void {
    stats.damaged++;
    this.onWarning(`${ref.segPath}: block at ${ref.entry.segOffset} is damaged (${err.message}); skipped`);
  }

  private readBlock(ref: BlockRef, stats: ScanStats): DecodedBlock | null {
    this.throttle?.();
    const h = ref.entry.header;
    let fd: number;
    try {
      fd = openSync(ref.segPath, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // deleted by retention meanwhile
      throw err;
    }
    try {
      const comp = Buffer.allocUnsafe(h.compLen);
      const n = readSync(fd, comp, 0, h.compLen, ref.entry.segOffset + BLOCK_HEADER_SIZE);
      stats.read++;
      if (n !== h.compLen) throw new CorruptError(`short read: ${n} of ${h.compLen} bytes`);
      return decodeBlock(h, comp);
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      this.damaged(ref, stats, err);
      return null;
    } finally {
      closeSync(fd);
    }
  }
}

/** The rows of a block that match and were received at or before `rcBound` (null: any time). */
function matchingRows(plan: Plan, block: DecodedBlock, rcBound: TimePoint | null): Uint8Array {
  const rows = plan.rows(block);
  if (rcBound !== null) {
    const rcMs = block.rcMs;
    const rcNs = block.rcNs;
    for (let i = 0; i < block.n; i++) if (rows[i] === 1 && cmpTime(rcMs[i]!, rcNs[i]!, rcBound.ms, rcBound.ns) > 0) rows[i] = 0;
  }
  return rows;
}

/** Whether the block's index entry rules it out (counted in stats). */
function skipped(plan: Plan, entry: IndexEntry, stats: ScanStats): boolean {
  if (!plan.blockInTime(entry)) {
    stats.skippedByTime++;
    return true;
  }
  if (!plan.blockMayMatch(entry)) {
    stats.skippedByIndex++;
    return true;
  }
  return false;
}

/** zstd at level 1 for blocks built in memory from the WAL: they are decoded at once, never stored. */
function fastCompressor(): Compressor {
  const c = new Compressor();
  c.setParameters({ compressionLevel: 1 });
  return c;
}

export function newStats(): ScanStats {
  return { blocks: 0, skippedByTime: 0, skippedByIndex: 0, read: 0, damaged: 0, walRecords: 0, matched: 0 };
}

/** The options of a ScanQuery as one query tree (the query language's meaning of each). */
export function scanQueryNode(q: ScanQuery): Node {
  const items: Node[] = [];
  if (q.query) items.push(q.query);
  if (q.from || q.to) items.push({ kind: 'time', from: q.from ? toNs(q.from.ms, q.from.ns) : null, to: q.to ? toNs(q.to.ms, q.to.ns) : null });
  for (const w of q.words ?? []) if (w.length > 0) items.push({ kind: 'match', field: null, match: { kind: 'words', text: w } });
  for (const c of q.contains ?? []) {
    if (c.length > 0) items.push({ kind: 'match', field: { kind: 'message' }, match: { kind: 'regex', source: regexLiteral(c), flags: '' } });
  }
  for (const f of q.fields ?? []) {
    if (f.name === 'severity' || f.name === 'facility') {
      const v = Number(f.value);
      items.push({ kind: 'level', field: { kind: f.name }, values: Number.isInteger(v) && f.value.trim() !== '' ? [v] : [] });
      continue;
    }
    const slot = (SLOT_NAMES as readonly string[]).includes(f.name);
    items.push({ kind: 'match', field: slot ? { kind: 'slot', name: f.name as (typeof SLOT_NAMES)[number] } : { kind: 'field', name: f.name }, match: { kind: 'exact', value: f.value } });
  }
  if (q.maxSeverity !== null && q.maxSeverity !== undefined) items.push({ kind: 'compare', field: { kind: 'severity' }, op: '<=', value: q.maxSeverity });
  if (items.length === 0) return { kind: 'all' };
  return items.length === 1 ? items[0]! : { kind: 'and', items };
}

/** One record in the merge: a row of a block (on disk or built from the WAL). */
class Item {
  private h = -1;
  private tie: string | null = null;
  private constructor(
    readonly tsMs: number,
    readonly tsNs: number,
    readonly rcMs: number,
    readonly rcNs: number,
    private readonly block: DecodedBlock,
    private readonly row: number,
  ) {}

  static ofRow(b: DecodedBlock, i: number): Item {
    return new Item(b.tsMs[i]!, b.tsNs[i]!, b.rcMs[i]!, b.rcNs[i]!, b, i);
  }

  make(): LogRecord {
    return this.block.record(this.row);
  }

  /** FNV-1a of the message's UTF-16 code units: computed on ties only. */
  hash(): number {
    if (this.h < 0) {
      const msg = this.block.message(this.row);
      let h = 0x811c9dc5;
      for (let i = 0; i < msg.length; i++) h = Math.imul(h ^ msg.charCodeAt(i), 0x01000193);
      this.h = h >>> 0;
    }
    return this.h;
  }

  /**
   * The whole record as text, to order records whose sort keys are equal (the same
   * timestamp, receive time and message, e.g. one batch's lines that differ only in a
   * field): computed on such ties only. Without it their order depended on the heap,
   * which differs between the scans of two pages, and a cursor's `skip` (how many
   * records with its key were emitted) then skipped other records than the ones emitted.
   */
  tieText(): string {
    if (this.tie === null) {
      const r = this.make();
      const fields = Object.keys(r.fields).sort().map((k) => [k, r.fields[k]]);
      this.tie = JSON.stringify([r.message, r.host, r.app, r.procid, r.msgid, r.facility, r.severity, r.source.listener, r.source.transport, r.source.peer, fields]);
    }
    return this.tie;
  }
}

function cmpItems(a: Item, b: Item): number {
  const d = cmpTime(a.tsMs, a.tsNs, b.tsMs, b.tsNs) || cmpTime(a.rcMs, a.rcNs, b.rcMs, b.rcNs) || a.hash() - b.hash();
  if (d !== 0) return d;
  const x = a.tieText();
  const y = b.tieText();
  return x < y ? -1 : x > y ? 1 : 0;
}

function cmpKeys(a: Item, k: SortKey): number {
  return cmpTime(a.tsMs, a.tsNs, k.tsMs, k.tsNs) || cmpTime(a.rcMs, a.rcNs, k.rcMs, k.rcNs) || a.hash() - k.hash;
}

/** A binary heap; `cmp(a, b) < 0` puts a first. */
class Heap<T> {
  private a: T[] = [];
  constructor(private readonly cmp: (a: T, b: T) => number) {}

  peek(): T | undefined {
    return this.a[0];
  }

  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.cmp(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): T | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.cmp(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.cmp(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
