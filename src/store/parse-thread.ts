/**
 * The parse thread: parses the store worker's WAL entries (docs/architecture.md, "The
 * store worker's threads"). Parsing is a large part of the store worker's work (before
 * the native passes, rfc5424-native.ts and json-native.ts, the largest), and the store
 * worker is the limit of ingestion: here it runs in parallel with the building of the
 * previous entry's records into blocks.
 *
 *   store worker ── entries of a group commit (transferred) ──► parse thread: decode,
 *                                     parse every batch, pack the columns into one buffer
 *   store worker ◄── entries + columns + new key names (transferred) ──┘
 *        decode each entry again (frames are views of it), put the columns on the
 *        batches, append to the builders; the columns buffer goes back with a later request
 *
 * The store worker hands the entries of each message over as it arrives (one request
 * per message, not per entry: at a steady trickle a group commit holds many small
 * entries, and a round trip per entry cost more than parsing them) and takes the
 * answers in order; commits wait for the entries before them, so nothing about
 * commits or recovery changes. Key ids in the columns refer to the parse thread's key dictionaries: every
 * answer brings the names added since the last one, and the store worker keeps a copy
 * of each dictionary (KeyNamesCopy) with the same ids.
 *
 * This file is both sides: ParseThread (used by the store worker) and, when loaded as a
 * worker, the thread itself.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { decodeEntryBody, type StoreBatch } from './wal-entry.js';
import { WAL_ENTRY_HEADER_SIZE } from './consts.js';
import { Parsers, stageKey, type ParseCountsByListener } from './parsers.js';
import type { RecordBatch } from '../record/record-batch.js';
import type { KeyDictionary, KeyNames } from '../record/key-dictionary.js';
import { lowerThreadPriority, nameThread } from '../thread-priority.js';

/** Where one batch's columns lie in an answer's columns buffer. */
interface PackedBatch {
  /** Byte offset of the batch's columns (8-aligned). */
  at: number;
  count: number;
  nf: number;
  parseErrors: number;
  /** Id of the key dictionary its key ids refer to. */
  dict: number;
}

interface ParseRequest {
  type: 'entries';
  id: number;
  entries: { lsn: number; entry: ArrayBuffer; length: number }[];
  /** A columns buffer to reuse (transferred), or null. */
  spare: ArrayBuffer | null;
}

type ToParseThread = ParseRequest | { type: 'close' };

type ParseReply =
  | {
    type: 'entries';
    id: number;
    /**
     * Per entry: its buffer and length, and its batches' places in `columns`; or `error`
     * when it did not decode (a bug: it was written by this process), its records then in the WAL only.
     */
    entries: { entry: ArrayBuffer; length: number; error: string | null; batches: PackedBatch[] }[];
    columns: ArrayBuffer;
    /** Names added to dictionaries since the last answer: [dict, first new id, names]. */
    names: [number, number, string[]][];
    /** Dictionaries no batch will refer to any more (their stage started a new one). */
    dropped: number[];
  }
  | { type: 'parsed'; counts: ParseCountsByListener }
  | { type: 'internal-error'; listener: string; error: string }
  | { type: 'closed' };

interface ParseThreadInit {
  role: 'ringlog-parse';
  /** How often parse counts are sent (ms). */
  countsEveryMs: number;
  /** Tests only: crash (an uncaught exception) when asked for request number exitAfter + 1. */
  exitAfter: number;
}

/** An entry parsed by the parse thread, as the store worker builds it into blocks. */
export interface ParsedEntry {
  /** The entry's buffer, back from the thread. */
  entry: ArrayBuffer;
  /** Empty when the entry did not decode (see `error`). */
  batches: RecordBatch[];
  error: string | null;
}

/** The entries of one request, in order. */
export interface ParsedEntries {
  entries: ParsedEntry[];
  /** To hand back (ParseThread.giveBack) once the batches are no longer used. */
  columns: ArrayBuffer;
}

/** The store worker's copy of one of the parse thread's key dictionaries: the same ids, the names only. */
class KeyNamesCopy implements KeyNames {
  readonly strings: string[] = [];
  get size(): number {
    return this.strings.length;
  }
}

