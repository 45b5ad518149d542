/**
 * GELF over UDP (GELF 1.1): turns datagrams into GELF payloads, undoing the two
 * transport encodings GELF senders apply on top of the JSON document.
 *
 * A datagram is one of:
 *  - a chunk:   1e 0f | message id (8 bytes) | sequence number (1) | sequence count (1) | data
 *               The count is 1..128, the sequence number 0..count-1; every chunk of a
 *               message must arrive within `timeoutMs` (5 s in the spec) of the first.
 *               The reassembled payload may itself be compressed (below).
 *  - zlib:      78 xx, where xx makes a valid zlib header (CMF·256+FLG ≡ 0 mod 31) without
 *               a preset dictionary: xx ∈ {01, 5e, 9c, da}. (78 20, 78 3f, 78 7d… also pass
 *               the checksum but set FDICT, which no GELF sender uses; excluding them keeps
 *               text such as "x = 1" from being taken for zlib.)
 *  - gzip:      1f 8b
 *  - plain:     anything else, normally a JSON object (`{…`). It is handed on untouched
 *               (zero copy): whether it is valid GELF is the parser's business.
 *
 * Decompression is synchronous (inflateSync / gunzipSync: a datagram is at most 64 KiB)
 * and capped with `maxOutputLength = maxMessageBytes`: zlib stops as soon as the output
 * would pass the cap, so a zip bomb costs at most maxMessageBytes of memory.
 *
 * Reassembly is keyed by (peer, message id): two senders using the same id do not mix.
 * Chunk data is copied (the datagram buffer may be recycled by the receiver). Bounds:
 *  - a message whose chunks add up to more than maxMessageBytes is dropped ('too_large');
 *    its entry stays as a silent tombstone until it expires, so its later chunks are
 *    ignored instead of starting a new message that could never complete;
 *  - at most maxPendingMessages incomplete messages and maxPendingBytes of chunk data:
 *    past either, the oldest incomplete message is evicted ('evicted');
 *  - an incomplete message older than timeoutMs is expired ('expired'), either when one of
 *    its chunks arrives late or by a sweep.
 *
 * Sweeping: by default (autoSweep) an unref'd interval runs while anything is pending
 * (every timeoutMs/2, at most 1 s, at least 10 ms), so an incomplete message goes at most
 * ~1.5 × timeoutMs after its first chunk. A listener that prefers its own timer sets
 * `autoSweep: false` and calls `sweep()`; tests call `sweep(now)` with a fake clock.
 * `close()` stops the interval and forgets every pending message.
 *
 * Every drop goes through `onEvent(kind, peer, detail)` so the listener can count
 * `ringlog_gelf_dropped_total{reason=kind}` and log it; `decode*` never throws.
 */
import zlib from 'node:zlib';
import type { FrameSink } from '../framing/framer.js';

export const GELF_CHUNK_MAGIC_0 = 0x1e;
export const GELF_CHUNK_MAGIC_1 = 0x0f;
/** Magic (2) + message id (8) + sequence number (1) + sequence count (1). */
export const GELF_CHUNK_HEADER = 12;
/** Largest sequence count GELF allows. */
export const GELF_MAX_CHUNKS = 128;

export const DEFAULT_GELF_MAX_MESSAGE_BYTES = 1024 * 1024;
export const DEFAULT_GELF_MAX_PENDING_MESSAGES = 1_000;
export const DEFAULT_GELF_MAX_PENDING_BYTES = 32 * 1024 * 1024;
export const DEFAULT_GELF_TIMEOUT_MS = 5_000;

export type GelfDropKind =
  | 'decompress_failed' // not valid zlib/gzip data
  | 'too_large'         // decompressed or reassembled payload larger than maxMessageBytes
  | 'bad_chunk'         // chunk header invalid: short, count 0 or > 128, seq ≥ count, count differs from earlier chunks
  | 'duplicate_chunk'   // a sequence number received twice (the copy is ignored; the message goes on)
  | 'expired'           // incomplete message older than timeoutMs
  | 'evicted';          // incomplete message pushed out by maxPendingMessages / maxPendingBytes

