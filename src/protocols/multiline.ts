/**
 * Multiline joining: continuation lines (stack traces sent as raw lines over a stream
 * connection) are joined with "\n" into one record. A MultilineJoiner sits between a
 * connection's framer and its BatchBuilder: it takes frames (its `push` is a FrameSink)
 * and emits joined records to the FrameSink it was given.
 *
 *   framer ──frames──► joiner.push ──records──► builder.emit
 *
 * ## Which line starts a record
 *
 * pattern mode: a line whose first ≤ 1 KiB, decoded as UTF-8, matches `pattern` starts a
 * new record; any other line continues the pending one. (UTF-8 so that patterns with
 * non-ASCII text work as written; a character cut at the 1 KiB mark decodes as U+FFFD.
 * `g`/`y` flags are dropped from the pattern: `test` must not carry state between lines.)
 *
 * indent mode (byte checks only, no regex), while a record is pending a line CONTINUES it when:
 *   1. it starts with a space or a tab (Java `\tat …`, `\t... 5 more`, `\tSuppressed: …`;
 *      Python `  File "…"` and source lines; .NET `   at …`; anything indented);
 *   2. it starts with `Caused by: ` (Java chained cause);
 *   3. it starts with `... N more` or `... N common frames omitted` (N = digits; Java and
 *      logback frame elision, should a formatter print it unindented);
 *   4. Python: the record is inside a traceback (it started with, or has since continued
 *      with, `Traceback (most recent call last):`) and this is the first unindented line
 *      after that header: the exception line (`ValueError: …`). It ends the traceback;
 *   5. Python chained exceptions: right after such an exception line, the line
 *      `During handling of the above exception, another exception occurred:` or
 *      `The above exception was the direct cause of the following exception:`, and then a
 *      `Traceback (most recent call last):` line right after that marker (which opens a
 *      traceback again, rule 4). (The blank lines around the markers never reach us: the
 *      framer skips empty frames.)
 * Every other line, and an empty line, starts a new record. So a traceback that follows an
 * unindented log line (Python's logger.exception, Java's `ERROR …` then
 * `java.lang.X: …`) is a record of its own: use pattern mode to keep such a log line and
 * its trace together. A multi-line exception message (unindented lines after
 * `ValueError: …`) is not caught either.
 *
 * ## When a record is emitted
 *  - when a line that starts a new record arrives;
 *  - when it reaches `maxLines` lines (at once, flags unchanged);
 *  - when the next continuation line would take it past `maxBytes` (joined size, "\n"
 *    included): it is emitted flagged FRAME_TRUNCATED (it was cut: what follows goes on in
 *    a new record) and that line starts a new record. A single line longer than maxBytes
 *    (possible only when maxBytes < the framer's max frame) is cut to maxBytes and flagged;
 *  - when no line arrived for `timeoutMs` (checked on a tick of timeoutMs/4, so between
 *    timeoutMs and 1.25 × timeoutMs after the last line); then `onTimeout()` is called so
 *    the caller can flush its batch;
 *  - `flush()` (end of connection, shutdown).
 * FRAME_TRUNCATED on an input line carries over to its record.
 *
 * ## Memory
 * Input buffers are recycled by the caller after each call, so line bytes are copied. The
 * pending record is built in place at the tail of an arena (256 KiB chunks, a new chunk
 * when the record would not fit; bytes handed out are never written again), so emitting a
 * record is handing out a view `(arena, start, end)` and consecutive records share one
 * buffer (one batch). The arena is shared by every joiner of the process (as the batch
 * offsets pool is): idle connections hold no arena. Only one joiner owns the arena's tail
 * at a time; when another one needs it, the owner's pending record moves to the owner's
 * private buffer (≤ maxBytes) and moves back on its next line. Memory is thus bounded by
 * maxBytes per joiner plus the current arena chunk.
 *
 * Timer: one per joiner, created on the first pending line, unref'd, re-armed with
 * refresh() (never recreated) while a record is pending, idle otherwise; cleared by
 * flush() and close().
 */
