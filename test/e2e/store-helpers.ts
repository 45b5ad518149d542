/**
 * Shared helpers for the end-to-end tests of the embedded store (store-*.test.ts):
 * a server started with a store config file, RFC 5424 records with chosen
 * timestamps and a (conn, seq) key, `ringlog query` run as a child process and its
 * output checked against what was sent, and an inventory of the files on disk
 * (blocks from the .idx files, entries of the WAL files) so that tests know which
 * bytes belong to which records.
 *
 * The inventory reads the files with the store's own format code (segment.ts,
 * block-decoder.ts, wal-entry.ts) but only ever on stores the tests have just
 * written and not damaged: what the server and `ringlog query` make of damaged
 * files is what the tests check, by running them.
 */
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, ringlogBin, repoRoot, type RinglogServer } from '../../bench/lib/server.js';
import { readIndex } from '../../src/store/segment.js';
import { decodeBlock } from '../../src/store/block-decoder.js';
import { BLOCK_HEADER_SIZE } from '../../src/store/block-header.js';
import { FILE_HEADER_SIZE, PARTITIONS_DIR, WAL_DIR, WAL_ENTRY_HEADER_SIZE } from '../../src/store/consts.js';
import { listPartitions, listSegments } from '../../src/store/partition.js';
import { segmentPaths } from '../../src/store/segment.js';
import { atEndMark, checkEntry, decodeEntryBody } from '../../src/store/wal-entry.js';
import { listWalFiles } from '../../src/store/wal-reader.js';
import { readWalKey, walFileSalt } from '../../src/store/wal-key.js';
import { readCheckpoint, type Checkpoint } from '../../src/store/checkpoint.js';
import { seqOfRecord } from '../../src/loadgen/payload.js';
import { run, sendAndClose, type NdjsonRecord } from './lifecycle-helpers.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const HOUR = 3_600_000;

/** Where the store of a data directory lives. */
export const storeDir = (dataDir: string) => path.join(dataDir, 'store');

