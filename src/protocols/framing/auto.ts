/**
 * Auto-detection, per frame, on one stream: at each frame start a digit 1-9
 * means "try octet counting" (RFC 6587 `MSG-LEN SP MSG`), anything else means an
 * LF-delimited frame. Senders that mix both on one connection (or that switch
 * after a reconnect through a relay) are handled frame by frame.
 *
 * This is the same state machine as `octet` mode (octet.ts), built non-strict:
 *
 *   first byte of a frame     | mode 'octet'                | mode 'auto'
 *   --------------------------+-----------------------------+------------------------
 *   1-9, valid count, SP      | counted frame               | counted frame
 *   1-9, then invalid         | bad_octet_count, LF frame   | bad_octet_count, LF frame
 *   anything else             | bad_octet_count, LF frame   | LF frame (no event)
 *
 * In pure 'lf' mode (lf.ts) digits are never interpreted.
 *
 * The one ambiguity is inherent to the scheme: an LF-framed line that starts
 * with digits and a space ("42 is the answer") *is* a valid count in auto mode.
 * Syslog lines start with '<' (PRI) and JSON with '{', so in practice auto mode
 * is safe for those; use 'lf' for free-form text whose lines may start with a number.
 */
import type { Framer, FramerOptions } from './framer.js';
import { OctetFramer } from './octet.js';

export function createAutoFramer(opts: FramerOptions): Framer {
  return new OctetFramer(opts, false);
}