import { FRAME_TRUNCATED, type FrameSink } from './framing/framer.js';

export const DEFAULT_MULTILINE_MAX_LINES = 500;
export const DEFAULT_MULTILINE_MAX_BYTES = 64 * 1024;
export const DEFAULT_MULTILINE_TIMEOUT_MS = 1_000;
/** Bytes of a line the start pattern is tested against. */
export const MULTILINE_PATTERN_PREFIX = 1024;
export const MULTILINE_ARENA_BYTES = 256 * 1024;

export type MultilineMode = 'indent' | 'pattern';

export interface MultilineOptions {
  mode: MultilineMode;
  /** pattern mode: a line matching it starts a new record. Required in pattern mode. */
  pattern?: RegExp;
  /** Most lines in one record (default 500). */
  maxLines?: number;
  /** Largest joined record in bytes; the listener passes its max frame (default 64 KiB). */
  maxBytes?: number;
  /** A pending record is emitted when no line arrived for this long (default 1,000 ms). */
  timeoutMs?: number;
  /** Arena to build records in (default: the one shared by the process). For tests. */
  arena?: MultilineArena;
}

/**
 * Memory records are built in: the free tail of `buf` from `used` on. Bytes below
 * `used` have been handed out and are never written again; a full chunk is dropped
 * (the batches holding views of it keep it alive) and a fresh one started.
 */
export class MultilineArena {
  buf: Buffer | null = null;
  used = 0;
  /** The joiner whose pending record lies at buf[used, used + owner.len), if any. */
  owner: MultilineJoiner | null = null;

  constructor(readonly chunkBytes: number = MULTILINE_ARENA_BYTES) {}

  /** Starts a fresh chunk of at least `need` bytes. */
  renew(need: number): Buffer {
    const buf = Buffer.allocUnsafe(Math.max(this.chunkBytes, need));
    this.buf = buf;
    this.used = 0;
    return buf;
  }
}

let sharedArena: MultilineArena | null = null;

const SP = 0x20;
const TAB = 0x09;
const LF = 0x0a;

const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'latin1'));
const CAUSED_BY = bytes('Caused by: ');
const ELLIPSIS = bytes('... ');
const MORE = bytes(' more');
const FRAMES_OMITTED = bytes(' common frames omitted');
const TRACEBACK = bytes('Traceback (most recent call last):');
const DURING_HANDLING = bytes('During handling of the above exception, another exception occurred:');
const DIRECT_CAUSE = bytes('The above exception was the direct cause of the following exception:');

function hasAt(buf: Buffer, at: number, end: number, s: Uint8Array): boolean {
  const n = s.length;
  if (end - at < n) return false;
  for (let i = 0; i < n; i++) if (buf[at + i] !== s[i]) return false;
  return true;
}

/** `... N more` / `... N common frames omitted` at the start of the line. */
function isElision(buf: Buffer, start: number, end: number): boolean {
  if (!hasAt(buf, start, end, ELLIPSIS)) return false;
  let i = start + ELLIPSIS.length;
  const digits = i;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) i++;
  if (i === digits) return false;
  return hasAt(buf, i, end, MORE) || hasAt(buf, i, end, FRAMES_OMITTED);
}

// Python traceback state of the pending record (rules 4 and 5).
const PY_NONE = 0;
const PY_TRACEBACK = 1; // inside a traceback: the next unindented line is its exception line
const PY_DONE = 2;      // right after the exception line: a chain marker may follow
const PY_CHAIN = 3;     // right after a chain marker: a Traceback header may follow