/** Columns buffers kept for reuse at most (each about 0.6× an entry's bytes). */
const MAX_SPARES = 4;

/** The store worker's side: one thread, entries answered in order. */
export class ParseThread {
  private readonly worker: Worker;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (p: ParsedEntries) => void; reject: (e: Error) => void }>();
  private readonly dicts = new Map<number, KeyNamesCopy>();
  private readonly spares: ArrayBuffer[] = [];
  private failed: Error | null = null;
  private closed: (() => void) | null = null;
  /** Parse counts from the thread. */
  onCounts: (counts: ParseCountsByListener) => void = () => {};
  /** A parser threw on a frame (a bug; the frame was kept as a raw record). */
  onInternalError: (listener: string, error: string) => void = () => {};

  constructor(countsEveryMs: number, exitAfter = Infinity) {
    const init: ParseThreadInit = { role: 'ringlog-parse', countsEveryMs, exitAfter };
    this.worker = new Worker(new URL(import.meta.url), { workerData: init, name: 'ringlog-parse' });
    this.worker.on('message', (r: ParseReply) => this.onReply(r));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`parse thread exited (code ${code})`)));
  }

  /** No more answers will come: every request waiting, and every later one, fails. */
  private fail(err: Error): void {
    this.failed ??= err;
    for (const w of this.waiting.values()) w.reject(this.failed);
    this.waiting.clear();
    this.closed?.();
  }

  private onReply(r: ParseReply): void {
    if (r.type === 'parsed') {
      this.onCounts(r.counts);
      return;
    }
    if (r.type === 'internal-error') {
      this.onInternalError(r.listener, r.error);
      return;
    }
    if (r.type === 'closed') {
      this.closed?.();
      return;
    }
    const w = this.waiting.get(r.id);
    this.waiting.delete(r.id);
    try {
      // Names first, whoever waits: later answers count on them.
      for (const [dict, from, names] of r.names) {
        let d = this.dicts.get(dict);
        if (d === undefined) this.dicts.set(dict, (d = new KeyNamesCopy()));
        if (d.size !== from) throw new Error(`parse thread: key names of dictionary ${dict} out of step (${d.size} known, ${from} sent)`);
        for (const name of names) d.strings.push(name);
      }
      if (w === undefined) return;
      const entries = r.entries.map((e) => ({
        entry: e.entry,
        batches: e.error === null ? unpack(e.entry, e.length, r.columns, e.batches, this.dicts) : [],
        error: e.error,
      }));
      w.resolve({ entries, columns: r.columns });
    } catch (err) {
      w?.reject(err as Error);
    } finally {
      for (const d of r.dropped) this.dicts.delete(d);
    }
  }

  /** Parses WAL entries (each `entry[0, length)`); their buffers are transferred: use the ones in the answer. */
  parse(entries: { lsn: number; entry: ArrayBuffer; length: number }[]): Promise<ParsedEntries> {
    if (this.failed !== null) return Promise.reject(this.failed);
    const id = this.next++;
    const spare = this.spares.pop() ?? null;
    const req: ParseRequest = { type: 'entries', id, entries: entries.map(({ lsn, entry, length }) => ({ lsn, entry, length })), spare };
    const transfer = entries.map((e) => e.entry);
    if (spare !== null) transfer.push(spare);
    return new Promise<ParsedEntries>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(req, transfer);
    });
  }

  /** Key dictionaries copied here (tests: those the thread dropped are gone). */
  get dictionaries(): number {
    return this.dicts.size;
  }

  /** An answer's columns buffer, once its batches are no longer used: the thread packs later entries into it. */
  giveBack(columns: ArrayBuffer): void {
    if (this.spares.length < MAX_SPARES) this.spares.push(columns);
  }

  /** Waits for the last parse counts, then stops the thread. */
  async close(): Promise<void> {
    if (this.failed === null) {
      const done = new Promise<void>((resolve) => {
        this.closed = resolve;
      });
      this.worker.postMessage({ type: 'close' } satisfies ToParseThread);
      await Promise.race([done, new Promise((r) => setTimeout(r, 5_000).unref())]);
    }
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
    this.fail(new Error('parse thread closed'));
  }
}

