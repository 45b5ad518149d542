/**
 * Writes bytes as the inside of a JSON string. The fast path copies bytes that need
 * no escaping (printable ASCII other than `"` and `\`) one by one; this loop is the
 * whole cost of the NDJSON output, so it stays a single tight pass. Anything else
 * (control bytes, non-ASCII, which may be invalid UTF-8) takes the slow path: decode
 * as UTF-8 with U+FFFD for invalid sequences and let JSON.stringify escape it.
 */

/** Upper bound of the escaped size of `len` input bytes (a control byte becomes `\u00XX`, 6 bytes). */
export function maxEscapedLength(len: number): number {
  return len * 6;
}

/**
 * Escapes src[start, end) into dst at `at`; dst must have maxEscapedLength(end - start)
 * bytes free. Returns the new write position.
 */
export function writeJsonStringBody(dst: Buffer, at: number, src: Buffer, start: number, end: number): number {
  let o = at;
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
      dst[o++] = c;
      continue;
    }
    // Slow path for the rest of the frame from the first byte that needs care.
    const s = JSON.stringify(src.toString('utf8', i, end));
    return o + dst.write(s.slice(1, -1), o, 'utf8');
  }
  return o;
}
