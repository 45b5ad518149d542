/**
 * Datagram framing (UDP, unix datagram sockets): one datagram is one frame
 * (RFC 5426), so there is no state and no copy. One trailing delimiter is
 * stripped — CRLF, LF or NUL (some senders NUL-terminate C strings; it is never
 * payload) — and maxFrame applies as for streams: truncate (emit the first
 * maxFrame bytes flagged FRAME_TRUNCATED) or drop, reporting the event with the
 * datagram's content length. An empty datagram yields nothing.
 */
import { FRAME_TRUNCATED, type FrameSink, type FramerOptions } from './framer.js';
import { CR, LF, NUL } from './common.js';

export type DatagramOptions = Pick<FramerOptions, 'maxFrame' | 'onOversize' | 'onEvent'>;

/**
 * Emits the frame of one datagram, `buf[start, end)` (the whole buffer by default,
 * or one datagram of a batch received together), as a zero-copy view. Returns the
 * number of frames emitted (0 or 1).
 */
export function frameDatagram(buf: Buffer, opts: DatagramOptions, emit: FrameSink, start = 0, end = buf.length): number {
  if (end !== start) {
    const last = buf[end - 1];
    if (last === LF) {
      end--;
      if (end !== start && buf[end - 1] === CR) end--;
    } else if (last === NUL) {
      end--;
    }
  }
  const len = end - start;
  if (len === 0) return 0;
  const max = opts.maxFrame;
  if (len <= max) {
    emit(buf, start, end, 0);
    return 1;
  }
  if (opts.onOversize === 'drop') {
    opts.onEvent?.('oversize_dropped', len);
    return 0;
  }
  emit(buf, start, start + max, FRAME_TRUNCATED);
  opts.onEvent?.('truncated', len);
  return 1;
}
