/**
 * Pieces shared by the stream framers (lf.ts, octet.ts): byte constants, option
 * checks, the bounded partial-frame buffer and the LF "pending frame" logic used
 * whenever an LF-delimited frame straddles chunks.
 *
 * Memory rule: a framer never holds more than `maxFrame` bytes of one frame. The
 * partial bytes are *copied* (not kept as subarray views of the socket chunks):
 * a 10-byte view would pin its whole 64 KiB parent chunk, so `buffered` would lie
 * about what the connection really keeps alive.
 */
import { FRAME_TRUNCATED, type FrameSink, type FramerOptions, type FramingEvent } from './framer.js';

export const LF = 0x0a;
export const CR = 0x0d;
export const NUL = 0x00;
export const SP = 0x20;

/** Throws on options that would make the framers misbehave (a bad maxFrame would silently eat input). */
export function checkOptions(opts: FramerOptions): void {
  if (!Number.isSafeInteger(opts.maxFrame) || opts.maxFrame < 1) {
    throw new RangeError(`framing: maxFrame must be a positive integer, got ${String(opts.maxFrame)}`);
  }
  if (opts.onOversize !== 'truncate' && opts.onOversize !== 'drop') {
    throw new RangeError(`framing: onOversize must be 'truncate' or 'drop', got ${String(opts.onOversize)}`);
  }
}

/**
 * Growable byte buffer for the bytes of one incomplete frame, capped by the
 * caller's `limit`. Capacity doubles (amortised O(n) copying) but never exceeds
 * the limit. `take()` hands the buffer over to the sink and forgets it, so an
 * emitted buffer is never written again (the sink may keep it).
 */
export class FrameBuilder {
  buf: Buffer | null = null;
  len = 0;

  /** Appends src[start, end), silently keeping at most `limit` bytes in total. */
  append(src: Buffer, start: number, end: number, limit: number): void {
    const room = limit - this.len;
    let n = end - start;
    if (n > room) n = room;
    if (n <= 0) return;
    const need = this.len + n;
    let buf = this.buf;
    if (buf === null || need > buf.length) {
      // 256 first: the usual straddler is one log line split by a chunk edge,
      // and allocUnsafe below 4 KiB comes from Node's pool (no syscall, no zeroing).
      let cap = buf === null ? 256 : buf.length * 2;
      if (cap < need) cap = need;
      if (cap > limit) cap = limit;
      const grown = Buffer.allocUnsafe(cap);
      if (buf !== null) buf.copy(grown, 0, 0, this.len);
      this.buf = buf = grown;
    }
    src.copy(buf, this.len, start, start + n);
    this.len = need;
  }

  /** Gives the buffer away (bytes [0, len) are valid) and starts afresh. */
  take(): Buffer {
    const b = this.buf ?? Buffer.alloc(0);
    this.buf = null;
    this.len = 0;
    return b;
  }

  clear(): void {
    this.buf = null;
    this.len = 0;
  }
}

/**
 * The LF-delimited frame currently straddling chunks. `extend` is fed the bytes
 * of the frame that contain no delimiter; `complete` the last piece before the
 * delimiter; `finish` ends it at end of stream.
 *
 * Oversize is decided as early as possible so the truncated head can be emitted
 * (and the buffer released) while the rest of a huge line is still streaming in:
 * the content is certainly longer than max once we have seen max+2 raw bytes, or
 * max+1 raw bytes the last of which is not CR (at most one trailing CR is
 * stripped). The event itself is reported when the frame ends (delimiter or
 * end()), with the full content length, exactly once.
 */
export class LfPending {
  readonly part = new FrameBuilder();
  /** Raw bytes of the pending frame seen so far (CR included, delimiter excluded). 0 = nothing pending. */
  total = 0;
  /** The last raw byte seen was CR (it is stripped if the delimiter follows). */
  lastCR = false;
  /** Known oversize: head already emitted (truncate) or abandoned (drop); discarding until the delimiter. */
  over = false;

  constructor(
    private readonly max: number,
    private readonly drop: boolean,
    private readonly onEvent: FramingEvent | undefined,
  ) {}

  /** src[start, end) continues the pending frame (or starts it) and holds no delimiter. */
  extend(src: Buffer, start: number, end: number, emit: FrameSink): void {
    const n = end - start;
    if (n <= 0) return;
    const before = this.total;
    const total = before + n;
    const lastCR = src[end - 1] === CR;
    this.total = total;
    this.lastCR = lastCR;
    if (this.over) return;
    const max = this.max;
    if (total > max + 1 || (total === max + 1 && !lastCR)) {
      this.over = true;
      if (!this.drop) {
        if (before === 0) {
          emit(src, start, start + max, FRAME_TRUNCATED); // n > max here: zero-copy head
        } else {
          this.part.append(src, start, end, max);
          emit(this.part.take(), 0, max, FRAME_TRUNCATED);
        }
      }
      this.part.clear();
      return;
    }
    this.part.append(src, start, end, max);
  }

  /** The delimiter is at src[e]; src[start, e) ends the frame. Returns the frame's content length. */
  complete(src: Buffer, start: number, e: number, emit: FrameSink): number {
    this.extend(src, start, e, emit);
    return this.finish(emit);
  }

  /** Ends the pending frame here (delimiter already consumed, or end of stream). */
  finish(emit: FrameSink): number {
    const len = this.total - (this.lastCR ? 1 : 0);
    if (this.over) this.report(len);
    else if (len > 0) emit(this.part.take(), 0, len, 0);
    this.reset();
    return len;
  }

  /** A whole oversize frame seen inside one chunk at buf[start, start+len). */
  oversize(buf: Buffer, start: number, len: number, emit: FrameSink): void {
    if (!this.drop) emit(buf, start, start + this.max, FRAME_TRUNCATED);
    this.report(len);
  }

  /** Reports one oversize frame of `len` bytes according to the policy. */
  report(len: number): void {
    this.onEvent?.(this.drop ? 'oversize_dropped' : 'truncated', len);
  }

  reset(): void {
    this.total = 0;
    this.lastCR = false;
    this.over = false;
    this.part.clear();
  }
}
