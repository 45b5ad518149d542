/**
 * The UTF-8 byte order mark (EF BB BF). Some senders put one before a message, a
 * line or a body (RFC 5424 §6.4 allows it before MSG; RFC 8259 §8.1 lets a JSON
 * parser skip it); it is never content.
 */

/** Position p, or just after a BOM that starts at p and ends by `end`. */
export function skipBom(buf: Uint8Array, p: number, end: number): number {
  return p + 3 <= end && buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf ? p + 3 : p;
}
