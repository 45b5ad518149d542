/**
 * Message templates for the load generator.
 *
 * A template is one complete wire frame of exactly `size` bytes for one
 * connection (its connection id is baked in), with the sequence number as a
 * fixed-width run of digits at a known offset. A chunk is the template copied
 * `count` times into one Buffer; sending the next chunk only rewrites the
 * sequence digits of each message in place, so generation costs a handful of
 * byte writes per message (the copies are made once, when a chunk buffer is
 * first allocated, and chunk buffers are recycled).
 *
 * Sequence numbers are global: the runner hands out contiguous blocks from one
 * counter shared by all connections (see runner.ts), so across a run every
 * message has a distinct seq in 0..N-1 and, within one connection, seqs are
 * strictly increasing (but not contiguous when there are several connections).
 *
 * What a message looks like (conn=3, seq=123):
 *   rfc5424: <134>1 2026-11-22T10:00:00.000000Z bench-host ringlog-bench 4242 - [bench@32473 conn="3" seq="000000123"] FILLER
 *   rfc3164: <134>Nov 22 10:00:00 bench-host ringlog-bench[4242]: conn=3 seq=000000123 FILLER
 *   json:    {"time":"2026-11-22T10:00:00Z","level":"info","host":"bench-host","app":"ringlog-bench","conn":3,"seq":      123,"msg":"FILLER"}
 * (JSON numbers may not have leading zeros, so there the digits are right-aligned
 * in a field padded with spaces, which JSON allows between tokens.)
 *
 * Framing and size: `size` is the size of one frame on the wire.
 *   lf:    MSG (size - 1 bytes) + "\n"
 *   octet: "LEN SP MSG" (RFC 6587 octet counting), LEN = byte length of MSG, and
 *          len("LEN SP") + LEN = size. One size per digit count cannot be split
 *          exactly (12, 103, 1004, ...): those are rejected with a hint.
 * Datagram transports send one message per datagram, framed as lf (the trailing
 * LF is harmless); octet framing is refused there.
 */

export type MessageFormat = 'rfc5424' | 'rfc3164' | 'json';
export type Framing = 'lf' | 'octet';

export const FORMATS: readonly MessageFormat[] = ['rfc5424', 'rfc3164', 'json'];
export const FRAMINGS: readonly Framing[] = ['lf', 'octet'];

/** Width of the sequence-number field: seqs up to 999,999,999. */
export const SEQ_WIDTH = 9;
export const MAX_SEQ = 10 ** SEQ_WIDTH - 1;

/** Largest frame we generate (one datagram must stay under 64 KiB anyway). */
export const MAX_SIZE = 1 << 20;

const HOST = 'bench-host';
const APP = 'ringlog-bench';
const PROCID = '4242';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Deterministic filler: lowercase words separated by spaces, safe in every format. */
const FILLER = (() => {
  let x = 0x2545f491;
  let out = '';
  while (out.length < 4096) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const len = 2 + ((x >>> 16) % 8);
    for (let i = 0; i < len; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out += String.fromCharCode(97 + ((x >>> 16) % 26));
    }
    out += ' ';
  }
  return out;
})();