function positiveInt(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`multiline: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export class MultilineJoiner {
  readonly mode: MultilineMode;
  readonly maxLines: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  private readonly pattern: RegExp | null;
  private readonly arena: MultilineArena;

  /** Pending record: `lines` lines (0 = none), `len` bytes, OR of the lines' flags. */
  private lines = 0;
  /** Bytes of the pending record (at the arena tail when we own it, else in `own`). */
  private len = 0;
  private flags = 0;
  private py = PY_NONE;
  /** Where the pending record waits while another joiner owns the arena tail. */
  private own: Buffer | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The timer is scheduled (not yet fired, not cleared). */
  private armed = false;
  /** A line arrived since the last tick. */
  private active = false;
  /** Ticks in a row without a line. */
  private quiet = 0;
  private readonly tickMs: number;
  private readonly quietTicks: number;

  constructor(
    opts: MultilineOptions,
    private readonly emit: FrameSink,
    private readonly onTimeout: () => void,
  ) {
    if (opts.mode !== 'indent' && opts.mode !== 'pattern') {
      throw new RangeError(`multiline: mode must be 'indent' or 'pattern', got ${String(opts.mode)}`);
    }
    this.mode = opts.mode;
    if (opts.mode === 'pattern') {
      if (!(opts.pattern instanceof RegExp)) throw new RangeError('multiline: pattern mode needs a pattern');
      const flags = opts.pattern.flags.replace(/[gy]/g, '');
      this.pattern = new RegExp(opts.pattern.source, flags);
    } else {
      this.pattern = null;
    }
    this.maxLines = positiveInt('maxLines', opts.maxLines, DEFAULT_MULTILINE_MAX_LINES);
    this.maxBytes = positiveInt('maxBytes', opts.maxBytes, DEFAULT_MULTILINE_MAX_BYTES);
    this.timeoutMs = positiveInt('timeoutMs', opts.timeoutMs, DEFAULT_MULTILINE_TIMEOUT_MS);
    this.tickMs = Math.max(1, Math.floor(this.timeoutMs / 4));
    this.quietTicks = Math.ceil(this.timeoutMs / this.tickMs);
    this.arena = opts.arena ?? (sharedArena ??= new MultilineArena());
  }

  /** Lines in the pending record (0 when none). */
  get pendingLines(): number {
    return this.lines;
  }

  /** Bytes held for the pending record (for memory accounting). */
  get pendingBytes(): number {
    return this.len;
  }

  /** The FrameSink handed to the framer: one line in. */
  readonly push: FrameSink = (buf, start, end, flags) => {
    if (this.lines !== 0) {
      if (this.continues(buf, start, end)) {
        const n = end - start;
        if (this.len + 1 + n > this.maxBytes) {
          this.flags |= FRAME_TRUNCATED;
          this.emitPending();
        } else {
          this.append(buf, start, end, flags);
          if (this.lines >= this.maxLines) this.emitPending();
          this.touch();
          return;
        }
      } else {
        this.emitPending();
      }
    }
    this.startRecord(buf, start, end, flags);
    if (this.lines >= this.maxLines) this.emitPending();
    this.touch();
  };

  /** Whether the line continues the pending record (indent mode updates the Python state). */
  private continues(buf: Buffer, start: number, end: number): boolean {
    if (this.pattern !== null) {
      const text = buf.toString('utf8', start, Math.min(end, start + MULTILINE_PATTERN_PREFIX));
      return !this.pattern.test(text);
    }
    if (end === start) return false;
    const c = buf[start]!;
    if (c === SP || c === TAB) return true;
    const py = this.py;
    if (py === PY_TRACEBACK) {
      this.py = PY_DONE;
      return true;
    }
    if (c === 0x43 /* C */ && hasAt(buf, start, end, CAUSED_BY)) return true;
    if (c === 0x2e /* . */ && isElision(buf, start, end)) return true;
    if (py === PY_DONE && (hasAt(buf, start, end, DURING_HANDLING) || hasAt(buf, start, end, DIRECT_CAUSE))) {
      this.py = PY_CHAIN;
      return true;
    }
    if (py === PY_CHAIN && hasAt(buf, start, end, TRACEBACK)) {
      this.py = PY_TRACEBACK;
      return true;
    }
    return false;
  }

  private startRecord(buf: Buffer, start: number, end: number, flags: number): void {
    if (end - start > this.maxBytes) {
      end = start + this.maxBytes;
      flags |= FRAME_TRUNCATED;
    }
    this.py = this.pattern === null && hasAt(buf, start, end, TRACEBACK) ? PY_TRACEBACK : PY_NONE;
    const n = end - start;
    const a = this.tail(n);
    buf.copy(a.buf!, a.used, start, end);
    this.len = n;
    this.lines = 1;
    this.flags = flags;
  }

  private append(buf: Buffer, start: number, end: number, flags: number): void {
    const n = end - start;
    const a = this.tail(this.len + 1 + n);
    const at = a.used + this.len;
    const dst = a.buf!;
    dst[at] = LF;
    buf.copy(dst, at + 1, start, end);
    this.len += 1 + n;
    this.lines++;
    this.flags |= flags;
  }

  /**
   * Makes this joiner the owner of the arena tail with the pending record (`len` bytes)
   * at `used` and room for `need` bytes in all.
   */
  private tail(need: number): MultilineArena {
    const a = this.arena;
    if (a.owner !== this) {
      a.owner?.evict();
      a.owner = this;
      if (a.buf === null || a.used + need > a.buf.length) a.renew(need);
      if (this.len !== 0) {
        this.own!.copy(a.buf!, a.used, 0, this.len);
        if (this.own!.length > 16 * 1024) this.own = null;
      }
    } else if (a.used + need > a.buf!.length) {
      const old = a.buf!;
      const from = a.used;
      a.renew(need);
      old.copy(a.buf!, 0, from, from + this.len);
    }
    return a;
  }

  /** Another joiner needs the arena tail: the pending record moves to our own buffer. */
  private evict(): void {
    const a = this.arena;
    a.owner = null;
    if (this.len === 0) return;
    if (this.own === null || this.own.length < this.len) {
      this.own = Buffer.allocUnsafe(Math.min(Math.max(this.len * 2, 1024), this.maxBytes));
    }
    a.buf!.copy(this.own, 0, a.used, a.used + this.len);
  }

  /** Hands the pending record on (if any) as a view of the arena. */
  private emitPending(): void {
    if (this.lines === 0) return;
    const a = this.tail(this.len);
    const buf = a.buf!;
    const start = a.used;
    const end = start + this.len;
    const flags = this.flags;
    a.used = end;
    a.owner = null;
    this.lines = 0;
    this.len = 0;
    this.flags = 0;
    this.py = PY_NONE;
    this.emit(buf, start, end, flags);
  }

  /**
   * A line arrived. The quiet timer ticks every timeoutMs/4 while a record is pending and
   * emits it after 4 ticks in a row without a line: between timeoutMs and 1.25 × timeoutMs
   * after the last line. Per line that costs a flag store, where re-arming the timer on
   * every line (Timeout.refresh) cost ~45 ns a line, a third of the joiner's time.
   */
  private touch(): void {
    if (this.lines === 0) return;
    this.active = true;
    if (this.armed) return;
    this.armed = true;
    this.quiet = 0;
    if (this.timer === null) {
      this.timer = setTimeout(this.onTick, this.tickMs);
      this.timer.unref();
    } else {
      this.timer.refresh();
    }
  }

  private readonly onTick = (): void => {
    if (this.lines === 0) {
      this.armed = false;
      return;
    }
    if (this.active) {
      this.active = false;
      this.quiet = 0;
    } else if (++this.quiet >= this.quietTicks) {
      this.armed = false;
      this.emitPending();
      this.onTimeout();
      return;
    }
    this.timer!.refresh();
  };

  /** Emits the pending record, if any, and stops the timer (end of connection, shutdown). */
  flush(): void {
    this.emitPending();
    this.stopTimer();
  }

  /** Stops the timer and frees memory. A pending record is discarded: call flush() first to keep it. */
  close(): void {
    this.stopTimer();
    if (this.arena.owner === this) this.arena.owner = null;
    this.lines = 0;
    this.len = 0;
    this.flags = 0;
    this.py = PY_NONE;
    this.own = null;
  }

  private stopTimer(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.armed = false;
  }
}