export interface GelfEventDetail {
  /** Message id of the chunked message, 16 hex digits. */
  messageId?: string;
  /** Sequence number / count of the chunk concerned. */
  seq?: number;
  count?: number;
  /** Chunks received so far (expired, evicted). */
  received?: number;
  /** Bytes concerned: compressed input size, or reassembled size so far. */
  bytes?: number;
  /** What was wrong, in words (bad_chunk, decompress_failed). */
  error?: string;
}

export type GelfEvent = (kind: GelfDropKind, peer: string, detail?: GelfEventDetail) => void;

export interface GelfDatagramOptions {
  /** Largest payload after reassembly and after decompression (default 1 MiB). */
  maxMessageBytes?: number;
  /** Incomplete chunked messages held at once (default 1,000). */
  maxPendingMessages?: number;
  /** Chunk data held for incomplete messages (default 32 MiB). */
  maxPendingBytes?: number;
  /** An incomplete message is dropped this long after its first chunk (default 5,000 ms). */
  timeoutMs?: number;
  /** Run the expiry sweep on an internal unref'd interval while anything is pending (default true). */
  autoSweep?: boolean;
  /** Clock in ms (default performance.now); tests pass a fake one. */
  now?: () => number;
  onEvent?: GelfEvent;
}

/** True when `buf[start, end)` starts with zlib's header as GELF senders write it (see top). */
function isZlib(buf: Buffer, start: number, end: number): boolean {
  if (end - start < 2 || buf[start] !== 0x78) return false;
  const flg = buf[start + 1]!;
  return (0x7800 + flg) % 31 === 0 && (flg & 0x20) === 0;
}

function isGzip(buf: Buffer, start: number, end: number): boolean {
  return end - start >= 2 && buf[start] === 0x1f && buf[start + 1] === 0x8b;
}

function isChunk(buf: Buffer, start: number, end: number): boolean {
  return end - start >= 2 && buf[start] === GELF_CHUNK_MAGIC_0 && buf[start + 1] === GELF_CHUNK_MAGIC_1;
}

/**
 * True when `buf[start, end)` is a GELF binary datagram: a chunk, zlib or gzip data.
 * For auto-detection on UDP: none of these can start a syslog, JSON or text line.
 */
export function isGelfBinary(buf: Buffer, start: number, end: number): boolean {
  return isChunk(buf, start, end) || isGzip(buf, start, end) || isZlib(buf, start, end);
}

/** An incomplete chunked message. */
interface Pending {
  readonly key: string;
  readonly peer: string;
  readonly count: number;
  /** Clock time of the first chunk. */
  readonly first: number;
  /** Chunk data by sequence number (copies). */
  readonly chunks: (Buffer | undefined)[];
  received: number;
  bytes: number;
  /** Dropped as too large: kept, empty, until it expires, so its late chunks are ignored. */
  dead: boolean;
}

