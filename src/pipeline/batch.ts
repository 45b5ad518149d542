/**
 * A batch of frames as it travels from a listener to the outputs: one buffer, a
 * flat array of [start, end) offsets, optional per-frame flags. Frames are views of
 * the bytes the socket delivered (no copy, no string per message); the batch keeps
 * the chunk alive until every output has written it.
 *
 *   buf:      |<134>1 ... msg A\n<134>1 ... msg B\r\n<13>... msg C\n|
 *   offsets:  [ 0, 41,   42, 85,   87, 120 ]        (frame i = buf[offsets[2i], offsets[2i+1]))
 */
import type { FrameSink } from '../protocols/framing/framer.js';
import type { FormatName } from '../protocols/formats/format.js';

export type Transport = 'tcp' | 'tls' | 'udp' | 'unix' | 'unix-dgram' | 'http';

/** Where a batch came from; shared by all its frames unless `peers` is set. */
export interface Source {
  listener: string;
  transport: Transport;
  /** `ip:port`, `[ipv6]:port`, or the socket path for Unix sockets. */
  peer: string;
}

export interface FrameBatch {
  buf: Buffer;
  /** 2 × count entries: start, end of each frame in `buf`. */
  offsets: Uint32Array;
  /** Per-frame flags (FRAME_TRUNCATED…), or null when no frame has any. */
  flags: Uint8Array | null;
  count: number;
  /** Sum of frame lengths (what the metrics count). */
  bytes: number;
  /**
   * Memory the batch keeps alive, which the queue's watermarks count: the whole
   * buffer (delimiters and the bytes of cut frames included) plus the offsets.
   */
  retained: number;
  /** Receive time, ms since the epoch with µs fraction. */
  received: number;
  source: Source;
  /** Per-frame peers for batches that coalesce datagrams from several senders. */
  peers: string[] | null;
  /**
   * The pooled memory `buf` lives in (a read slab), released by the pipeline once
   * every output has written the batch; null when `buf` is ordinary garbage-collected memory.
   */
  hold: Hold | null;
  /**
   * Called once the batch's records reached the ack point: durable in the store (its
   * WAL fsynced), or, when no output is a store, written by every output. For senders
   * that wait for an answer (HTTP ingest). Never called for a batch that was dropped.
   */
  ack?: (() => void) | undefined;
  /** The format its listener parses with (set by the listener; the store logs it with the frames). */
  format?: FormatName;
}

/** A reference-counted owner of pooled memory (src/ingest/read-slabs.ts). */
export interface Hold {
  retain(): void;
  release(): void;
}

/** Wall clock in ms with sub-ms precision, monotonic within the process. */
const ORIGIN = performance.timeOrigin;
export function nowMs(): number {
  return ORIGIN + performance.now();
}

/**
 * Offsets live in a shared pool: a builder writes a batch's offsets straight into
 * the free end of the pool and, on flush, hands on a view of that region (no copy,
 * no ArrayBuffer per batch). A read is framed and flushed synchronously, so only one
 * builder fills the pool at a time, and an idle connection holds no offset memory.
 * `owner` guards the rare interleaving (a frame emitted by another connection's
 * close while a batch is open): the previous owner flushes first.
 * A pool is dropped once full; the batches still holding views keep it alive.
 */
const POOL_ENTRIES = 64 * 1024;
let pool = new Uint32Array(POOL_ENTRIES);
let flagPool = new Uint8Array(POOL_ENTRIES / 2);
let poolUsed = 0; // entries of `pool` already handed out
let owner: BatchBuilder | null = null;

/** Makes room for `entries` more offsets after the open region of `open` entries. */
function growPool(open: number, entries: number): void {
  const size = Math.max(POOL_ENTRIES, (open + entries) * 2);
  const next = new Uint32Array(size);
  next.set(pool.subarray(poolUsed, poolUsed + open));
  const nextFlags = new Uint8Array(size / 2);
  nextFlags.set(flagPool.subarray(poolUsed / 2, (poolUsed + open) / 2));
  pool = next;
  flagPool = nextFlags;
  poolUsed = 0;
}

