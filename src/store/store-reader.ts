/**
 * Reads a store, read-only and safe while a server writes it (docs/storage.md,
 * "Reading"): a snapshot is the checkpoint (epoch E, LSN L), the blocks of epoch ≤ E
 * (later ones are not committed yet and are ignored), and the WAL entries past L
 * (records not yet in committed blocks, parsed again here). If the checkpoint moves
 * while the WAL is read (the writer may then delete WAL files), the snapshot is taken
 * again.
 *
 * A scan runs newest-first or oldest-first over the time range. Blocks are skipped,
 * before any is read, by their time range, severity mask and bloom filter (words and
 * `name=value` pairs); the blocks that remain are decoded in time order and merged,
 * so results come out in timestamp order however the records arrived. A damaged
 * block is reported and skipped; a file deleted by retention mid-scan is skipped.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoint, type Checkpoint } from './checkpoint.js';
import { CorruptError } from './byte-buffer.js';
import { BLOCK_HEADER_SIZE, cmpTime } from './block-header.js';
import { decodeBlock, type DecodedBlock } from './block-decoder.js';
import { CHECKPOINT_FILE, PARTITION_MS, PARTITIONS_DIR, WAL_DIR } from './consts.js';
import { listPartitions, listSegments } from './partition.js';
import { readFileOrNull, readIndex, segmentPaths, type IndexEntry } from './segment.js';
import { listWalFiles, scanWalFile } from './wal-reader.js';
import { checkFormat, storeRoot } from './store.js';
import { hashPair, isTokenByte, pairProbe, tokenHashes } from './tokenizer.js';
import { SLOT_NAMES } from './block-builder.js';
import { Parsers } from './parsers.js';
import { recordAt, type LogRecord } from '../record/record.js';

/** A point in time: whole ms since the epoch and ns within the ms. */
export interface TimePoint {
  ms: number;
  ns: number;
}

export interface ScanQuery {
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
}

export interface ScanStats {
  /** Blocks in the snapshot. */
  blocks: number;
  /** Skipped by time range, severity mask or bloom filter without being read. */
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

interface Item {
  ms: number;
  ns: number;
  make(): LogRecord;
}

/** Block candidates are opened lazily; this is what a snapshot knows of a block. */
interface BlockRef {
  segPath: string;
  entry: IndexEntry;
}

export class StoreReader {
  readonly root: string;
  private onWarning: (msg: string) => void;

  private constructor(root: string, onWarning: (msg: string) => void) {
    this.root = root;
    this.onWarning = onWarning;
  }

  /** Opens the store of a data directory for reading. Throws RL_STORE_OPEN / RL_STORE_VERSION. */
  static open(dataDir: string, onWarning: (msg: string) => void = () => {}): StoreReader {
    const root = storeRoot(dataDir);
    checkFormat(root, false);
    return new StoreReader(root, onWarning);
  }

  private snapshot(q: ScanQuery, stats: ScanStats): { checkpoint: Checkpoint; wal: LogRecord[]; blocks: BlockRef[] } {
    for (let attempt = 0; ; attempt++) {
      const read = readCheckpoint(join(this.root, CHECKPOINT_FILE));
      if (read.lost) {
        // Both slots damaged: as the server's recovery does, trust every intact block and
        // take the WAL past the newest block's LSN.
        this.onWarning(`${join(this.root, CHECKPOINT_FILE)}: both checkpoint slots are damaged; reading every intact block and the WAL after them`);
        const blocks = this.blockRefs(Infinity, q, stats);
        let lsn = 0;
        for (const b of blocks) if (b.entry.header.maxLsn > lsn) lsn = b.entry.header.maxLsn;
        return { checkpoint: { seq: 0, epoch: Infinity, lsn }, wal: this.walRecords(lsn), blocks };
      }
      const cp = read.checkpoint;
      const wal = this.walRecords(cp.lsn);
      const again = readCheckpoint(join(this.root, CHECKPOINT_FILE)).checkpoint;
      if (again.seq !== cp.seq && attempt < 5) continue;
      const blocks = this.blockRefs(cp.epoch, q, stats);
      return { checkpoint: cp, wal, blocks };
    }
  }

  /** Records of WAL entries past `lsn`, parsed. */
  private walRecords(lsn: number): LogRecord[] {
    const out: LogRecord[] = [];
    // The same parse the store worker does (its Parsers), so WAL records read as their blocks will.
    const parsers = new Parsers();
    for (const f of listWalFiles(join(this.root, WAL_DIR))) {
      scanWalFile(f.path, lsn, (e) => {
        for (const b of e.batches) {
          const rb = parsers.parse(b);
          for (let i = 0; i < rb.count; i++) out.push(recordAt(rb, i));
        }
      });
    }
    return out;
  }

