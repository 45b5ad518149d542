/**
 * RFC 6587 octet counting (`MSG-LEN SP MSG`, MSG-LEN = NONZERO-DIGIT *DIGIT),
 * with a per-frame fallback to LF framing. One machine serves two modes:
 *
 *  - `octet` (strict): every frame is expected to be counted. A frame that is
 *    not (first byte not 1-9, a non-digit before SP, more than 10 digits...) is
 *    reported as `bad_octet_count` and read as one LF-delimited frame instead,
 *    like rsyslog does, so the stream re-synchronises at the next LF instead of
 *    being eaten by a garbage count.
 *  - `auto` (see auto.ts): same machine; a frame whose first byte is not 1-9 is
 *    a plain LF frame, silently. Only a frame that *looked* counted (starts with
 *    1-9) and then turns out invalid is reported.
 *  (Pure `lf` mode is LfFramer: digits are never interpreted there.)
 *
 *                LF/CR/NUL: skip
 *                   ┌───┐
 *                   ▼   │    1-9         SP
 *   ┌──────────▶ ┌───────┐ ─────▶ ┌────────┐ ─────▶ ┌──────┐  all counted bytes in
 *   │            │ Start │        │ Length │        │ Body │ ───────────────────┐
 *   │            └───────┘        └────────┘        └──────┘  (emit the frame)  │
 *   │  any other byte │   (≤10 digits) ↺ │  anything else │ maxFrame bytes in:  │
 *   │  (octet: bad,   │                  │  or 11th digit │ emit them flagged   │
 *   │   auto: no event)                  │  (bad count)   ▼                     │
 *   │                 ▼                  ▼             ┌──────┐               │
 *   │           ┌────────────┐ ◀─────────┘             │ Skip │ ◀── SP with   │
 *   ├────────── │ LfFallback │                         └──────┘     count >   │
 *   │  LF (NUL) └────────────┘                  rest of body │   maxFrame and │
 *   │                                           discarded    │   'drop'       │
 *   └────────────────────────────────────────────────────────┴────────────────┘
 *
 *   The byte that ends Start or Length is not consumed: LfFallback re-reads it,
 *   and the digits already read are part of that LF frame.
 *
 * Details:
 *  - Leading LF, CR and NUL before a frame are skipped (senders often append
 *    "\n" or "\0" to counted frames). So in these modes an LF frame never begins
 *    with CR or NUL, unlike pure `lf` mode; NUL inside a frame is kept unless
 *    nulDelimiter is set.
 *  - Counts: at most 10 digits (up to 9 999 999 999; fits a double exactly).
 *  - Count > maxFrame: 'truncate' emits the first maxFrame bytes flagged
 *    FRAME_TRUNCATED as soon as they are in, then skips the rest; 'drop' skips it
 *    all. The event is reported when the counted body ends (or at end()).
 *  - end() inside a counted body (the peer went away mid-frame): the incomplete
 *    frame is treated as a truncated one. With 'truncate' the bytes received are
 *    emitted flagged FRAME_TRUNCATED and 'truncated' is reported (with the bytes
 *    received); with 'drop' it is dropped and 'oversize_dropped' is reported.
 *    With 0 body bytes received, nothing is emitted but the event is reported.
 *  - end() inside a count ("123" then EOF) is an invalid count: the digits are
 *    emitted as an LF frame and 'bad_octet_count' reported.
 *  - 'bad_octet_count' is reported once the fallback LF frame ends, with that
 *    frame's length (after its frame, and after any oversize event).
 *
 * Hot path: to a sink that takes many frames at once (a listener's BatchBuilder), the
 * counted frames and (auto mode) the lines whole in a chunk go over in one native call
 * from Start (native/octet_frames.cc, docs/framing.md "The native run"); the state
 * machine takes the frame it stops at. Without it, a counted body inside one chunk is
 * one zero-copy emit with no search at all, and an LF frame costs one byte test plus
 * the same indexOf as LfFramer.
 */
import { FRAME_TRUNCATED, type FrameSink, type Framer, type FramerOptions, type FramingEvent } from './framer.js';
import { CR, LF, LfPending, NUL, SP, checkOptions } from './common.js';
import { nativeFunction } from '../../native/addon.js';

/** native/octet_frames.cc: the frames of chunk from pos on while they are the common case (modes: RUN_LINES | RUN_NUL). */
export type OctetFramesFn = (chunk: Uint8Array, pos: number, maxFrame: number, modes: number, out: Uint32Array, st: Float64Array) => number;
/** octetFrames modes: take lines that are not counted (auto mode); NUL ends a line too. */
const RUN_LINES = 1;
const RUN_NUL = 2;

let nativeOn = true;

/** Turns the native frame run off or back on in this thread (tests and benchmarks that compare both paths). */
export function setNativeOctet(on: boolean): void {
  nativeOn = on;
}

/** The native octetFrames, or null (no addon, an older one, RINGLOG_NATIVE=off). */
export function nativeOctetFrames(): OctetFramesFn | null {
  return nativeFunction<OctetFramesFn>('octetFrames');
}