/**
 * Collects the frames one read produces into batches, starting a new batch whenever
 * the frame's buffer changes (a frame assembled across reads lives in its own buffer).
 * `emit` is a bound FrameSink to hand to a framer; `flush` hands the batches on.
 */
export class BatchBuilder {
  private buf: Buffer | null = null;
  private count = 0;
  private bytes = 0;
  private flagged = false;
  private received = 0;
  /** Pool index of the next offset to write. */
  private at = 0;
  /** The current read's bytes and the pooled memory they live in (see stamp()). */
  private region: Buffer | null = null;
  private hold: Hold | null = null;

  constructor(
    private readonly source: Source,
    private readonly deliver: (batch: FrameBatch) => void,
  ) {
    this.emit.many = this.emitMany;
  }

  /**
   * Marks the receive time for the frames that follow (one clock read per chunk) and,
   * for reads into pooled memory, the region and its owner: a batch of frames in that
   * region retains the owner until the pipeline releases the batch.
   */
  stamp(received: number, region: Buffer | null = null, hold: Hold | null = null): void {
    this.received = received;
    this.region = region;
    this.hold = hold;
  }

  /**
   * The FrameSink handed to a framer: called once per frame, so it is one function
   * (no call through to a method) with a single test on the fast path.
   */
  readonly emit: FrameSink = (buf, start, end, flags) => {
    if (buf !== this.buf || owner !== this) this.switchTo(buf);
    let i = this.at;
    if (i + 2 > pool.length) {
      growPool(this.count * 2, 2);
      i = this.count * 2;
    }
    pool[i] = start;
    pool[i + 1] = end;
    if (flags !== 0) {
      flagPool[i >> 1] = flags;
      this.flagged = true;
    }
    this.at = i + 2;
    this.count++;
    this.bytes += end - start;
  };

  /** emit.many: n unflagged frames at once (their offsets copied into the pool in one go). */
  private readonly emitMany = (buf: Buffer, offsets: Uint32Array, n: number, bytes: number): void => {
    if (buf !== this.buf || owner !== this) this.switchTo(buf);
    let i = this.at;
    if (i + 2 * n > pool.length) {
      growPool(this.count * 2, 2 * n);
      i = this.count * 2;
    }
    pool.set(offsets.subarray(0, 2 * n), i);
    this.at = i + 2 * n;
    this.count += n;
    this.bytes += bytes;
  };

  add(buf: Buffer, start: number, end: number, flags: number): void {
    this.emit(buf, start, end, flags);
  }

  /** Takes the pool (flushing its previous owner) and/or starts a batch on a new buffer. */
  private switchTo(buf: Buffer): void {
    if (owner !== this && owner !== null) owner.flush();
    if (buf !== this.buf && this.count > 0) this.flush();
    owner = this;
    this.buf = buf;
    this.at = poolUsed + this.count * 2;
  }

  flush(): void {
    if (owner === this) owner = null;
    if (this.count === 0) return;
    const n = this.count;
    const buf = this.buf!;
    const hold = buf === this.region ? this.hold : null;
    hold?.retain();
    const batch: FrameBatch = {
      buf,
      offsets: pool.subarray(poolUsed, poolUsed + n * 2),
      flags: this.flagged ? flagPool.slice(poolUsed >> 1, (poolUsed >> 1) + n) : null,
      count: n,
      bytes: this.bytes,
      retained: buf.length + n * 8,
      received: this.received,
      source: this.source,
      peers: null,
      hold,
    };
    poolUsed += n * 2;
    this.buf = null;
    this.count = 0;
    this.bytes = 0;
    this.flagged = false;
    this.deliver(batch);
  }
}
