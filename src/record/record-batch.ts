/**
 * Records in batches, column by column (docs/record.md). A parsed batch is the frame
 * batch it came from plus typed-array columns; every text value is a byte range of
 * the batch's buffer, so parsing a record writes a few numbers and makes no string
 * and no object. Strings are made only by whoever needs them (recordAt(), outputs
 * that render text); the store (docs/storage.md) copies the byte ranges as they are.
 *
 *   record i:  timeMs[i] timeNs[i]  facility[i] severity[i]
 *              spans[10i .. 10i+9] = [start, end) of host, app, procid, msgid, message
 *              enc[5i .. 5i+4]     = how each of those ranges is encoded (ENC_*)
 *              fields fieldStart[i] .. fieldStart[i+1]-1:
 *                  fieldKey[f] (id in `keys`), fieldSpans[2f, 2f+1], fieldEnc[f]
 *
 * An absent value (RFC 5424 NILVALUE, a missing key) is the empty range [0, 0). A range
 * may lie outside its record's frame, on equal bytes of an earlier frame of the batch
 * (the native RFC 5424 pass does that for repeated header fields: docs/record.md).
 */
import type { FrameBatch } from '../pipeline/batch.js';
import { KeyDictionary, type KeyNames } from './key-dictionary.js';
import type { FormatName } from '../protocols/formats/format.js';
import { splitReceived } from './time.js';

/** Text slots of a record, in `spans` / `enc` order. */
export const HOST = 0;
export const APP = 1;
export const PROCID = 2;
export const MSGID = 3;
export const MESSAGE = 4;
export const SLOTS = 5;

/** The bytes are UTF-8 text (invalid sequences become U+FFFD when decoded). */
export const ENC_UTF8 = 0;
/** The bytes are the inside of a JSON string literal with at least one escape (already validated). */
export const ENC_JSON = 1;
/** The bytes are an RFC 5424 PARAM-VALUE with at least one `\"`, `\\` or `\]` escape. */
export const ENC_SD = 2;
/** Not bytes: `start` is an id in the batch's key dictionary (constant values such as parse_error reasons). */
export const ENC_CONST = 3;

/** Syslog defaults for a record whose source says nothing (RFC 3164 §4.3.3: PRI 13, user.notice). */
export const DEFAULT_FACILITY = 1;
export const DEFAULT_SEVERITY = 5;

export interface RecordColumns {
  /** Event time: whole ms since the epoch, plus ns within that ms (0..999,999). */
  timeMs: Float64Array;
  timeNs: Uint32Array;
  facility: Uint8Array;
  severity: Uint8Array;
  spans: Uint32Array;
  enc: Uint8Array;
  /** count + 1 entries: the fields of record i are fieldStart[i] .. fieldStart[i+1]-1. */
  fieldStart: Uint32Array;
  fieldKey: Uint32Array;
  fieldSpans: Uint32Array;
  fieldEnc: Uint8Array;
  /** Names of the field keys (and ENC_CONST values) this batch refers to. */
  keys: KeyNames;
  /** Records that became raw records with a parse_error field. */
  parseErrors: number;
  /** The format the batch was parsed with (its listener's): the store logs it so recovery parses alike. */
  format: FormatName;
}

export type RecordBatch = FrameBatch & RecordColumns;

/** The batch as records: listeners parse on the event loop whenever an output needs them (Output.needsRecords). */
export function parsed(b: FrameBatch): RecordBatch {
  if ((b as Partial<RecordBatch>).timeMs === undefined) throw new Error('a frame batch reached an output that needs parsed records (a bug: needsRecords not honoured)');
  return b as RecordBatch;
}

/** Memory the columns of `n` records with `f` fields keep alive (for the queue's byte accounting). */
export function columnBytes(n: number, f: number): number {
  return n * (8 + 4 + 1 + 1 + 40 + 5 + 4) + f * (4 + 8 + 1) + 4;
}