/** The entry's batches with the packed columns put on them (views of `columns`). */
function unpack(entry: ArrayBuffer, length: number, columns: ArrayBuffer, packed: PackedBatch[], dicts: Map<number, KeyNamesCopy>): RecordBatch[] {
  const decoded = decodeEntryBody(Buffer.from(entry, 0, length), WAL_ENTRY_HEADER_SIZE, length);
  if (decoded.batches.length !== packed.length) throw new Error(`parse thread: ${packed.length} batches parsed, ${decoded.batches.length} in the entry`);
  const out: RecordBatch[] = [];
  for (let k = 0; k < packed.length; k++) {
    const p = packed[k]!;
    const b = decoded.batches[k]! as StoreBatch & RecordBatch;
    if (b.count !== p.count) throw new Error(`parse thread: batch ${k} has ${p.count} records parsed, ${b.count} frames`);
    const keys = dicts.get(p.dict);
    if (keys === undefined) throw new Error(`parse thread: unknown key dictionary ${p.dict}`);
    Object.assign(b, columnViews(columns, p.at, p.count, p.nf));
    b.keys = keys;
    b.parseErrors = p.parseErrors;
    out.push(b);
  }
  return out;
}

type PackedColumns = Pick<RecordBatch, 'timeMs' | 'timeNs' | 'spans' | 'fieldStart' | 'fieldKey' | 'fieldSpans' | 'facility' | 'severity' | 'enc' | 'fieldEnc'>;

/**
 * The packed layout of one batch's columns (n records, nf fields) at buf[at..]: views
 * of each column, widest elements first so that every view is aligned. The thread
 * fills them (Packer), the store worker reads them (unpack).
 */
function columnViews(buf: ArrayBuffer, at: number, n: number, nf: number): PackedColumns {
  const f64 = (len: number) => {
    const v = new Float64Array(buf, at, len);
    at += 8 * len;
    return v;
  };
  const u32 = (len: number) => {
    const v = new Uint32Array(buf, at, len);
    at += 4 * len;
    return v;
  };
  const u8 = (len: number) => {
    const v = new Uint8Array(buf, at, len);
    at += len;
    return v;
  };
  return {
    timeMs: f64(n), timeNs: u32(n), spans: u32(10 * n), fieldStart: u32(n + 1), fieldKey: u32(nf), fieldSpans: u32(2 * nf),
    facility: u8(n), severity: u8(n), enc: u8(5 * n), fieldEnc: u8(nf),
  };
}

/** Bytes one batch's packed columns take (columnViews; a multiple of 8, so that the next batch's Float64Array is aligned). */
function packedBytes(n: number, nf: number): number {
  return (8 * n + 4 * (12 * n + 1 + 3 * nf) + 7 * n + nf + 7) & ~7;
}

/** The thread's side: packs parsed batches into one growing buffer per entry. */
class Packer {
  buf = new ArrayBuffer(0);
  at = 0;

  /** A spare that fits (and is not far larger: it would stay with this request) is reused, else a buffer of the estimate. */
  start(spare: ArrayBuffer | null, estimate: number): void {
    this.buf = spare !== null && spare.byteLength >= estimate && spare.byteLength <= 4 * estimate + 4096 ? spare : new ArrayBuffer(estimate);
    this.at = 0;
  }

  /** Appends the columns of a parsed batch; returns where they start. */
  pack(b: RecordBatch): number {
    const n = b.count;
    const nf = b.fieldStart[n]!;
    const need = packedBytes(n, nf);
    if (this.at + need > this.buf.byteLength) {
      const bigger = new ArrayBuffer(Math.max(this.at + need, Math.ceil(this.buf.byteLength * 1.5)));
      new Uint8Array(bigger).set(new Uint8Array(this.buf, 0, this.at));
      this.buf = bigger;
    }
    const start = this.at;
    // The writer's columns may be longer than this batch (reused memory): copy the batch's part.
    const views = columnViews(this.buf, start, n, nf);
    for (const name of Object.keys(views) as (keyof PackedColumns)[]) {
      const to = views[name];
      (to as Uint8Array).set((b[name] as Uint8Array).subarray(0, to.length));
    }
    this.at = start + need;
    return start;
  }
}

