/**
 * A growable byte arena: appends return where the bytes went. Short ranges are copied
 * byte by byte — a native copy costs more than it saves there, and taking a subarray
 * would allocate per call. Block builders keep their text in arenas, and byte
 * dictionaries their entries.
 */
export class Arena {
  buf: Buffer;
  used = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Makes room for len bytes at the end and returns where they go (the caller writes them). */
  reserve(len: number): number {
    const at = this.used;
    if (at + len > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, at + len));
      this.buf.copy(next, 0, 0, at);
      this.buf = next;
    }
    this.used = at + len;
    return at;
  }

  /** Appends src[start, end); returns where it went. */
  put(src: Buffer, start: number, end: number): number {
    const len = end - start;
    const at = this.reserve(len);
    if (len < 48) {
      const b = this.buf;
      for (let i = 0; i < len; i++) b[at + i] = src[start + i]!;
    } else src.copy(this.buf, at, start, end);
    return at;
  }
}
