/**
 * JSON lines of a batch checked and split in native code (native/json_strings.cc,
 * scanJsonLines), in one call per batch, before ParseStage's loop: for every frame that
 * json.ts parseObject() would parse without an error, the members of its top-level
 * object (key and value ranges, value type, whether the key repeats the previous taken
 * frame's), which jsonItemFields() (json.ts) turns into the record without reading the
 * bytes again. Every other frame (invalid JSON, more than 4096 members, members past
 * the 16 MiB of room per batch, buffers of 256 MiB or more) goes to the JavaScript
 * parser as before, which stays the definition
 * (json-native.test.ts compares both on valid, mutated and random frames).
 *
 * Used for listeners whose format is `json`, `gelf` or `auto`. Off without the addon, with
 * RINGLOG_NATIVE=off, and through setNativeJson(false) (benchmarks and tests that compare
 * both paths). The scratch memory is per thread, for the batch being parsed.
 */
import { nativeFunction } from '../../native/addon.js';
import type { FrameBatch } from '../../pipeline/batch.js';
import { ItemScratch } from './native-items.js';

export type ScanJsonLinesFn = (
  buf: Uint8Array, offsets: Uint32Array, count: number, auto: boolean,
  taken: Uint8Array, items: Uint32Array, itemAt: Uint32Array,
) => number;

/** Buffers this large or larger are left to JavaScript (member positions have 28 bits). */
const MAX_BUF = 1 << 28;
/** Member words per batch at most (16 MiB): frames whose members do not fit are parsed in JavaScript. */
const MAX_WORDS = 1 << 22;

let enabled = true;

/** The native scanJsonLines, or null when the addon is not built (or lacks it) or RINGLOG_NATIVE=off. */
export function nativeScanJsonLines(): ScanJsonLinesFn | null {
  return nativeFunction<ScanJsonLinesFn>('scanJsonLines');
}

/** Turns the native pass off or back on in this thread. */
export function setNativeJson(on: boolean): void {
  enabled = on;
}

/** The batch's taken flags and members (native-items.ts). */
export const jsonScanned = new ItemScratch(MAX_WORDS);

/**
 * Runs the native pass over `batch` (`auto`: only frames ParseStage's detection sends to
 * the JSON parser): the per-frame `taken` flags (bit 0 set where the pass checked and
 * split the frame; 3 when it also has an object value to flatten, which json.ts reads
 * from the bytes), or null when there is no native pass or it took no frame.
 */
export function scanJsonLines(batch: FrameBatch, auto: boolean): Uint8Array | null {
  const fn = enabled ? nativeScanJsonLines() : null;
  const n = batch.count;
  if (fn === null || n === 0 || batch.buf.length >= MAX_BUF) return null;
  // Room for eight members a record to begin with (more when a frame does not fit).
  return jsonScanned.run(n, n * 32, (s) => fn(batch.buf, batch.offsets, n, auto, s.taken, s.items, s.itemAt));
}