function serve(): void {
  const init = workerData as ParseThreadInit;
  nameThread('ringlog-parse');
  lowerThreadPriority(5);
  const port = parentPort!;
  const parsers = new Parsers((listener, err) => {
    port.postMessage({ type: 'internal-error', listener, error: (err as Error)?.stack ?? String(err) } satisfies ParseReply);
  }, true);
  const packer = new Packer();
  // Key dictionaries by identity: their id, and how many names the store worker has.
  const dictIds = new Map<KeyDictionary, { id: number; sent: number }>();
  const stageDict = new Map<string, KeyDictionary>();
  let nextDict = 1;
  const sendCounts = () => {
    const counts = parsers.take();
    if (counts.length > 0) port.postMessage({ type: 'parsed', counts } satisfies ParseReply);
  };
  const timer = setInterval(sendCounts, init.countsEveryMs);
  let requests = 0;

  port.on('message', (req: ToParseThread) => {
    if (req.type === 'entries' && ++requests > init.exitAfter) throw new Error('test fault: the parse thread crashes');
    if (req.type === 'close') {
      clearInterval(timer);
      sendCounts();
      port.postMessage({ type: 'closed' } satisfies ParseReply);
      return;
    }
    const decoded: (StoreBatch[] | string)[] = [];
    let records = 0;
    let batchCount = 0;
    for (const e of req.entries) {
      try {
        const batches = decodeEntryBody(Buffer.from(e.entry, 0, e.length), WAL_ENTRY_HEADER_SIZE, e.length).batches;
        for (const b of batches) records += b.count;
        batchCount += batches.length;
        decoded.push(batches);
      } catch (err) {
        decoded.push((err as Error).message);
      }
    }
    packer.start(req.spare, packedBytes(records, records * 4) + 8 * batchCount);
    const names: [number, number, string[]][] = [];
    const dropped: number[] = [];
    const entries: Extract<ParseReply, { type: 'entries' }>['entries'] = [];
    for (let k = 0; k < req.entries.length; k++) {
      const { entry, length } = req.entries[k]!;
      const batches = decoded[k]!;
      if (typeof batches === 'string') {
        entries.push({ entry, length, error: batches, batches: [] });
        continue;
      }
      entries.push({ entry, length, error: null, batches: packBatches(batches, names, dropped) });
    }
    const columns = packer.buf;
    // A spare that was too small is dropped (packer.start took a bigger one).
    const reply: ParseReply = { type: 'entries', id: req.id, entries, columns, names, dropped };
    port.postMessage(reply, [...req.entries.map((e) => e.entry), columns]);
  });

  /** Parses and packs an entry's batches; notes new key names and the dictionaries no longer used. */
  function packBatches(batches: StoreBatch[], names: [number, number, string[]][], dropped: number[]): PackedBatch[] {
    const packed: PackedBatch[] = [];
    for (const fb of batches) {
      const b = parsers.parse(fb);
      const keys = b.keys as KeyDictionary;
      let d = dictIds.get(keys);
      let fresh = false;
      if (d === undefined) {
        fresh = true;
        d = { id: nextDict++, sent: 0 };
        dictIds.set(keys, d);
        const stage = stageKey(fb);
        const before = stageDict.get(stage);
        if (before !== undefined) {
          dropped.push(dictIds.get(before)!.id);
          dictIds.delete(before);
        }
        stageDict.set(stage, keys);
      }
      if (fresh || keys.size > d.sent) {
        names.push([d.id, d.sent, keys.strings.slice(d.sent)]);
        d.sent = keys.size;
      }
      packed.push({ at: packer.pack(b), count: b.count, nf: b.fieldStart[b.count]!, parseErrors: b.parseErrors, dict: d.id });
    }
    return packed;
  }
}

// Loaded as the parse thread (the store worker imports this file too, for ParseThread).
if (!isMainThread && (workerData as Partial<ParseThreadInit> | null)?.role === 'ringlog-parse') serve();