/** Frames per native call at most, and where it puts them (one framer pushes at a time in a thread). */
const RUN_FRAMES = 4096;
const runOut = new Uint32Array(2 * RUN_FRAMES);
const runSt = new Float64Array(2);
/** After a native call that found no frame, Start is entered this many more times (doubling up to it) before the next. */
const RUN_BACKOFF_MAX = 64;

export const enum State {
  /** Between frames: skipping separators, looking at the first byte. */
  Start,
  /** Reading MSG-LEN digits. */
  Length,
  /** Reading the counted body (keeping at most maxFrame bytes). */
  Body,
  /** Discarding the rest of an oversize counted body. */
  Skip,
  /** Reading one LF-delimited frame (not counted, or invalid count). */
  LfFallback,
}

/** More digits than this is not a count (rsyslog uses the same bound). */
const MAX_DIGITS = 10;
const D1 = 0x31; // '1'
const D0 = 0x30; // '0'
const D9 = 0x39; // '9'

export class OctetFramer implements Framer {
  private state = State.Start;
  /** Length / Body / Skip: the count read so far. */
  private count = 0;
  /** Length: number of digits read. */
  private nd = 0;
  /** Skip: counted bytes still to discard. */
  private remaining = 0;
  /** LfFallback: report this frame as bad_octet_count when it ends. */
  private bad = false;
  /** octetFrames' modes for this framer. */
  private readonly runModes: number;
  /** Start entries left before the native run is tried again, and the next such wait (see RUN_BACKOFF_MAX). */
  private runSkip = 0;
  private runBackoff = 1;

  private readonly max: number;
  private readonly nul: boolean;
  private readonly drop: boolean;
  private readonly onEvent: FramingEvent | undefined;
  /** Partial LF frame; its builder also holds a partial counted body (never both at once). */
  private readonly p: LfPending;

  /** @param strict true for `octet` mode (uncounted frames are reported), false for `auto`. */
  constructor(opts: FramerOptions, private readonly strict = true) {
    checkOptions(opts);
    this.max = opts.maxFrame;
    this.nul = opts.nulDelimiter;
    this.drop = opts.onOversize === 'drop';
    this.onEvent = opts.onEvent;
    this.p = new LfPending(opts.maxFrame, this.drop, opts.onEvent);
    // Strict mode reports a line (bad_octet_count): the native run leaves lines to it.
    this.runModes = (strict ? 0 : RUN_LINES) | (this.nul ? RUN_NUL : 0);
  }

  get buffered(): number {
    return this.p.part.len + (this.state === State.Length ? this.nd : 0);
  }