/**
 * What parsers write into. One writer per parsing stage; `begin()` sizes the
 * columns for a frame batch, a parser fills record i, `finish()` returns the batch.
 * Parsers write the typed arrays directly (`w.severity[i] = 3`) and add fields
 * with `field()`, which appends to the current record.
 */
export class RecordWriter {
  buf: Buffer = Buffer.alloc(0);
  keys = new KeyDictionary();
  timeMs = new Float64Array(0);
  timeNs = new Uint32Array(0);
  facility = new Uint8Array(0);
  severity = new Uint8Array(0);
  spans = new Uint32Array(0);
  enc = new Uint8Array(0);
  fieldStart = new Uint32Array(1);
  /** Fields written so far in this batch; scratch arrays grow and are copied out at finish(). */
  nf = 0;
  fieldKey = new Uint32Array(1024);
  fieldSpans = new Uint32Array(2048);
  fieldEnc = new Uint8Array(1024);
  parseErrors = 0;
  /** The receive time as the default event time. */
  receivedMs = 0;
  receivedNs = 0;
  private batch: FrameBatch | null = null;
  /** Per-reason parse error counts for this batch (reason → count); read and reset by the caller. */
  readonly errorCounts = new Map<string, number>();
  /** Ids of constant strings in the current dictionary (cleared when it is replaced). */
  private readonly constIds = new Map<string, number>();

  /**
   * `reuse`: every batch gets the same column memory, overwritten by the next begin(),
   * instead of columns of its own: for a consumer done with a batch before it parses the
   * next (the store worker), which then allocates nothing per batch.
   */
  constructor(private readonly reuse = false) {}

  /** Column memory for n records, kept from batch to batch (reuse mode): grown when short, zeroed where begin() does not set every element. */
  private reuseColumns(n: number): void {
    if (this.timeMs.length < n || this.fieldStart.length < n + 1) {
      const cap = Math.max(n, 1024);
      this.timeMs = new Float64Array(cap);
      this.timeNs = new Uint32Array(cap);
      this.facility = new Uint8Array(cap);
      this.severity = new Uint8Array(cap);
      this.spans = new Uint32Array(cap * 10);
      this.enc = new Uint8Array(cap * SLOTS);
      this.fieldStart = new Uint32Array(cap + 1);
      return;
    }
    this.spans.fill(0, 0, n * 10);
    this.enc.fill(0, 0, n * SLOTS);
    this.fieldStart[0] = 0;
  }

  /** Starts a batch: allocates its columns (or reuses them, see the constructor), every record preset to the defaults. */
  begin(batch: FrameBatch): void {
    if (this.keys.full) {
      this.keys = new KeyDictionary();
      this.constIds.clear();
    }
    const n = batch.count;
    this.batch = batch;
    this.buf = batch.buf;
    const { ms, ns } = splitReceived(batch.received);
    this.receivedMs = ms;
    this.receivedNs = ns;
    if (this.reuse) {
      this.reuseColumns(n);
      this.timeMs.fill(ms, 0, n);
      this.timeNs.fill(ns, 0, n);
      this.facility.fill(DEFAULT_FACILITY, 0, n);
      this.severity.fill(DEFAULT_SEVERITY, 0, n);
    } else {
      this.timeMs = new Float64Array(n).fill(ms);
      this.timeNs = new Uint32Array(n).fill(this.receivedNs);
      this.facility = new Uint8Array(n).fill(DEFAULT_FACILITY);
      this.severity = new Uint8Array(n).fill(DEFAULT_SEVERITY);
      this.spans = new Uint32Array(n * 10);
      this.enc = new Uint8Array(n * SLOTS);
      this.fieldStart = new Uint32Array(n + 1);
    }
    this.nf = 0;
    this.parseErrors = 0;
  }