function positiveInt(name: string, v: number | undefined, def: number): number {
  if (v === undefined) return def;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`gelf: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

function hexId(key: string): string {
  // The key ends with the 8 id bytes as latin1 characters.
  return Buffer.from(key.slice(key.length - 8), 'latin1').toString('hex');
}

/**
 * Decodes GELF datagrams; one instance per listener (its pending messages are keyed by peer).
 *
 * Two ways to get the payload:
 *  - `decodeTo(buf, start, end, peer, emit)`: emits `(buf, start, end, 0)` for a plain
 *    datagram (the very bytes received, no copy and no allocation) or
 *    `(out, 0, out.length, 0)` for a decompressed/reassembled one (`out` is a fresh buffer
 *    the caller may keep). Returns whether a payload was emitted.
 *  - `decode(buf, start, end, peer)`: the same payload as a Buffer (`buf.subarray` for a
 *    plain datagram), or null.
 */
export class GelfDatagramDecoder {
  readonly maxMessageBytes: number;
  readonly maxPendingMessages: number;
  readonly maxPendingBytes: number;
  readonly timeoutMs: number;
  private readonly autoSweep: boolean;
  private readonly now: () => number;
  private readonly onEvent: GelfEvent;
  /** Insertion order = order of first chunk: the first entry is the oldest. */
  private readonly pending = new Map<string, Pending>();
  private bytesHeld = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  // Result of the last decode (see run()).
  private outBuf: Buffer | null = null;
  private outStart = 0;
  private outEnd = 0;

  constructor(opts: GelfDatagramOptions = {}) {
    this.maxMessageBytes = positiveInt('maxMessageBytes', opts.maxMessageBytes, DEFAULT_GELF_MAX_MESSAGE_BYTES);
    this.maxPendingMessages = positiveInt('maxPendingMessages', opts.maxPendingMessages, DEFAULT_GELF_MAX_PENDING_MESSAGES);
    this.maxPendingBytes = positiveInt('maxPendingBytes', opts.maxPendingBytes, DEFAULT_GELF_MAX_PENDING_BYTES);
    this.timeoutMs = positiveInt('timeoutMs', opts.timeoutMs, DEFAULT_GELF_TIMEOUT_MS);
    this.autoSweep = opts.autoSweep ?? true;
    this.now = opts.now ?? (() => performance.now());
    this.onEvent = opts.onEvent ?? (() => {});
  }

  /** Incomplete messages held (tombstones of dropped ones included). */
  get pendingMessages(): number {
    return this.pending.size;
  }

  /** Bytes of chunk data held for incomplete messages. */
  get pendingBytes(): number {
    return this.bytesHeld;
  }

  /** Emits the payload of one datagram, if it completes one. See the class comment. */
  decodeTo(buf: Buffer, start: number, end: number, peer: string, emit: FrameSink): boolean {
    if (!this.run(buf, start, end, peer)) return false;
    const out = this.outBuf!;
    this.outBuf = null;
    emit(out, this.outStart, this.outEnd, 0);
    return true;
  }

  /** The payload of one datagram as a Buffer, or null (nothing complete yet, or dropped). */
  decode(buf: Buffer, start: number, end: number, peer: string): Buffer | null {
    if (!this.run(buf, start, end, peer)) return null;
    const out = this.outBuf!;
    this.outBuf = null;
    return this.outStart === 0 && this.outEnd === out.length ? out : out.subarray(this.outStart, this.outEnd);
  }

  /** Decodes into outBuf/outStart/outEnd; false when there is nothing to hand on. */
  private run(buf: Buffer, start: number, end: number, peer: string): boolean {
    if (isChunk(buf, start, end)) return this.chunk(buf, start, end, peer);
    return this.payload(buf, start, end, peer);
  }

  /** A complete payload (a whole datagram, or a reassembled message): decompressed if it is compressed. */
  private payload(buf: Buffer, start: number, end: number, peer: string): boolean {
    const gzip = isGzip(buf, start, end);
    if (!gzip && !isZlib(buf, start, end)) {
      this.outBuf = buf;
      this.outStart = start;
      this.outEnd = end;
      return true;
    }
    const input = buf.subarray(start, end);
    let out: Buffer;
    try {
      const o = { maxOutputLength: this.maxMessageBytes };
      out = gzip ? zlib.gunzipSync(input, o) : zlib.inflateSync(input, o);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') this.onEvent('too_large', peer, { bytes: end - start });
      else this.onEvent('decompress_failed', peer, { bytes: end - start, error: e.message });
      return false;
    }
    this.outBuf = out;
    this.outStart = 0;
    this.outEnd = out.length;
    return true;
  }

  private chunk(buf: Buffer, start: number, end: number, peer: string): boolean {
    if (end - start < GELF_CHUNK_HEADER) {
      this.onEvent('bad_chunk', peer, { bytes: end - start, error: 'chunk shorter than its 12-byte header' });
      return false;
    }
    const seq = buf[start + 10]!;
    const count = buf[start + 11]!;
    const dataStart = start + GELF_CHUNK_HEADER;
    if (count === 0 || count > GELF_MAX_CHUNKS || seq >= count) {
      this.onEvent('bad_chunk', peer, {
        messageId: buf.toString('hex', start + 2, start + 10), seq, count,
        error: count === 0 || count > GELF_MAX_CHUNKS ? `sequence count ${count} not in 1..${GELF_MAX_CHUNKS}` : `sequence number ${seq} ≥ count ${count}`,
      });
      return false;
    }
    const key = peer + '\u0000' + buf.toString('latin1', start + 2, start + 10);
    const now = this.now();
    let p = this.pending.get(key);
    if (p !== undefined && now - p.first >= this.timeoutMs) {
      // Late chunk of a message past its deadline: that message is gone; this chunk starts anew.
      this.remove(p);
      if (!p.dead) this.onEvent('expired', p.peer, { messageId: hexId(p.key), count: p.count, received: p.received, bytes: p.bytes });
      p = undefined;
    }
    if (p === undefined && count === 1) {
      // A message in one chunk: nothing to hold.
      if (end - dataStart > this.maxMessageBytes) {
        this.onEvent('too_large', peer, { messageId: hexId(key), bytes: end - dataStart });
        return false;
      }
      return this.payload(buf, dataStart, end, peer);
    }
    if (p === undefined) {
      while (this.pending.size >= this.maxPendingMessages) this.evictOldest();
      p = { key, peer, count, first: now, chunks: new Array<Buffer | undefined>(count), received: 0, bytes: 0, dead: false };
      this.pending.set(key, p);
      this.startTimer();
    } else if (p.count !== count) {
      this.onEvent('bad_chunk', peer, { messageId: hexId(key), seq, count, error: `sequence count ${count} differs from ${p.count} of earlier chunks` });
      return false;
    }
    if (p.dead) return false;
    if (p.chunks[seq] !== undefined) {
      this.onEvent('duplicate_chunk', peer, { messageId: hexId(key), seq, count });
      return false;
    }
    const len = end - dataStart;
    if (p.bytes + len > this.maxMessageBytes) {
      this.onEvent('too_large', peer, { messageId: hexId(key), count, received: p.received + 1, bytes: p.bytes + len });
      this.bytesHeld -= p.bytes;
      p.chunks.fill(undefined);
      p.bytes = 0;
      p.dead = true;
      return false;
    }
    // Room for the data: the oldest messages go first (possibly, with odd limits, this one).
    while (this.bytesHeld + len > this.maxPendingBytes && this.pending.size > 0) this.evictOldest();
    if (this.pending.get(key) !== p) return false;
    const copy = Buffer.allocUnsafe(len);
    buf.copy(copy, 0, dataStart, end);
    p.chunks[seq] = copy;
    p.received++;
    p.bytes += len;
    this.bytesHeld += len;
    if (p.received !== p.count) return false;
    this.remove(p);
    const whole = Buffer.allocUnsafe(p.bytes);
    let at = 0;
    for (const c of p.chunks) {
      c!.copy(whole, at);
      at += c!.length;
    }
    return this.payload(whole, 0, whole.length, peer);
  }

  private remove(p: Pending): void {
    this.pending.delete(p.key);
    this.bytesHeld -= p.bytes;
  }

  private evictOldest(): void {
    const p = this.pending.values().next().value as Pending;
    this.remove(p);
    if (!p.dead) this.onEvent('evicted', p.peer, { messageId: hexId(p.key), count: p.count, received: p.received, bytes: p.bytes });
  }

  /**
   * Drops every incomplete message whose first chunk is `timeoutMs` or more older than
   * `now` (the decoder's clock by default), reporting each as 'expired'. Returns how many
   * went (tombstones of too-large messages included, without an event).
   */
  sweep(now: number = this.now()): number {
    let n = 0;
    for (const p of this.pending.values()) {
      // Entries are in order of first chunk: the first one still in time ends the sweep.
      if (now - p.first < this.timeoutMs) break;
      this.remove(p);
      n++;
      if (!p.dead) this.onEvent('expired', p.peer, { messageId: hexId(p.key), count: p.count, received: p.received, bytes: p.bytes });
    }
    if (this.pending.size === 0) this.stopTimer();
    return n;
  }

  private startTimer(): void {
    if (!this.autoSweep || this.timer !== null || this.closed) return;
    const every = Math.min(Math.max(Math.floor(this.timeoutMs / 2), 10), 1_000);
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops the sweep timer and drops every pending message (without events). */
  close(): void {
    this.closed = true;
    this.stopTimer();
    this.pending.clear();
    this.bytesHeld = 0;
  }
}