  push(chunk: Buffer, emit: FrameSink): void {
    const len = chunk.length;
    const max = this.max;
    const p = this.p;
    let pos = 0;
    /** Start of the current frame in this chunk; -1 if it began in an earlier chunk. */
    let fs = -1;
    /** Next NUL at or after pos: -2 = not searched yet in this chunk, -1 = none left. */
    let nulAt = this.nul ? -2 : -1;
    /** Next LF at or after pos, the same way (lines that end in NUL leave the LF found further on). */
    let lfAt = -2;

    // (Chunks are socket reads, at most 64 KiB; the addon refuses 4 GiB or more.)
    const run = emit.many !== undefined && nativeOn && len <= 0xffffffff ? nativeOctetFrames() : null;

    while (pos < len) {
      switch (this.state) {
        case State.Start: {
          // Many frames in one native call while they are the common cases (counted, as the
          // one-step path below; a whole line in auto mode): the frames of a chunk but its
          // last, which the chunk's end usually splits.
          if (run !== null && p.part.len === 0) {
            if (this.runSkip > 0) this.runSkip--;
            else {
              const n = run(chunk, pos, max, this.runModes, runOut, runSt);
              // Read before the sink runs: runOut and runSt serve every framer of the thread.
              pos = runSt[0]!;
              if (n > 0) {
                emit.many!(chunk, runOut, n, runSt[1]!);
                this.runBackoff = 1;
              } else {
                // Nothing it takes (lines in strict mode, frames over maxFrame): not worth a call per frame.
                this.runSkip = this.runBackoff;
                this.runBackoff = Math.min(this.runBackoff * 2, RUN_BACKOFF_MAX);
              }
              if (pos === len) return;
            }
          }
          let b = chunk[pos];
          while (b === LF || b === CR || b === NUL) {
            if (++pos === len) return;
            b = chunk[pos];
          }
          fs = pos;
          if (b >= D1 && b <= D9) {
            // The common case in one go: count, SP and the whole body (within maxFrame) in
            // this chunk. Anything else goes through Length and Body, from the first digit.
            if (p.part.len === 0) {
              let q = pos + 1;
              let c = b - D0;
              while (q < len && q - pos < MAX_DIGITS) {
                const d = chunk[q]!;
                if (d < D0 || d > D9) break;
                c = c * 10 + (d - D0);
                q++;
              }
              if (q < len && chunk[q] === SP && c <= max && q + 1 + c <= len) {
                emit(chunk, q + 1, q + 1 + c, 0);
                pos = q + 1 + c;
                break; // still Start
              }
            }
            this.count = b - D0;
            this.nd = 1;
            pos++;
            this.state = State.Length;
          } else {
            this.bad = this.strict;
            this.state = State.LfFallback; // re-reads this byte
          }
          break;
        }

        case State.Length: {
          let c = this.count;
          let nd = this.nd;
          let b = 0;
          while (pos < len) {
            b = chunk[pos];
            if (b < D0 || b > D9 || nd === MAX_DIGITS) break;
            c = c * 10 + (b - D0);
            nd++;
            pos++;
          }
          this.count = c;
          this.nd = nd;
          if (pos === len) break; // the count goes on in the next chunk
          if (b === SP) {
            pos++;
            this.nd = 0;
            this.remaining = c;
            this.state = c > max && this.drop ? State.Skip : State.Body;
          } else {
            this.fallBack(fs, emit);
          }
          break;
        }

        case State.Body: {
          const c = this.count;
          const keep = c <= max ? c : max;
          const flags = c <= max ? 0 : FRAME_TRUNCATED;
          const part = p.part;
          const avail = len - pos;
          if (part.len === 0 && avail >= keep) {
            emit(chunk, pos, pos + keep, flags); // whole (kept) body in this chunk: zero-copy
            pos += keep;
          } else {
            const want = keep - part.len;
            const n = avail < want ? avail : want;
            part.append(chunk, pos, pos + n, keep);
            pos += n;
            if (part.len < keep) break; // pos === len: body goes on in the next chunk
            emit(part.take(), 0, keep, flags);
          }
          if (c === keep) {
            this.state = State.Start;
          } else {
            this.remaining = c - keep;
            this.state = State.Skip;
          }
          break;
        }

        case State.Skip: {
          const avail = len - pos;
          const r = this.remaining;
          if (avail < r) {
            this.remaining = r - avail;
            pos = len;
            break;
          }
          pos += r;
          this.remaining = 0;
          p.report(this.count);
          this.state = State.Start;
          break;
        }

        case State.LfFallback: {
          if (lfAt !== -1 && lfAt < pos) lfAt = chunk.indexOf(LF, pos);
          let e = lfAt;
          if (nulAt !== -1) {
            if (nulAt < pos) nulAt = chunk.indexOf(NUL, pos);
            if (nulAt !== -1 && (e === -1 || nulAt < e)) e = nulAt;
          }
          let n: number;
          if (fs >= 0) {
            // The frame began in this chunk (fs < e: Start never stops on a delimiter).
            if (e === -1) {
              p.extend(chunk, fs, len, emit);
              pos = len;
              break;
            }
            let fe = e;
            if (chunk[fe - 1] === CR) fe--;
            n = fe - fs;
            if (n <= max) emit(chunk, fs, fe, 0);
            else p.oversize(chunk, fs, n, emit);
          } else {
            if (e === -1) {
              p.extend(chunk, pos, len, emit);
              pos = len;
              break;
            }
            n = p.complete(chunk, pos, e, emit);
          }
          if (this.bad) {
            this.bad = false;
            this.onEvent?.('bad_octet_count', n);
          }
          pos = e + 1;
          // Fast path for runs of LF-framed lines (the common case on the auto port): when the
          // next frame plainly is not counted, go straight on with it instead of via Start —
          // unless Start hands the lines to the native run.
          if (pos < len && (run === null || this.runSkip > 0)) {
            const b = chunk[pos]!;
            if ((b < D1 || b > D9) && b !== LF && b !== CR && b !== NUL) {
              fs = pos;
              this.bad = this.strict;
              break; // still LfFallback
            }
          }
          this.state = State.Start;
          break;
        }
      }
    }
  }

  end(emit: FrameSink): void {
    const p = this.p;
    switch (this.state) {
      case State.Start:
        break;
      case State.Length:
        this.fallBack(-1, emit);
        this.onEvent?.('bad_octet_count', p.finish(emit));
        break;
      case State.LfFallback: {
        const n = p.finish(emit);
        if (this.bad) this.onEvent?.('bad_octet_count', n);
        break;
      }
      case State.Body: {
        const got = p.part.len;
        if (!this.drop && got > 0) emit(p.part.take(), 0, got, FRAME_TRUNCATED);
        p.report(got);
        break;
      }
      case State.Skip:
        p.report(this.count - this.remaining);
        break;
    }
    this.state = State.Start;
    this.count = this.nd = this.remaining = 0;
    this.bad = false;
    p.reset();
  }

  /**
   * The count is invalid: the frame becomes an LF frame. If it began in this
   * chunk the LF scan starts from `fs` (zero-copy); otherwise the digits came in
   * earlier chunks and are rebuilt from the count (exact: no leading zero).
   */
  private fallBack(fs: number, emit: FrameSink): void {
    this.bad = true;
    this.state = State.LfFallback;
    if (fs < 0) {
      const digits = Buffer.from(String(this.count), 'latin1');
      this.p.extend(digits, 0, digits.length, emit);
    }
    this.count = this.nd = 0;
  }
}
