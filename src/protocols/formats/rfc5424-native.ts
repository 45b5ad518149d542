/**
 * RFC 5424 frames of a batch parsed in native code (native/syslog5424.cc), in one call
 * per batch, before ParseStage's loop: a frame the native pass takes has its PRI,
 * timestamp, header fields and message written into the batch's columns already, and
 * its structured data waiting as items that sdItemFields() (rfc5424.ts) turns into
 * fields; the loop then only adds those. Every other frame (not syslog, RFC 3164,
 * anything the native pass finds invalid, more than 4096 structured-data items) goes to
 * the JavaScript parsers as before, which stay the definition: the native pass takes a
 * frame only where rfc5424.ts would succeed and writes what it would write, except that
 * a header field repeating the previous taken frame's gets that frame's range of the
 * same bytes (rfc5424-native.test.ts checks both on valid, mutated and random frames).
 *
 * Used for listeners whose format is `auto`, `syslog` or `rfc5424`. Off without the
 * addon, with RINGLOG_NATIVE=off, and through setNative5424(false) (benchmarks and
 * tests that compare both paths). The scratch memory is per thread, for the batch being
 * parsed: parsing is synchronous.
 */
import { nativeFunction } from '../../native/addon.js';
import type { FrameBatch } from '../../pipeline/batch.js';
import type { RecordWriter } from '../../record/record-batch.js';
import { ItemScratch } from './native-items.js';
import { lastItemIds } from './rfc5424.js';

export type Scan5424Fn = (
  buf: Uint8Array, offsets: Uint32Array, count: number,
  timeMs: Float64Array, timeNs: Uint32Array, facility: Uint8Array, severity: Uint8Array, spans: Uint32Array,
  taken: Uint8Array, items: Uint32Array, itemAt: Uint32Array,
) => number;

/** Buffers this large or larger are left to JavaScript (item positions have 29 bits). */
const MAX_BUF = 1 << 29;
/** Item words per batch at most (16 MiB): frames whose items do not fit are parsed in JavaScript. */
const MAX_WORDS = 1 << 22;

export type SdFieldsFn = (
  items: Uint32Array, itemAt: Uint32Array, itemIds: Uint32Array, from: number, count: number,
  flags: Uint8Array, timeMs: Float64Array, limit: number,
  fieldKey: Uint32Array, fieldSpans: Uint32Array, fieldEnc: Uint8Array, fieldStart: Uint32Array,
) => number;

let enabled = true;
const NO_FLAGS = new Uint8Array(0);

/** The native scan5424, or null when the addon is not built (or lacks it) or RINGLOG_NATIVE=off. */
export function nativeScan5424(): Scan5424Fn | null {
  return nativeFunction<Scan5424Fn>('scan5424');
}

/** Turns the native pass off or back on in this thread (for benchmarks and tests that compare both paths). */
export function setNative5424(on: boolean): void {
  enabled = on;
}

/** The batch's taken flags and structured-data items (native-items.ts). */
export const scanned = new ItemScratch(MAX_WORDS);

/**
 * Runs the native pass over `batch` into `w` (after w.begin(batch)): the per-frame
 * `taken` flags (scanned.taken: 1 where the pass parsed the frame), or null when there is
 * no native pass or it took no frame.
 */
export function scanRfc5424(w: RecordWriter, batch: FrameBatch): Uint8Array | null {
  const fn = enabled ? nativeScan5424() : null;
  const n = batch.count;
  if (fn === null || n === 0 || batch.buf.length >= MAX_BUF) return null;
  // Room for four structured-data items a record to begin with (more when a frame does not fit).
  return scanned.run(n, n * 16, (s) => fn(batch.buf, batch.offsets, n, w.timeMs, w.timeNs, w.facility, w.severity, w.spans, s.taken, s.items, s.itemAt));
}

/** The native sdFields, or null when the addon is not built (or lacks it) or RINGLOG_NATIVE=off. */
export function nativeSdFields(): SdFieldsFn | null {
  return nativeFunction<SdFieldsFn>('sdFields');
}

/**
 * After scanRfc5424 took every frame of the batch: the fields of records from, from + 1…
 * (sdItemFields) and their ending (ParseStage: no frame flag, a timestamp in [0, limit]),
 * in one native call, while each record's items are all SAME, so that every key id is
 * the previous record's. Returns the first record not done (`from` when none), which
 * JavaScript does (it stays the definition: rfc5424-native.test.ts compares both).
 */
export function sdFieldsRun(w: RecordWriter, from: number, count: number, flags: Uint8Array | null, limit: number): number {
  const fn = enabled ? nativeSdFields() : null;
  const ids = lastItemIds();
  if (fn === null || ids === null || from >= count) return from;
  const j = fn(scanned.items, scanned.itemAt, ids, from, count, flags ?? NO_FLAGS, w.timeMs, limit, w.fieldKey, w.fieldSpans, w.fieldEnc, w.fieldStart);
  if (j > from) w.nf = w.fieldStart[j]!;
  return j;
}