  private blockRefs(epoch: number, q: ScanQuery, stats: ScanStats): BlockRef[] {
    const out: BlockRef[] = [];
    const fromKey = q.from ? Math.floor(q.from.ms / PARTITION_MS) : -Infinity;
    const toKey = q.to ? Math.floor(q.to.ms / PARTITION_MS) : Infinity;
    for (const p of listPartitions(join(this.root, PARTITIONS_DIR))) {
      const inRange = p.key >= fromKey && p.key <= toKey;
      for (const no of listSegments(p.path)) {
        const paths = segmentPaths(p.path, no);
        const buf = readFileOrNull(paths.idx);
        if (buf === null) continue;
        let entries: IndexEntry[];
        try {
          const idx = readIndex(buf);
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

  /** Records matching `q`, in time order. */
  *scan(q: ScanQuery, stats: ScanStats = newStats()): Generator<LogRecord> {
    const newest = (q.order ?? 'newest') === 'newest';
    const limit = q.limit ?? Infinity;
    if (limit <= 0) return;
    const filter = compileFilter(q);
    const snap = this.snapshot(q, stats);
    const candidates: Candidate[] = [];

    // Records still in the WAL form one in-memory candidate.
    const walMatches: Item[] = [];
    for (const r of snap.wal) {
      stats.walRecords++;
      if (filter.record(r)) walMatches.push({ ms: Number(r.timestamp / 1_000_000n), ns: Number(r.timestamp % 1_000_000n), make: () => r });
    }
    if (walMatches.length > 0) {
      let min = walMatches[0]!;
      let max = walMatches[0]!;
      for (const it of walMatches) {
        if (cmpTime(it.ms, it.ns, min.ms, min.ns) < 0) min = it;
        if (cmpTime(it.ms, it.ns, max.ms, max.ns) > 0) max = it;
      }
      candidates.push({ minMs: min.ms, minNs: min.ns, maxMs: max.ms, maxNs: max.ns, open: () => walMatches });
    }

    for (const ref of snap.blocks) {
      const h = ref.entry.header;
      if (!filter.blockTime(h.minMs, h.minNs, h.maxMs, h.maxNs)) {
        stats.skippedByTime++;
        continue;
      }
      if (!filter.blockIndex(ref.entry)) {
        stats.skippedByIndex++;
        continue;
      }
      candidates.push({
        minMs: h.minMs, minNs: h.minNs, maxMs: h.maxMs, maxNs: h.maxNs,
        open: () => {
          const block = this.readBlock(ref, stats);
          if (block === null) return [];
          const items: Item[] = [];
          for (let i = 0; i < block.n; i++) {
            if (filter.blockRecord(block, i)) items.push({ ms: block.tsMs[i]!, ns: block.tsNs[i]!, make: () => block.record(i) });
          }
          return items;
        },
      });
    }

    // Merge: open candidates in order of their newest (oldest) time, emit from a heap,
    // opening every candidate that could still hold something earlier in the order first.
    const sign = newest ? -1 : 1;
    candidates.sort((a, b) => (newest ? cmpTime(b.maxMs, b.maxNs, a.maxMs, a.maxNs) : cmpTime(a.minMs, a.minNs, b.minMs, b.minNs)));
    const heap = new Heap<Item>((a, b) => sign * cmpTime(a.ms, a.ns, b.ms, b.ns));
    let next = 0;
    let emitted = 0;
    for (;;) {
      while (next < candidates.length) {
        const c = candidates[next]!;
        const top = heap.peek();
        if (top !== undefined) {
          const bound = newest ? cmpTime(c.maxMs, c.maxNs, top.ms, top.ns) < 0 : cmpTime(c.minMs, c.minNs, top.ms, top.ns) > 0;
          if (bound) break;
        }
        next++;
        for (const it of c.open()) heap.push(it);
      }
      const it = heap.pop();
      if (it === undefined) return;
      stats.matched++;
      yield it.make();
      if (++emitted >= limit) return;
    }
  }

  private readBlock(ref: BlockRef, stats: ScanStats): DecodedBlock | null {
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
      stats.damaged++;
      this.onWarning(`${ref.segPath}: block at ${ref.entry.segOffset} is damaged (${err.message}); skipped`);
      return null;
    } finally {
      closeSync(fd);
    }
  }
}

export function newStats(): ScanStats {
  return { blocks: 0, skippedByTime: 0, skippedByIndex: 0, read: 0, damaged: 0, walRecords: 0, matched: 0 };
}

/** `slot` of a field condition: 0–3 host…msgid, FIELD_SLOT any other field, or these two (distinct from FIELD_SLOT). */
const FIELD_SLOT = -1;
const SEVERITY_SLOT = -2;
const FACILITY_SLOT = -3;

/** The query, compiled into tests at the three levels: block time, block index, record. */
function compileFilter(q: ScanQuery) {
  const from = q.from ?? null;
  const to = q.to ?? null;
  const words = (q.words ?? []).filter((w) => w.length > 0).map((w) => ({ lower: asciiLower(w), hashes: tokenHashes(w) }));
  const contains = (q.contains ?? []).filter((c) => c.length > 0);
  const fields = (q.fields ?? []).map((f) => {
    const slot = SLOT_NAMES.indexOf(f.name as (typeof SLOT_NAMES)[number]);
    const special = f.name === 'severity' ? SEVERITY_SLOT : f.name === 'facility' ? FACILITY_SLOT : slot >= 0 ? slot : FIELD_SLOT;
    // Host, app, procid, msgid and fields are in the bloom filter as `name=value`; severity and facility in the masks.
    const inBloom = special !== SEVERITY_SLOT && special !== FACILITY_SLOT;
    // host…msgid are indexed as name=value; fields as their word when the value is one token (pairProbe).
    const hash = !inBloom ? 0 : special >= 0 ? hashPair(f.name, f.value) : pairProbe(f.name, f.value);
    return { ...f, slot: special, hash, num: Number(f.value) };
  });
  const maxSev = q.maxSeverity ?? null;
  let sevMask = 0xff;
  if (maxSev !== null) sevMask = (1 << (maxSev + 1)) - 1;
  for (const f of fields) {
    if (f.slot === SEVERITY_SLOT) sevMask &= Number.isInteger(f.num) && f.num >= 0 && f.num <= 7 ? 1 << f.num : 0;
  }
  let facMask = 0xffffffff;
  for (const f of fields) {
    if (f.slot === FACILITY_SLOT) facMask &= Number.isInteger(f.num) && f.num >= 0 && f.num <= 23 ? (1 << f.num) >>> 0 : 0;
  }

  const inTime = (ms: number, ns: number) => (from === null || cmpTime(ms, ns, from.ms, from.ns) >= 0) && (to === null || cmpTime(ms, ns, to.ms, to.ns) < 0);
  /** Words may be in the message or in any field value; `contains` is about the message. */
  const textMatches = (msg: string, fieldValues: () => string[]): boolean => {
    for (const c of contains) if (!msg.includes(c)) return false;
    if (words.length === 0) return true;
    const lower = asciiLower(msg);
    let values: string[] | null = null;
    for (const w of words) {
      if (hasWord(lower, w.lower)) continue;
      values ??= fieldValues().map(asciiLower);
      if (!values.some((v) => hasWord(v, w.lower))) return false;
    }
    return true;
  };

  return {
    blockTime(minMs: number, minNs: number, maxMs: number, maxNs: number): boolean {
      if (from !== null && cmpTime(maxMs, maxNs, from.ms, from.ns) < 0) return false;
      if (to !== null && cmpTime(minMs, minNs, to.ms, to.ns) >= 0) return false;
      return true;
    },
    blockIndex(e: IndexEntry): boolean {
      if ((e.header.sevMask & sevMask) === 0) return false;
      if (((e.header.facMask & facMask) >>> 0) === 0) return false;
      for (const w of words) for (const h of w.hashes) if (!e.bloom.mayContain(h)) return false;
      for (const f of fields) if (f.slot !== SEVERITY_SLOT && f.slot !== FACILITY_SLOT && !e.bloom.mayContain(f.hash)) return false;
      return true;
    },
    blockRecord(b: DecodedBlock, i: number): boolean {
      if (!inTime(b.tsMs[i]!, b.tsNs[i]!)) return false;
      if (((1 << b.severity[i]!) & sevMask) === 0) return false;
      if ((((1 << b.facility[i]!) >>> 0) & facMask) === 0) return false;
      for (const f of fields) {
        if (f.slot === SEVERITY_SLOT || f.slot === FACILITY_SLOT) continue;
        const v = f.slot >= 0 ? b.slot(i, f.slot) : b.field(i, f.name);
        if (v !== f.value) return false;
      }
      if (contains.length === 0 && words.length === 0) return true;
      return textMatches(b.message(i), () => Object.values(b.fieldsOf(i)));
    },
    record(r: LogRecord): boolean {
      const ms = Number(r.timestamp / 1_000_000n);
      const ns = Number(r.timestamp % 1_000_000n);
      if (!inTime(ms, ns)) return false;
      if (((1 << r.severity) & sevMask) === 0) return false;
      if ((((1 << r.facility) >>> 0) & facMask) === 0) return false;
      for (const f of fields) {
        if (f.slot === SEVERITY_SLOT || f.slot === FACILITY_SLOT) continue;
        const v = f.slot >= 0 ? [r.host, r.app, r.procid, r.msgid][f.slot] : r.fields[f.name];
        if (v !== f.value) return false;
      }
      return textMatches(r.message, () => Object.values(r.fields));
    },
  };
}

/**
 * Lower case for ASCII letters only, as the index's tokens are (tokenizer.ts): with
 * String#toLowerCase a word like "ÄRGER" matched "ärger" in WAL records but not in
 * blocks, whose bloom filters hold the bytes of non-ASCII letters as they are.
 */
function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32)) : s;
}

/** `word` (lower case) occurs in `text` (lower case) with token boundaries where the word itself starts or ends with a token byte. */
function hasWord(text: string, word: string): boolean {
  const startsTok = isTokenChar(word.charCodeAt(0));
  const endsTok = isTokenChar(word.charCodeAt(word.length - 1));
  for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) {
    if (startsTok && at > 0 && isTokenChar(text.charCodeAt(at - 1))) continue;
    const end = at + word.length;
    if (endsTok && end < text.length && isTokenChar(text.charCodeAt(end))) continue;
    return true;
  }
  return false;
}

function isTokenChar(c: number): boolean {
  return c >= 0x80 || isTokenByte(c);
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
