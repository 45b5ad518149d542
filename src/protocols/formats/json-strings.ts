/**
 * Where the strings of a batch of JSON lines end, found in native code
 * (native/json_strings.cc) in one call per batch, so that json.ts need not read a
 * string's bytes one at a time in JavaScript: on JSON lines that is about half of the
 * parse time, since most of a line is the inside of strings.
 *
 * The list is a hint. hintedScanString() uses an entry only when it starts exactly
 * where the parser stands and ends within the parser's limit; anywhere else (no addon,
 * RINGLOG_NATIVE=off, a frame whose list stopped at an invalid string, a position
 * the list does not have) it falls back to scanString(), which stays the definition.
 * An entry is what scanString() returns from that position (the same rules, checked by
 * json-strings.test.ts against it), so parsing with or without hints gives
 * the same records.
 *
 * The state is per thread and per batch: ParseStage.parse() calls prepareHints()
 * before its frames, hintFrame(i) before frame i and clearHints() after the batch.
 * Parsing is synchronous, so nothing else runs in between; the buffer is compared too,
 * so a parser working on another buffer never sees these hints.
 */
import { nativeFunction } from '../../native/addon.js';
import type { FrameBatch } from '../../pipeline/batch.js';
import { scanString, scanned } from './json-scanner.js';

export type JsonStringsFn = (buf: Uint8Array, offsets: Uint32Array, count: number, out: Uint32Array, frameAt: Uint32Array) => number;

const ESC_BIT = 0x80000000;
/** At most this many words of hints per batch (4 MiB): strings past it are scanned in JavaScript. */
const MAX_WORDS = 1 << 20;

let enabled = true;

/** The native jsonStrings, or null when the addon is not built (or lacks it) or RINGLOG_NATIVE=off. */
export function nativeJsonStrings(): JsonStringsFn | null {
  return nativeFunction<JsonStringsFn>('jsonStrings');
}

/** Turns the hints off or back on in this thread (for benchmarks and tests that compare both paths). */
export function setStringHints(on: boolean): void {
  enabled = on;
}

/** The hints of the batch being parsed. */
const h = {
  buf: null as Uint8Array | null,
  out: new Uint32Array(0),
  frameAt: new Uint32Array(0),
  /** Cursor and end within `out` for the current frame. */
  pos: 0,
  end: 0,
};

/** Finds the strings of every frame of `batch` that is a JSON object; false when there are no hints to use. */
export function prepareHints(batch: FrameBatch): boolean {
  h.buf = null;
  h.pos = h.end = 0;
  const fn = enabled ? nativeJsonStrings() : null;
  if (fn === null || batch.count === 0) return false;
  const words = Math.min(MAX_WORDS, batch.buf.length + 2);
  if (h.out.length < words) h.out = new Uint32Array(Math.min(MAX_WORDS, Math.max(words, 64 * 1024)));
  if (h.frameAt.length < batch.count + 1) h.frameAt = new Uint32Array(Math.max(batch.count + 1, 1024));
  fn(batch.buf, batch.offsets, batch.count, h.out, h.frameAt);
  h.buf = batch.buf;
  return true;
}

/** Points the hints at frame i of the prepared batch. */
export function hintFrame(i: number): void {
  h.pos = h.frameAt[i]!;
  h.end = h.frameAt[i + 1]!;
}

/** Forgets the batch's hints (after its last frame). */
export function clearHints(): void {
  h.buf = null;
  h.pos = h.end = 0;
}

/**
 * scanString(buf, p, e), from the hints when they have the string that starts at p and
 * it ends by e: the position after the closing quote, or -1; sets scanned.esc.
 */
export function hintedScanString(buf: Uint8Array, p: number, e: number): number {
  if (buf === h.buf) {
    const out = h.out;
    const end = h.end;
    let k = h.pos;
    // Strings the parser went past without asking (inside values it skipped) are behind p.
    while (k < end && out[k]! < p) k += 2;
    h.pos = k;
    if (k < end && out[k] === p) {
      const w = out[k + 1]!;
      const q = w & ~ESC_BIT;
      if (q <= e) {
        h.pos = k + 2;
        scanned.esc = w >>> 31;
        return q;
      }
    }
  }
  return scanString(buf, p, e);
}