function filler(n: number): string {
  let s = '';
  while (s.length < n) s += FILLER;
  s = s.slice(0, n);
  // Never end a message on a space: some receivers trim trailing whitespace.
  if (n > 0 && s.endsWith(' ')) s = s.slice(0, -1) + 'x';
  return s;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Header and trailer of one message (without framing), seq field written as SEQ_WIDTH placeholder chars. */
interface Parts {
  head: string;      // everything before the seq digits
  afterSeq: string;  // between the seq digits and the filler
  tail: string;      // after the filler
  pad: number;       // pad byte of the seq field: '0' or ' '
}

function parts(format: MessageFormat, conn: number, time: Date): Parts {
  switch (format) {
    case 'rfc5424': {
      const ts = time.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
      return {
        head: `<134>1 ${ts} ${HOST} ${APP} ${PROCID} - [bench@32473 conn="${conn}" seq="`,
        afterSeq: '"] ',
        tail: '',
        pad: 0x30,
      };
    }
    case 'rfc3164': {
      const day = time.getUTCDate();
      const ts = `${MONTHS[time.getUTCMonth()]} ${day < 10 ? ` ${day}` : day} ` +
        `${pad2(time.getUTCHours())}:${pad2(time.getUTCMinutes())}:${pad2(time.getUTCSeconds())}`;
      return {
        head: `<134>${ts} ${HOST} ${APP}[${PROCID}]: conn=${conn} seq=`,
        afterSeq: ' ',
        tail: '',
        pad: 0x30,
      };
    }
    case 'json':
      return {
        head: `{"time":"${time.toISOString().replace(/\.\d{3}Z$/, 'Z')}","level":"info","host":"${HOST}","app":"${APP}","conn":${conn},"seq":`,
        afterSeq: ',"msg":"',
        tail: '"}',
        pad: 0x20,
      };
  }
}

/**
 * Length of MSG for an octet-counted frame of `size` bytes, or -1 if no
 * split "LEN SP MSG" adds up to exactly `size`.
 */
export function octetBodyLength(size: number): number {
  for (let d = 1; d <= 8; d++) {
    const len = size - d - 1;
    if (len >= 1 && String(len).length === d) return len;
  }
  return -1;
}

/** Smallest frame size that fits the header for this format/framing/connection id. */
export function minSize(format: MessageFormat, framing: Framing, conn: number): number {
  const p = parts(format, conn, new Date(0));
  const body = Buffer.byteLength(p.head) + SEQ_WIDTH + Buffer.byteLength(p.afterSeq) + Buffer.byteLength(p.tail);
  if (framing === 'lf') return body + 1;
  let s = body + 2;
  while (octetBodyLength(s) < body) s++;
  return s;
}

export interface TemplateOptions {
  format: MessageFormat;
  framing: Framing;
  /** Frame size on the wire, in bytes. */
  size: number;
  /** Connection id baked into the message. */
  conn: number;
  /** Timestamp written into every message (default: now). */
  time?: Date;
}

/** One frame for one connection; patch seq digits in place with `writeSeq`. */
export class MessageTemplate {
  readonly frame: Buffer;
  readonly size: number;
  /** Offset of the first seq digit inside the frame. */
  readonly seqOffset: number;
  readonly pad: number;
  readonly format: MessageFormat;
  readonly framing: Framing;
  readonly conn: number;

  constructor(opts: TemplateOptions) {
    const { format, framing, size, conn } = opts;
    if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) {
      throw new RangeError(`--size must be an integer between 1 and ${MAX_SIZE}, got ${size}`);
    }
    const min = minSize(format, framing, conn);
    if (size < min) {
      throw new RangeError(`--size ${size} is too small for ${format}/${framing} messages (minimum ${min} bytes)`);
    }
    const p = parts(format, conn, opts.time ?? new Date());
    let prefix = '';
    let bodyLen: number;
    let terminator = '';
    if (framing === 'lf') {
      bodyLen = size - 1;
      terminator = '\n';
    } else {
      bodyLen = octetBodyLength(size);
      if (bodyLen < 0) {
        throw new RangeError(
          `--size ${size} cannot be framed exactly with octet counting ("LEN SP MSG"); use ${size - 1} or ${size + 1}`);
      }
      prefix = `${bodyLen} `;
    }
    const fixed = Buffer.byteLength(p.head) + SEQ_WIDTH + Buffer.byteLength(p.afterSeq) + Buffer.byteLength(p.tail);
    const text = prefix + p.head + String.fromCharCode(p.pad).repeat(SEQ_WIDTH) + p.afterSeq +
      filler(bodyLen - fixed) + p.tail + terminator;
    const frame = Buffer.from(text, 'latin1');
    if (frame.length !== size) throw new Error(`internal: template is ${frame.length} bytes, wanted ${size}`);
    this.frame = frame;
    this.size = size;
    this.seqOffset = prefix.length + p.head.length;
    this.pad = p.pad;
    this.format = format;
    this.framing = framing;
    this.conn = conn;
  }

  /** Writes `seq` into the message that starts at `offset` of `buf`. */
  writeSeq(buf: Buffer, offset: number, seq: number): void {
    let pos = offset + this.seqOffset + SEQ_WIDTH - 1;
    const stop = offset + this.seqOffset;
    let n = seq;
    do {
      const q = (n / 10) | 0;
      buf[pos--] = 0x30 + (n - q * 10);
      n = q;
    } while (n > 0 && pos >= stop);
    const pad = this.pad;
    while (pos >= stop) buf[pos--] = pad;
  }

  /** A new chunk buffer holding `count` copies of the template (seq digits unset). */
  newChunk(count: number): Buffer {
    const size = this.size;
    const buf = Buffer.allocUnsafeSlow(count * size);
    // Doubling copies: log2(count) memcpys instead of count.
    this.frame.copy(buf, 0);
    let filled = size;
    const total = count * size;
    while (filled < total) {
      const n = Math.min(filled, total - filled);
      buf.copy(buf, filled, 0, n);
      filled += n;
    }
    return buf;
  }

  /** Patches messages 0..count-1 of `chunk` with seqs start..start+count-1. */
  patch(chunk: Buffer, start: number, count: number): void {
    const size = this.size;
    for (let i = 0, off = 0; i < count; i++, off += size) this.writeSeq(chunk, off, start + i);
  }

  /** Builds one complete frame for `seq` (tests and debugging; not the hot path). */
  render(seq: number): Buffer {
    const buf = Buffer.from(this.frame);
    this.writeSeq(buf, 0, seq);
    return buf;
  }
}

/** How many messages of `size` bytes go in one ~256 KiB chunk. */
export function messagesPerChunk(size: number, chunkBytes = 256 * 1024): number {
  return Math.max(1, Math.floor(chunkBytes / size));
}

const RE_5424 = /conn="(\d+)" seq="(\d+)"/;
const RE_3164 = /conn=(\d+) seq=(\d+)/;
const RE_JSON = /"conn":\s*(\d+)\s*,\s*"seq":\s*(\d+)/;

/**
 * Extracts the connection id and sequence number from a stored message text
 * (any format, with or without framing). Returns null if there is none.
 */
export function parseSeq(text: string): { conn: number; seq: number } | null {
  const m = RE_5424.exec(text) ?? RE_3164.exec(text) ?? RE_JSON.exec(text);
  if (!m) return null;
  return { conn: Number(m[1]), seq: Number(m[2]) };
}

/**
 * The connection id and sequence number of a parsed record (the NDJSON record
 * form): from the fields the formats put them in (RFC 5424 structured data
 * `bench@32473.conn/seq`, JSON keys `conn`/`seq`), else from the message text
 * (RFC 3164, raw). Null if there is none.
 */
export function seqOfRecord(rec: { message: string; fields?: Record<string, string> }): { conn: number; seq: number } | null {
  const f = rec.fields;
  if (f) {
    const conn = f['bench@32473.conn'] ?? f['conn'];
    const seq = f['bench@32473.seq'] ?? f['seq'];
    if (conn !== undefined && seq !== undefined && /^\d+$/.test(conn) && /^\d+$/.test(seq)) return { conn: Number(conn), seq: Number(seq) };
  }
  return parseSeq(rec.message);
}
