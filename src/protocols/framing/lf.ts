/**
 * LF framing: a frame is everything up to the next LF (or NUL, with
 * `nulDelimiter`). One trailing CR is stripped (CRLF senders; also from the
 * unterminated last frame that end() emits). Empty frames (blank lines, a lone
 * "\r\n", the "\n" of GELF's "msg\0\n") are skipped.
 *
 * Oversize (content > maxFrame): the first maxFrame bytes are emitted flagged
 * FRAME_TRUNCATED ('truncate') as soon as the frame is certainly too long, and
 * the rest is discarded up to the delimiter; 'drop' emits nothing. The event is
 * reported once, when the frame ends (or at end()), with the full content length.
 *
 *            no delimiter in rest of chunk
 *   ┌──────┐ ───────────────────────────▶ ┌─────────┐ ──┐ chunk without
 *   │ Scan │                              │ Pending │ ◀─┘ a delimiter
 *   └──────┘ ◀─────────────────────────── └─────────┘
 *    ▲    │      delimiter: emit the          (bytes copied, ≤ maxFrame;
 *    └────┘      assembled frame              oversize → head emitted,
 *   delimiter in chunk: emit a               rest discarded)
 *   zero-copy view (chunk, start, end)
 *
 * Hot-path choices (this loop runs once per log line):
 *  - `Buffer.indexOf(10, pos)` is a memchr in C++: far faster than a JS byte loop
 *    for lines of more than a few bytes, and it is the baseline we compare to.
 *  - NUL: the position of the next NUL is cached per chunk. When a chunk has no
 *    NUL (the common case even with nulDelimiter on) that costs one indexOf per
 *    chunk, not per frame.
 *  - Frames inside a chunk are passed as (chunk, start, end): no subarray, no
 *    closure, no allocation per frame. Only a frame straddling chunks is copied.
 *  - All the rare work (straddling, oversize) lives in LfPending (common.ts),
 *    which keeps this loop small enough for V8 to keep optimised.
 */
import type { FrameSink, Framer, FramerOptions } from './framer.js';
import { CR, LF, LfPending, NUL, checkOptions } from './common.js';

export class LfFramer implements Framer {
  private readonly max: number;
  private readonly nul: boolean;
  private readonly p: LfPending;

  constructor(opts: FramerOptions) {
    checkOptions(opts);
    this.max = opts.maxFrame;
    this.nul = opts.nulDelimiter;
    this.p = new LfPending(opts.maxFrame, opts.onOversize === 'drop', opts.onEvent);
  }

  get buffered(): number {
    return this.p.part.len;
  }

  push(chunk: Buffer, emit: FrameSink): void {
    const len = chunk.length;
    const max = this.max;
    const p = this.p;
    let pos = 0;
    // Next NUL at or after pos: -2 = not searched yet in this chunk, -1 = none left.
    let nulAt = this.nul ? -2 : -1;
    // Next LF at or after pos, the same way: with nulDelimiter, lines may end in NUL and
    // the LF found lies further on; it is searched for again only once passed.
    let lfAt = -2;
    let e: number;

    if (p.total !== 0) {
      // A frame started in an earlier chunk: this chunk's head belongs to it.
      e = lfAt = chunk.indexOf(LF);
      if (nulAt !== -1) {
        nulAt = chunk.indexOf(NUL);
        if (nulAt !== -1 && (e === -1 || nulAt < e)) e = nulAt;
      }
      if (e === -1) {
        p.extend(chunk, 0, len, emit);
        return;
      }
      p.complete(chunk, 0, e, emit);
      pos = e + 1;
    }

    while (pos < len) {
      if (lfAt !== -1 && lfAt < pos) lfAt = chunk.indexOf(LF, pos);
      e = lfAt;
      if (nulAt !== -1) {
        if (nulAt < pos) nulAt = chunk.indexOf(NUL, pos);
        if (nulAt !== -1 && (e === -1 || nulAt < e)) e = nulAt;
      }
      if (e === -1) {
        p.extend(chunk, pos, len, emit);
        return;
      }
      let fe = e;
      if (fe > pos && chunk[fe - 1] === CR) fe--;
      const n = fe - pos;
      if (n !== 0) {
        if (n <= max) emit(chunk, pos, fe, 0);
        else p.oversize(chunk, pos, n, emit);
      }
      pos = e + 1;
    }
  }

  end(emit: FrameSink): void {
    if (this.p.total !== 0) this.p.finish(emit);
  }
}
