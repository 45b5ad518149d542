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

/** Emits the frame of one datagram as a zero-copy view of `buf`. Returns the number of frames emitted (0 or 1). */
export function frameDatagram(buf: Buffer, opts: DatagramOptions, emit: FrameSink): number {
  let end = buf.length;
  if (end !== 0) {
    const last = buf[end - 1];
    if (last === LF) {
      end--;
      if (end !== 0 && buf[end - 1] === CR) end--;
    } else if (last === NUL) {
      end--;
    }
  }
  if (end === 0) return 0;
  const max = opts.maxFrame;
  if (end <= max) {
    emit(buf, 0, end, 0);
    return 1;
  }
  if (opts.onOversize === 'drop') {
    opts.onEvent?.('oversize_dropped', end);
    return 0;
  }
  emit(buf, 0, max, FRAME_TRUNCATED);
  opts.onEvent?.('truncated', end);
  return 1;
}