  /** Sets text slot `slot` (HOST…MESSAGE) of record i. */
  set(i: number, slot: number, start: number, end: number, enc: number): void {
    const k = i * 10 + slot * 2;
    this.spans[k] = start;
    this.spans[k + 1] = end;
    this.enc[i * SLOTS + slot] = enc;
  }

  /** Appends a field to the record being parsed. */
  field(key: number, start: number, end: number, enc: number): void {
    const f = this.nf;
    if (f === this.fieldKey.length) this.growFields();
    this.fieldKey[f] = key;
    this.fieldSpans[2 * f] = start;
    this.fieldSpans[2 * f + 1] = end;
    this.fieldEnc[f] = enc;
    this.nf = f + 1;
  }

  /** Appends a field whose value is a constant string (interned). */
  constField(key: number, value: string): void {
    this.field(key, this.constId(value), 0, ENC_CONST);
  }

  /** Key id of a plain top-level name, or id of a constant value (cached: cheap to call per record). */
  constId(name: string): number {
    let id = this.constIds.get(name);
    if (id === undefined) {
      id = this.keys.internString(name);
      this.constIds.set(name, id);
    }
    return id;
  }

  /**
   * Record i did not parse: forget what the parser wrote for it and keep it as a raw
   * record — the whole frame (trailing CR/LF/NUL trimmed) as the message, receive time,
   * default facility/severity, and `parse_error` = reason. Parsers call this and return.
   */
  fail(i: number, start: number, end: number, reason: string): void {
    this.nf = this.fieldStart[i]!;
    this.timeMs[i] = this.receivedMs;
    this.timeNs[i] = this.receivedNs;
    this.facility[i] = DEFAULT_FACILITY;
    this.severity[i] = DEFAULT_SEVERITY;
    this.spans.fill(0, i * 10, i * 10 + 10);
    this.enc.fill(0, i * SLOTS, i * SLOTS + SLOTS);
    const buf = this.buf;
    while (end > start && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d || buf[end - 1] === 0x00)) end--;
    this.set(i, MESSAGE, start, end, ENC_UTF8);
    this.field(this.constId('parse_error'), this.constId(reason), 0, ENC_CONST);
    this.parseErrors++;
    this.errorCounts.set(reason, (this.errorCounts.get(reason) ?? 0) + 1);
  }

  /** Closes record i (its fields end here). Called by the parsing loop after each record. */
  next(i: number): void {
    this.fieldStart[i + 1] = this.nf;
  }

  /** Hands out the parsed batch (the frame batch object, now with its columns). */
  finish(format: FormatName): RecordBatch {
    const batch = this.batch!;
    this.batch = null;
    const nf = this.nf;
    const out = batch as RecordBatch;
    out.timeMs = this.timeMs;
    out.timeNs = this.timeNs;
    out.facility = this.facility;
    out.severity = this.severity;
    out.spans = this.spans;
    out.enc = this.enc;
    out.fieldStart = this.fieldStart;
    if (this.reuse) {
      // The writer's own memory, valid until the next begin().
      out.fieldKey = this.fieldKey;
      out.fieldSpans = this.fieldSpans;
      out.fieldEnc = this.fieldEnc;
    } else {
      out.fieldKey = this.fieldKey.slice(0, nf);
      out.fieldSpans = this.fieldSpans.slice(0, nf * 2);
      out.fieldEnc = this.fieldEnc.slice(0, nf);
    }
    out.keys = this.keys;
    out.parseErrors = this.parseErrors;
    out.format = format;
    out.retained += columnBytes(batch.count, nf);
    return out;
  }

  private growFields(): void {
    const n = this.fieldKey.length * 2;
    const k = new Uint32Array(n);
    k.set(this.fieldKey);
    const s = new Uint32Array(n * 2);
    s.set(this.fieldSpans);
    const e = new Uint8Array(n);
    e.set(this.fieldEnc);
    this.fieldKey = k;
    this.fieldSpans = s;
    this.fieldEnc = e;
  }
}