/** Writes `config` as JSON next to (not inside) whatever directory `file` is in; returns the path. */
export function writeConfig(file: string, config: unknown): string {
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** `ringlog serve` on 127.0.0.1 (TCP + HTTP), writing only to its store in `dataDir`. */
export function startStoreServer(dataDir: string, opts: { configFile?: string; args?: string[] } = {}): Promise<RinglogServer> {
  return startServer({
    dataDir,
    output: [],
    args: [...(opts.configFile ? ['--config', opts.configFile] : []), ...(opts.args ?? [])],
  });
}

/** One record as sent: everything the stored record must reproduce. */
export interface SentRecord {
  conn: number;
  seq: number;
  /** Record timestamp, whole ms since the epoch. */
  tsMs: number;
  host: string;
  message: string;
}

export const keyOf = (conn: number, seq: number) => `${conn}:${seq}`;

/** The record's RFC 5424 line (LF-framed): the (conn, seq) pair goes into structured data, as `ringlog bench` does. */
export function syslogLine(r: SentRecord): string {
  const ts = new Date(r.tsMs).toISOString().replace(/Z$/, '000Z');
  return `<134>1 ${ts} ${r.host} store-e2e 77 - [bench@32473 conn="${r.conn}" seq="${r.seq}"] ${r.message}\n`;
}

/** The timestamp as the record form renders it (ns precision). */
export function renderedTimestamp(tsMs: number): string {
  return new Date(tsMs).toISOString().replace(/Z$/, '000000Z');
}

/** Sends the records on one TCP connection and waits until the server has closed it (all read). */
export async function sendRecords(srv: RinglogServer, records: SentRecord[]): Promise<void> {
  const chunk = 2000;
  for (let i = 0; i < records.length; i += chunk) {
    await sendAndClose(srv.address('tcp').port, records.slice(i, i + chunk).map(syslogLine).join(''), '127.0.0.1', 20_000);
  }
}

/** A deterministic PRNG (mulberry32): tests print their seed, and a failing round can be replayed. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(a: readonly T[]): T } {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (a) => a[Math.floor(next() * a.length)]! };
}

/** A message body that varies in length and words, with the key in it (so a garbled record cannot pass). */
export function messageFor(conn: number, seq: number): string {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  const pad = 'z'.repeat((seq * 7919) % 60);
  return `store e2e record ${conn}/${seq} ${words[seq % 8]} ${words[(seq >> 3) % 8]} value=${(seq * 2654435761) % 100_003} ${pad}`;
}

export interface QueryResult {
  code: number | null;
  records: NdjsonRecord[];
  /** The --stats line: blocks, skipped_by_time, …, damaged, wal_records, matched. */
  stats: Record<string, number>;
  stderr: string;
  ms: number;
}

/** `ringlog query -d DIR --json --oldest --limit 0 --stats [extra…]`; rejects only if it cannot run or hangs. */
export async function queryStore(dataDir: string, extra: string[] = [], timeoutMs = 60_000): Promise<QueryResult> {
  const t0 = Date.now();
  const r = await run(process.execPath, [ringlogBin, 'query', '-d', dataDir, '--json', '--oldest', '--limit', '0', '--stats', ...extra], timeoutMs);
  const ms = Date.now() - t0;
  if (r.signal) throw new Error(`ringlog query was killed (${r.signal}) after ${ms} ms\n${r.stderr.slice(-2000)}`);
  const stats: Record<string, number> = {};
  const m = /^blocks=.*$/m.exec(r.stderr);
  if (m) for (const kv of m[0].split(' ')) {
    const [k, v] = kv.split('=');
    stats[k!] = Number(v);
  }
  const records: NdjsonRecord[] = [];
  if (r.code === 0) {
    const lines = r.stdout.split('\n');
    if (lines.pop() !== '') throw new Error('ringlog query output does not end with a newline');
    lines.forEach((line, i) => {
      try {
        records.push(JSON.parse(line) as NdjsonRecord);
      } catch (err) {
        throw new Error(`ringlog query: line ${i + 1} is not JSON (${(err as Error).message}): ${line.slice(0, 200)}`);
      }
    });
  }
  return { code: r.code, records, stats, stderr: r.stderr, ms };
}

/** queryStore, and throw unless it exits 0. */
export async function queryOk(dataDir: string, extra: string[] = [], timeoutMs = 60_000): Promise<QueryResult> {
  const q = await queryStore(dataDir, extra, timeoutMs);
  if (q.code !== 0) throw new Error(`ringlog query -d ${dataDir} failed (exit ${q.code}):\n${q.stderr.slice(-3000)}`);
  return q;
}

export interface RecordCheck {
  /** Keys seen, each once. */
  seen: Set<string>;
  /** Keys seen more than once (first few) and how many extra copies in all. */
  duplicates: string[];
  duplicateCount: number;
  /** Records that are not exactly a record we sent (first few, described). */
  garbled: string[];
  garbledCount: number;
  /** Records out of timestamp order (first few). */
  disorder: string[];
}

/**
 * Checks query output against what was sent: every record must be one we sent,
 * field for field, at most once, and (oldest first) in timestamp order.
 */
export function checkRecords(records: NdjsonRecord[], sent: Map<string, SentRecord>): RecordCheck {
  const c: RecordCheck = { seen: new Set(), duplicates: [], duplicateCount: 0, garbled: [], garbledCount: 0, disorder: [] };
  const garbled = (why: string, r: NdjsonRecord) => {
    c.garbledCount++;
    if (c.garbled.length < 5) c.garbled.push(`${why}: ${JSON.stringify(r).slice(0, 300)}`);
  };
  let prevTs = '';
  for (const r of records) {
    if (r.timestamp < prevTs && c.disorder.length < 5) c.disorder.push(`${r.timestamp} after ${prevTs}`);
    prevTs = r.timestamp;
    const p = seqOfRecord(r);
    if (!p) {
      garbled('no conn/seq', r);
      continue;
    }
    const key = keyOf(p.conn, p.seq);
    const s = sent.get(key);
    if (!s) {
      garbled(`key ${key} was never sent`, r);
      continue;
    }
    if (r.message !== s.message || r.host !== s.host || r.app !== 'store-e2e' || r.procid !== '77' || r.timestamp !== renderedTimestamp(s.tsMs) ||
      r.severity !== 6 || r.facility !== 16 || Object.keys(r.fields ?? {}).length !== 2) {
      garbled(`differs from what was sent as ${key}`, r);
      continue;
    }
    if (c.seen.has(key)) {
      c.duplicateCount++;
      if (c.duplicates.length < 5) c.duplicates.push(key);
      continue;
    }
    c.seen.add(key);
  }
  return c;
}

/** Keys in `want` that `seen` lacks (first few) and how many. */
export function missingKeys(want: Iterable<string>, seen: Set<string>): { count: number; first: string[] } {
  const out = { count: 0, first: [] as string[] };
  for (const k of want) {
    if (seen.has(k)) continue;
    out.count++;
    if (out.first.length < 8) out.first.push(k);
  }
  return out;
}

/** One block of a segment, where its bytes are, and the records (keys) it holds. */
export interface BlockInfo {
  partition: string;
  seg: string;
  idx: string;
  /** The block (header + payload) in the .seg file: [segStart, segEnd). */
  segStart: number;
  segEnd: number;
  /** Its index entry in the .idx file: [idxStart, idxEnd). */
  idxStart: number;
  idxEnd: number;
  /** Is it the last block of its segment? */
  last: boolean;
  epoch: number;
  maxLsn: number;
  keys: string[];
}

/**
 * Every block of the store, read from the .idx files and decoded from the .seg files.
 * Throws if any index or block is damaged: call it on stores the test has not damaged.
 */
export function inventoryBlocks(dataDir: string): BlockInfo[] {
  const out: BlockInfo[] = [];
  for (const p of listPartitions(path.join(storeDir(dataDir), PARTITIONS_DIR))) {
    for (const no of listSegments(p.path)) {
      const sp = segmentPaths(p.path, no);
      const idxBuf = readFileSync(sp.idx);
      const segBuf = readFileSync(sp.seg);
      const idx = readIndex(idxBuf);
      if (idx.damage !== 'none' || idx.validEnd !== idxBuf.length) throw new Error(`${sp.idx}: damaged (${idx.damage}) before the test touched it`);
      let pos = FILE_HEADER_SIZE;
      idx.entries.forEach((e, i) => {
        const len = idxBuf.readUInt32LE(pos + 4);
        const start = e.segOffset + BLOCK_HEADER_SIZE;
        const block = decodeBlock(e.header, segBuf.subarray(start, start + e.header.compLen));
        const keys: string[] = [];
        for (let r = 0; r < block.n; r++) keys.push(keyOf(Number(block.field(r, 'bench@32473.conn')), Number(block.field(r, 'bench@32473.seq'))));
        out.push({
          partition: p.name, seg: sp.seg, idx: sp.idx, segStart: e.segOffset, segEnd: start + e.header.compLen, idxStart: pos, idxEnd: pos + len,
          last: i === idx.entries.length - 1, epoch: e.header.epoch, maxLsn: e.header.maxLsn, keys,
        });
        pos += len;
      });
      if (pos !== idxBuf.length) throw new Error(`${sp.idx}: entries end at ${pos}, file at ${idxBuf.length}`);
    }
  }
  return out;
}

/** One entry of a WAL file, where its bytes are, and the (conn, seq) keys of its frames. */
export interface WalEntryInfo {
  file: string;
  start: number;
  end: number;
  lsn: number;
  keys: string[];
}

/** Every entry of every WAL file (throws on damage: undamaged stores only). */
export function inventoryWal(dataDir: string): { files: { path: string; size: number }[]; entries: WalEntryInfo[] } {
  const files: { path: string; size: number }[] = [];
  const entries: WalEntryInfo[] = [];
  const walKey = readWalKey(storeDir(dataDir));
  for (const f of listWalFiles(path.join(storeDir(dataDir), WAL_DIR))) {
    const buf = readFileSync(f.path);
    files.push({ path: f.path, size: buf.length });
    const salt = walFileSalt(walKey, f.firstLsn);
    let pos = FILE_HEADER_SIZE;
    while (pos < buf.length) {
      // The end mark after the last write: what follows is not the log (wal-reader.ts).
      if (atEndMark(buf, pos)) break;
      const len = checkEntry(buf, pos, buf.length, salt);
      if (len < 0) throw new Error(`${f.path}: no valid entry at ${pos} before the test touched it`);
      const end = pos + WAL_ENTRY_HEADER_SIZE + len;
      const { lsn } = decodeEntryBody(buf, pos + WAL_ENTRY_HEADER_SIZE, end);
      const keys: string[] = [];
      const text = buf.toString('latin1', pos, end);
      for (const m of text.matchAll(/conn="(\d+)" seq="(\d+)"/g)) keys.push(keyOf(Number(m[1]), Number(m[2])));
      entries.push({ file: f.path, start: pos, end, lsn, keys });
      pos = end;
    }
  }
  return { files, entries };
}

export function checkpointOf(dataDir: string): Checkpoint {
  return readCheckpoint(path.join(storeDir(dataDir), 'checkpoint')).checkpoint;
}

/** Bytes of the .seg and .idx files of each partition, by partition name. */
export function partitionBytes(dataDir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of listPartitions(path.join(storeDir(dataDir), PARTITIONS_DIR))) {
    let n = 0;
    for (const no of listSegments(p.path)) {
      const sp = segmentPaths(p.path, no);
      n += statSync(sp.seg).size + statSync(sp.idx).size;
    }
    out.set(p.name, n);
  }
  return out;
}

/** Sum of the server's ringlog_store_damage_total over all kinds, and the kinds that are non-zero. */
export async function damageOf(srv: RinglogServer): Promise<{ total: number; kinds: Record<string, number> }> {
  const kinds: Record<string, number> = {};
  let total = 0;
  for (const s of await srv.metrics()) {
    if (s.name !== 'ringlog_store_damage_total' || s.value === 0) continue;
    kinds[s.labels.kind ?? '?'] = s.value;
    total += s.value;
  }
  return { total, kinds };
}

/** Reads `len` bytes at `pos` of a file (for diagnostics). */
export function peek(file: string, pos: number, len: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(len);
    const n = readSync(fd, b, 0, len, pos);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export { repoRoot, ringlogBin };
