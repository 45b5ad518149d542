/**
 * Growable byte output and bounds-checked byte input with the integer encodings the
 * store's files use (docs/storage.md, "Encodings"):
 *
 *   uvarint   LEB128: 7 bits per byte, low groups first, high bit = more follows;
 *             at most 8 bytes here (values < 2^53, what a JS number holds exactly)
 *   zigzag    signed → unsigned: 0, -1, 1, -2, 2 … → 0, 1, 2, 3, 4 …
 *   u32/f64   little-endian, fixed width
 *
 * ByteReader never reads past its end: a truncated or corrupt input throws
 * CorruptError, which callers turn into "this block / entry is damaged".
 */

export class CorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptError';
  }
}

/** uvarint of 0 ≤ v < 2^32 at buf[p] (room checked by the caller); returns the position after it. */
export function putUvarint(buf: Uint8Array, p: number, v: number): number {
  while (v >= 0x80) {
    buf[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[p++] = v;
  return p;
}

export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  reset(): void {
    this.pos = 0;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Unsigned LEB128 of a non-negative integer < 2^53. */
  uvarint(v: number): void {
    this.ensure(8);
    const b = this.buf;
    let p = this.pos;
    if (v < 0x80) {
      b[p++] = v;
      this.pos = p;
      return;
    }
    // Below 2^31 bit operations are exact; above, divide.
    while (v >= 0x80000000) {
      b[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** Zigzag + LEB128 of an integer with |v| < 2^52. */
  svarint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bytes(src: Uint8Array, start = 0, end = src.length): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += n;
  }

  /** uvarint length, then the bytes. */
  lenBytes(src: Uint8Array, start = 0, end = src.length): void {
    this.uvarint(end - start);
    this.bytes(src, start, end);
  }

  /** uvarint length, then the UTF-8 of s. */
  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.uvarint(n);
    this.ensure(n);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += n;
  }

  /** The bytes written so far (a view, valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class ByteReader {
  pos: number;

  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new CorruptError(`truncated: need ${n} bytes at ${this.pos}, ${this.end - this.pos} left`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }

  f64(): number {
    this.need(8);
    const v = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.pos, 8).readDoubleLE(0);
    this.pos += 8;
    return v;
  }

  uvarint(): number {
    const b = this.buf;
    let p = this.pos;
    const end = this.end;
    if (p < end && b[p]! < 0x80) {
      this.pos = p + 1;
      return b[p]!;
    }
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (p >= end) throw new CorruptError(`truncated varint at ${this.pos}`);
      const c = b[p++]!;
      v += (c & 0x7f) * mul;
      if (c < 0x80) {
        this.pos = p;
        return v;
      }
      mul *= 128;
    }
    throw new CorruptError(`varint longer than 8 bytes at ${this.pos}`);
  }

  svarint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** n bytes as a view of the input. */
  bytes(n: number): Uint8Array {
    if (n < 0) throw new CorruptError(`negative length ${n}`);
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A uvarint length, then that many bytes (a view). */
  lenBytes(): Uint8Array {
    return this.bytes(this.uvarint());
  }

  string(): string {
    const v = this.lenBytes();
    return Buffer.from(v.buffer, v.byteOffset, v.length).toString('utf8');
  }
}
