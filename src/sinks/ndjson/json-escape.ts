/**
 * Writes bytes as the inside of a JSON string, in one pass over the bytes. ASCII is
 * handled inline: printable bytes are copied, `"` and `\` get a backslash, control
 * bytes become `\n`, `\t`, `\r` or `\u00XX`. Only the first non-ASCII byte sends the
 * rest of the frame to the slow path: decode as UTF-8 (invalid sequences become
 * U+FFFD, exactly as Buffer#toString does) and let JSON.stringify escape it.
 * Syslog frames are overwhelmingly ASCII with quotes in structured data, so the
 * quotes must not leave the fast path.
 */

/** Per byte: 0 copy, 1 backslash + the byte, 2 short escape (\n \t \r \b \f), 3 \u00XX, 4 non-ASCII. */
const CLASS = new Uint8Array(256);
const SHORT = new Uint8Array(32);
const HEX = Buffer.from('0123456789abcdef');
for (let b = 0; b < 256; b++) CLASS[b] = b < 0x20 ? 3 : b >= 0x80 ? 4 : 0;
CLASS[0x22] = 1;
CLASS[0x5c] = 1;
for (const [b, c] of [[0x0a, 'n'], [0x09, 't'], [0x0d, 'r'], [0x08, 'b'], [0x0c, 'f']] as const) {
  CLASS[b] = 2;
  SHORT[b] = c.charCodeAt(0);
}

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
    switch (CLASS[c]) {
      case 0:
        dst[o++] = c;
        break;
      case 1:
        dst[o++] = 0x5c;
        dst[o++] = c;
        break;
      case 2:
        dst[o++] = 0x5c;
        dst[o++] = SHORT[c]!;
        break;
      case 3:
        dst[o++] = 0x5c;
        dst[o++] = 0x75; // u
        dst[o++] = 0x30;
        dst[o++] = 0x30;
        dst[o++] = HEX[c >> 4]!;
        dst[o++] = HEX[c & 15]!;
        break;
      default: {
        const s = JSON.stringify(src.toString('utf8', i, end));
        return o + dst.write(s.slice(1, -1), o, 'utf8');
      }
    }
  }
  return o;
}
