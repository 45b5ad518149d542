/**
 * Framing: bytes → frames. A framer is an incremental state machine fed with
 * whatever chunks the socket hands us; it emits each complete frame exactly once,
 * in order, whatever the split of the input. It never buffers more than
 * `maxFrame` bytes of one frame (plus the few bytes of an octet-count prefix).
 *
 * Framing is kept apart from parsing: a frame is just a byte range.
 */

/** Per-frame flags carried next to each frame through the pipeline. */
export const FRAME_TRUNCATED = 1;

/**
 * Receives a frame: bytes `buf[start, end)`. Frames inside one input chunk are
 * zero-copy views of that chunk; a frame that straddles chunks is assembled into
 * a fresh buffer. The callee must not keep `buf` past the call unless it owns it
 * (the pipeline keeps chunks alive by reference, which is fine: Node never reuses
 * a chunk once it has been handed to a 'data' listener).
 */
export type FrameSink = ((buf: Buffer, start: number, end: number, flags: number) => void) & {
  /**
   * Optional: n frames of `buf` at once, none flagged, their [start, end) in
   * offsets[0, 2n), `bytes` in all; the same as n calls, in order. A framer that finds
   * many frames in one go (octet.ts) hands them over so. `offsets` is the framer's
   * scratch memory: valid only during the call.
   */
  many?: (buf: Buffer, offsets: Uint32Array, n: number, bytes: number) => void;
};

/** What the framer reports besides frames, so the listener can count it and name the peer. */
export type FramingEventKind =
  | 'truncated'         // frame longer than maxFrame, cut to maxFrame and emitted with FRAME_TRUNCATED
  | 'oversize_dropped'  // frame longer than maxFrame, dropped whole (onOversize = 'drop')
  | 'bad_octet_count';  // a frame that looked octet-counted but whose count was invalid (fell back to LF)

export type FramingEvent = (kind: FramingEventKind, frameBytes: number) => void;

export type FramingMode = 'lf' | 'octet' | 'auto';

export interface FramerOptions {
  mode: FramingMode;
  /** Largest frame emitted, in bytes (default 64 KiB). */
  maxFrame: number;
  /** What to do with a longer frame: cut it to maxFrame and flag it, or drop it. */
  onOversize: 'truncate' | 'drop';
  /** Treat NUL as a frame terminator as well as LF (GELF/TCP, some syslog senders). */
  nulDelimiter: boolean;
  onEvent?: FramingEvent;
}

export interface Framer {
  /** Feed one chunk; emits every frame it completes. */
  push(chunk: Buffer, emit: FrameSink): void;
  /** End of stream: emits a final unterminated frame, if any, and resets. */
  end(emit: FrameSink): void;
  /** Bytes currently held for an incomplete frame (for memory accounting). */
  readonly buffered: number;
}
